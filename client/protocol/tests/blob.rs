//! The blob encoding against c-kzg, the reference EIP-4844 implementation: the blob written for a
//! batch's pubdata, committed and opened at a point by c-kzg, evaluates to what Horner's rule gives
//! over its 31-byte coefficients; so the point-evaluation precompile, which checks c-kzg's openings,
//! checks exactly the polynomial a circuit evaluates.

use c_kzg::{Blob, Bytes32, ethereum_kzg_settings};
use ff::Field;
use rollup_protocol::blob::{
    BlsFr, blob_of_pubdata, bls_from_be, bls_to_be, coefficients, evaluate,
};

#[test]
fn c_kzg_opens_the_blob_at_the_evaluation_of_its_coefficients()
-> Result<(), Box<dyn std::error::Error>> {
    let settings = ethereum_kzg_settings(0);
    for length in [0usize, 1, 31, 32, 5_000, 126_976] {
        let pubdata: Vec<u8> = (0..length).map(|i| (i * 13 + 5) as u8).collect();
        let blob = Blob::from_bytes(&blob_of_pubdata(&pubdata)?)?;
        let commitment = settings.blob_to_kzg_commitment(&blob)?;
        let c = coefficients(&pubdata)?;
        for seed in [1u64, 0xdead_beef, u64::MAX] {
            // A point spread over the field.
            let z = Field::pow_vartime(
                &(BlsFr::from(seed) + BlsFr::from(7u64)),
                [0x1234_5678_9abc_def1u64, 3],
            );
            let (proof, y) = settings.compute_kzg_proof(&blob, &Bytes32::from(bls_to_be(&z)))?;
            let mut y_bytes = [0u8; 32];
            y_bytes.copy_from_slice(y.as_slice());
            assert_eq!(
                bls_from_be(&y_bytes),
                Some(evaluate(&c, &z)),
                "{length} bytes"
            );
            assert!(settings.verify_kzg_proof(
                &commitment.to_bytes(),
                &Bytes32::from(bls_to_be(&z)),
                &y,
                &proof.to_bytes(),
            )?);
        }
    }
    Ok(())
}
