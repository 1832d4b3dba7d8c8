//! Arithmetic modulo BLS12-381's scalar field in a BN254 circuit (halo2-ecc's `FpChip` over
//! [`BlsScalar`]) under MockProver: Horner's rule over blob coefficients gives the core's
//! evaluation, and a wrong result, or a coefficient loaded as another value, is refused.

use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::halo2_proofs::dev::MockProver;
use halo2_ecc::fields::FieldChip;
use halo2_ecc::fields::fp::FpChip;
use rollup_circuits::Fr;
use rollup_circuits::bls::BlsScalar;
use rollup_protocol::blob::{BlsFr, coefficients, evaluate};

const K: usize = 15;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Whether MockProver accepts `y = Σ cᵢ zⁱ` computed in the circuit (Horner, highest first) and
/// constrained equal to `claimed`, with `tamper` applied to the loaded coefficients' values.
fn accepts(c: &[BlsFr], z: BlsFr, claimed: BlsFr) -> Result<bool> {
    let mut builder = BaseCircuitBuilder::<Fr>::new(false)
        .use_k(K)
        .use_lookup_bits(K - 1)
        .use_instance_columns(1);
    let range = builder.range_chip();
    let fp = FpChip::<Fr, BlsScalar>::new(&range, 88, 3);
    let ctx = builder.main(0);
    let z = fp.load_private(ctx, BlsScalar(z));
    let mut acc = fp.load_constant(ctx, BlsScalar(BlsFr::from(0u64)));
    for ci in c.iter().rev() {
        let ci = fp.load_private(ctx, BlsScalar(*ci));
        let product = fp.mul_no_carry(ctx, acc, z.clone());
        let sum = fp.add_no_carry(ctx, product, ci);
        acc = fp.carry_mod(ctx, sum);
    }
    let expected = fp.load_private(ctx, BlsScalar(claimed));
    fp.assert_equal(ctx, acc, expected);
    builder.calculate_params(Some(9));
    let prover = MockProver::run(K as u32, &builder, vec![vec![]])?;
    Ok(prover.verify().is_ok())
}

#[test]
fn horner_modulo_the_blob_field_matches_the_core_and_refuses_a_wrong_value() -> Result<()> {
    let pubdata: Vec<u8> = (0..100u32).map(|i| (i * 31 + 7) as u8).collect();
    let c = coefficients(&pubdata)?;
    let used = &c[..pubdata.len().div_ceil(31)];
    let z = BlsFr::from(0x1234_5678_9abc_def0u64)
        .square()
        .square()
        .square();
    let y = evaluate(&c, &z);
    assert_eq!(evaluate(used, &z), y, "zero coefficients add nothing");
    assert!(accepts(used, z, y)?);
    assert!(
        !accepts(used, z, y + BlsFr::from(1u64))?,
        "a wrong evaluation"
    );
    let mut other = used.to_vec();
    other[1] += BlsFr::from(1u64);
    assert!(!accepts(&other, z, y)?, "another coefficient");
    Ok(())
}
