//! The batch rules ([`rollup_circuits::batch`]) under MockProver, on chunk public inputs placed as
//! free witnesses (in the batch circuit they come out of the verified chunk proofs): an honest
//! batch gives the core's batch binding and roots, and every way of breaking one batch is refused,
//! either by a constraint or because the public inputs differ from what L1 expects.

use halo2_base::gates::RangeInstructions;
use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::halo2_proofs::dev::MockProver;
use halo2_base::halo2_proofs::halo2curves::ff::Field;
use rollup_circuits::Fr;
use rollup_circuits::batch::{BATCH_INPUTS, CHUNK_INPUTS, constrain, constrain_flags, fold};
use rollup_circuits::sample;
use rollup_protocol::Chunk;
use rollup_protocol::codec::BatchBinding;

const K: usize = 12;
const SLOTS: usize = 1;
const CHAIN_ID: u64 = 31337;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Whether MockProver accepts the rules over `inputs` (per chunk) with `flags`, for the public
/// inputs `expected`.
fn accepts(
    inputs: &[[Fr; CHUNK_INPUTS]],
    flags: &[bool],
    expected: [Fr; BATCH_INPUTS],
) -> Result<bool> {
    let mut builder = BaseCircuitBuilder::<Fr>::new(false)
        .use_k(K)
        .use_lookup_bits(K - 1)
        .use_instance_columns(1);
    let range = builder.range_chip();
    let ctx = builder.main(0);
    let chunks: Vec<_> = inputs
        .iter()
        .map(|c| c.map(|v| ctx.load_witness(v)))
        .collect();
    let out = constrain_flags(ctx, range.gate(), &chunks, flags, SLOTS).ok_or("no chunks")?;
    builder.assigned_instances[0].extend(out);
    builder.calculate_params(Some(9));
    let prover = MockProver::run(K as u32, &builder, vec![expected.to_vec()])?;
    Ok(prover.verify().is_ok())
}

/// `chunks` bound as one batch: each chunk's public inputs, and the batch's expected ones.
fn batch(mut chunks: Vec<Chunk>) -> Result<(Vec<[Fr; CHUNK_INPUTS]>, [Fr; BATCH_INPUTS])> {
    let b: BatchBinding = sample::bind_batch(&mut chunks)?;
    let first = chunks.first().ok_or("empty")?;
    let last = chunks.last().ok_or("empty")?;
    let expected = [
        first.old_root,
        last.new_root,
        b.commitment,
        b.challenge,
        b.evaluation,
    ];
    Ok((chunks.iter().map(Chunk::public_inputs).collect(), expected))
}

fn real(n: usize, of: usize) -> Vec<bool> {
    (0..of).map(|i| i < n).collect()
}

#[test]
fn an_honest_batch_gives_the_cores_binding_and_roots() -> Result<()> {
    let history = sample::history(SLOTS, CHAIN_ID)?;
    for n in 1..=history.len() {
        let (inputs, expected) = batch(history[..n].to_vec())?;
        assert!(accepts(&inputs, &real(n, n), expected)?, "{n} chunks");
        // The native fold computes the same.
        assert_eq!(fold(&inputs, SLOTS), Some(expected), "{n} chunks");
    }
    // And refuses what the circuit refuses.
    let (mut inputs, _) = batch(history[..3].to_vec())?;
    inputs.swap(1, 2);
    assert_eq!(fold(&inputs, SLOTS), None, "reordered");
    let (mut inputs, _) = batch(history[..2].to_vec())?;
    inputs[1] = history[1].public_inputs();
    assert_eq!(fold(&inputs, SLOTS), None, "another challenge");
    assert_eq!(fold(&[], SLOTS), None);
    Ok(())
}

#[test]
fn padding_changes_nothing() -> Result<()> {
    let history = sample::history(SLOTS, CHAIN_ID)?;
    let (mut inputs, expected) = batch(history[..2].to_vec())?;
    // Two chunks in a batch circuit of four: the last proof again, twice.
    let last = *inputs.last().ok_or("empty")?;
    inputs.extend([last, last]);
    assert!(accepts(&inputs, &real(2, 4), expected)?);
    // `constrain` sets the same flags from the number of real chunks.
    let mut builder = BaseCircuitBuilder::<Fr>::new(false)
        .use_k(K)
        .use_lookup_bits(K - 1)
        .use_instance_columns(1);
    let range = builder.range_chip();
    let ctx = builder.main(0);
    let chunks: Vec<_> = inputs
        .iter()
        .map(|c| c.map(|v| ctx.load_witness(v)))
        .collect();
    let out = constrain(ctx, range.gate(), &chunks, 2, SLOTS).ok_or("no chunks")?;
    builder.assigned_instances[0].extend(out);
    builder.calculate_params(Some(9));
    MockProver::run(K as u32, &builder, vec![expected.to_vec()])?
        .verify()
        .map_err(|e| format!("{e:?}"))?;
    // Padding whose public inputs are anything at all changes nothing either.
    inputs[3] = [Fr::from(9); CHUNK_INPUTS];
    assert!(accepts(&inputs, &real(2, 4), expected)?);
    Ok(())
}

#[test]
fn a_padding_chunk_counted_as_real_is_refused() -> Result<()> {
    let history = sample::history(SLOTS, CHAIN_ID)?;
    let (mut inputs, expected) = batch(history[1..3].to_vec())?;
    let last = *inputs.last().ok_or("empty")?;
    inputs.push(last);
    // The repeated proof does not start from its own new root.
    assert!(!accepts(&inputs, &real(3, 3), expected)?);
    Ok(())
}

#[test]
fn flags_out_of_order_are_refused() -> Result<()> {
    let history = sample::history(SLOTS, CHAIN_ID)?;
    // A batch of chunks 0 and 1 laid out as [0, padding, 1] with flags [1, 0, 1]: the roots chain
    // over the real chunks and the commitment chain is the batch's, so only the order of the
    // flags is wrong. The public inputs are the ones the circuit computes for these flags (the
    // evaluation stops at the first padding chunk).
    let (inputs, expected) = batch(history[..2].to_vec())?;
    let laid_out = [inputs[0], [Fr::from(7); CHUNK_INPUTS], inputs[1]];
    let mut as_computed = expected;
    as_computed[4] = inputs[0][4];
    assert!(!accepts(&laid_out, &[true, false, true], as_computed)?);
    // The same layout with the padding flagged real breaks the chain instead.
    assert!(!accepts(&laid_out, &[true, true, true], expected)?);
    Ok(())
}

#[test]
fn a_broken_root_chain_is_refused() -> Result<()> {
    let history = sample::history(SLOTS, CHAIN_ID)?;
    let (inputs, expected) = batch(history[..3].to_vec())?;
    for (chunk, field) in [(1, 0), (0, 1)] {
        let mut broken = inputs.clone();
        broken[chunk][field] += Fr::ONE;
        assert!(
            !accepts(&broken, &real(3, 3), expected)?,
            "chunk {chunk} root {field}"
        );
    }
    Ok(())
}

#[test]
fn reordered_chunks_are_refused() -> Result<()> {
    let history = sample::history(SLOTS, CHAIN_ID)?;
    let (mut inputs, expected) = batch(history[..3].to_vec())?;
    inputs.swap(1, 2);
    assert!(!accepts(&inputs, &real(3, 3), expected)?);
    Ok(())
}

#[test]
fn a_chunk_at_another_challenge_is_refused() -> Result<()> {
    let history = sample::history(SLOTS, CHAIN_ID)?;
    let (mut inputs, expected) = batch(history[..2].to_vec())?;
    // Chunk 1 proven for its own challenge (the per-chunk binding), not the batch's.
    inputs[1] = history[1].public_inputs();
    assert_ne!(inputs[1][3], expected[3]);
    assert!(!accepts(&inputs, &real(2, 2), expected)?);
    Ok(())
}

#[test]
fn a_wrong_binding_is_refused() -> Result<()> {
    let history = sample::history(SLOTS, CHAIN_ID)?;
    let (inputs, expected) = batch(history[..2].to_vec())?;
    // Any of the batch's five public inputs off by one.
    for i in 0..BATCH_INPUTS {
        let mut wrong = expected;
        wrong[i] += Fr::ONE;
        assert!(!accepts(&inputs, &real(2, 2), wrong)?, "batch input {i}");
    }
    // A chunk's commitment or evaluation changed: the batch's binding no longer matches.
    for field in [2, 4] {
        let mut changed = inputs.clone();
        changed[1][field] += Fr::ONE;
        assert!(
            !accepts(&changed, &real(2, 2), expected)?,
            "chunk input {field}"
        );
    }
    // A batch that drops its last chunk is another batch.
    let (_, shorter) = batch(history[..1].to_vec())?;
    assert!(!accepts(&inputs, &real(2, 2), shorter)?);
    Ok(())
}
