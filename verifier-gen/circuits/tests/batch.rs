//! The batch rules ([`rollup_circuits::batch`]) under MockProver, on chunk public inputs placed as
//! free witnesses (in the batch circuit they come out of the verified chunk proofs) and the chunks'
//! records: an honest batch gives the core's batch binding and roots, and every way of breaking one
//! batch is refused, either by a constraint or because the public inputs differ from what L1
//! expects.

use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::halo2_proofs::dev::MockProver;
use halo2_base::halo2_proofs::halo2curves::ff::Field;
use rollup_circuits::Fr;
use rollup_circuits::batch::{BATCH_INPUTS, CHUNK_INPUTS, constrain, constrain_flags, fold};
use rollup_circuits::sample;
use rollup_protocol::Chunk;
use rollup_protocol::codec::{BatchBinding, Record, l1_evaluation};
use rollup_protocol::constants::RECORD_FIELDS;

const K: usize = 14;
const SLOTS: usize = 1;
const CHAIN_ID: u64 = 31337;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Each chunk's records as the batch circuit takes them.
type Records = Vec<Vec<[Fr; RECORD_FIELDS]>>;

/// Whether MockProver accepts the rules over `inputs` (per chunk) with `flags`, for the public
/// inputs `expected`.
fn accepts(
    inputs: &[[Fr; CHUNK_INPUTS]],
    records: &Records,
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
    let out = constrain_flags(ctx, &range, &chunks, records, flags, SLOTS).ok_or("no chunks")?;
    builder.assigned_instances[0].extend(out);
    builder.calculate_params(Some(9));
    let prover = MockProver::run(K as u32, &builder, vec![expected.to_vec()])?;
    Ok(prover.verify().is_ok())
}

fn elements(records: &[Record]) -> Result<Vec<[Fr; RECORD_FIELDS]>> {
    Ok(records
        .iter()
        .map(Record::fields)
        .collect::<std::result::Result<_, _>>()?)
}

/// `chunks` bound as one batch: each chunk's public inputs and records, and the batch's expected
/// public inputs.
fn batch(mut chunks: Vec<Chunk>) -> Result<(Vec<[Fr; CHUNK_INPUTS]>, Records, [Fr; BATCH_INPUTS])> {
    let b: BatchBinding = sample::bind_batch(&mut chunks)?;
    let first = chunks.first().ok_or("empty")?;
    let last = chunks.last().ok_or("empty")?;
    let expected = b.public_inputs(first.old_root, last.new_root);
    let records = chunks
        .iter()
        .map(|c| elements(&c.records))
        .collect::<Result<_>>()?;
    Ok((
        chunks.iter().map(Chunk::public_inputs).collect(),
        records,
        expected,
    ))
}

fn real(n: usize, of: usize) -> Vec<bool> {
    (0..of).map(|i| i < n).collect()
}

#[test]
fn an_honest_batch_gives_the_cores_binding_and_roots() -> Result<()> {
    let history = sample::history(SLOTS, CHAIN_ID)?;
    let records = |n: usize| -> Vec<&[Record]> {
        history[..n].iter().map(|c| c.records.as_slice()).collect()
    };
    for n in 1..=history.len() {
        let (inputs, elements, expected) = batch(history[..n].to_vec())?;
        assert!(
            accepts(&inputs, &elements, &real(n, n), expected)?,
            "{n} chunks"
        );
        // The native fold computes the same.
        assert_eq!(
            fold(&inputs, &records(n), SLOTS),
            Some(expected),
            "{n} chunks"
        );
    }
    // And refuses what the circuit refuses.
    let (mut inputs, _, _) = batch(history[..3].to_vec())?;
    inputs.swap(1, 2);
    assert_eq!(fold(&inputs, &records(3), SLOTS), None, "reordered");
    let (mut inputs, _, _) = batch(history[..2].to_vec())?;
    inputs[1] = history[1].public_inputs();
    assert_eq!(fold(&inputs, &records(2), SLOTS), None, "another challenge");
    let (inputs, _, _) = batch(history[..2].to_vec())?;
    let swapped = vec![history[1].records.as_slice(), history[0].records.as_slice()];
    assert_eq!(fold(&inputs, &swapped, SLOTS), None, "other records");
    assert_eq!(
        fold(&inputs, &records(1), SLOTS),
        None,
        "records of one chunk"
    );
    assert_eq!(fold(&[], &[] as &[&[Record]], SLOTS), None);
    Ok(())
}

#[test]
fn padding_changes_nothing() -> Result<()> {
    let history = sample::history(SLOTS, CHAIN_ID)?;
    let (mut inputs, mut records, expected) = batch(history[..2].to_vec())?;
    // Two chunks in a batch circuit of four: the last proof again, twice.
    let last = *inputs.last().ok_or("empty")?;
    inputs.extend([last, last]);
    let last = records.last().ok_or("empty")?.clone();
    records.extend([last.clone(), last]);
    assert!(accepts(&inputs, &records, &real(2, 4), expected)?);
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
    let out = constrain(ctx, &range, &chunks, &records, 2, SLOTS).ok_or("no chunks")?;
    builder.assigned_instances[0].extend(out);
    builder.calculate_params(Some(9));
    MockProver::run(K as u32, &builder, vec![expected.to_vec()])?
        .verify()
        .map_err(|e| format!("{e:?}"))?;
    // Padding whose public inputs and records are anything at all changes nothing either.
    inputs[3] = [Fr::from(9); CHUNK_INPUTS];
    records[3] = vec![[Fr::from(5); RECORD_FIELDS]; SLOTS];
    assert!(accepts(&inputs, &records, &real(2, 4), expected)?);
    Ok(())
}

#[test]
fn a_padding_chunk_counted_as_real_is_refused() -> Result<()> {
    let history = sample::history(SLOTS, CHAIN_ID)?;
    let (mut inputs, mut records, expected) = batch(history[1..3].to_vec())?;
    let last = *inputs.last().ok_or("empty")?;
    inputs.push(last);
    let last = records.last().ok_or("empty")?.clone();
    records.push(last);
    // The repeated proof does not start from its own new root.
    assert!(!accepts(&inputs, &records, &real(3, 3), expected)?);
    Ok(())
}

#[test]
fn flags_out_of_order_are_refused() -> Result<()> {
    let history = sample::history(SLOTS, CHAIN_ID)?;
    // A batch of chunks 0 and 1 laid out as [0, padding, 1] with flags [1, 0, 1]: the roots chain
    // over the real chunks, the commitment chain and the blob are the batch's, so only the order
    // of the flags is wrong. The public inputs are the ones the circuit computes for these flags
    // (the padding chunk's slots move the records after it in `Y_L1`).
    let (inputs, records, expected) = batch(history[..2].to_vec())?;
    let laid_out = [inputs[0], [Fr::from(7); CHUNK_INPUTS], inputs[1]];
    let laid_records = vec![records[0].clone(), records[0].clone(), records[1].clone()];
    let mut as_computed = expected;
    let spaced: Vec<Record> = [
        &history[0].records[..],
        &[Record::Noop],
        &history[1].records[..],
    ]
    .concat();
    as_computed[4] = l1_evaluation(&spaced, &expected[3])?;
    assert!(!accepts(
        &laid_out,
        &laid_records,
        &[true, false, true],
        as_computed
    )?);
    // The same layout with the padding flagged real breaks the chain instead.
    assert!(!accepts(
        &laid_out,
        &laid_records,
        &[true, true, true],
        expected
    )?);
    Ok(())
}

#[test]
fn a_broken_root_chain_is_refused() -> Result<()> {
    let history = sample::history(SLOTS, CHAIN_ID)?;
    let (inputs, records, expected) = batch(history[..3].to_vec())?;
    for (chunk, field) in [(1, 0), (0, 1)] {
        let mut broken = inputs.clone();
        broken[chunk][field] += Fr::ONE;
        assert!(
            !accepts(&broken, &records, &real(3, 3), expected)?,
            "chunk {chunk} root {field}"
        );
    }
    Ok(())
}

#[test]
fn reordered_chunks_are_refused() -> Result<()> {
    let history = sample::history(SLOTS, CHAIN_ID)?;
    let (mut inputs, mut records, expected) = batch(history[..3].to_vec())?;
    inputs.swap(1, 2);
    records.swap(1, 2);
    assert!(!accepts(&inputs, &records, &real(3, 3), expected)?);
    Ok(())
}

#[test]
fn a_chunk_at_another_challenge_is_refused() -> Result<()> {
    let history = sample::history(SLOTS, CHAIN_ID)?;
    let (mut inputs, records, expected) = batch(history[..2].to_vec())?;
    // Chunk 1 proven for its own challenge (the per-chunk binding), not the batch's.
    inputs[1] = history[1].public_inputs();
    assert_ne!(inputs[1][3], expected[3]);
    assert!(!accepts(&inputs, &records, &real(2, 2), expected)?);
    Ok(())
}

#[test]
fn records_other_than_the_chunks_are_refused() -> Result<()> {
    let history = sample::history(SLOTS, CHAIN_ID)?;
    let (inputs, records, expected) = batch(history[..2].to_vec())?;
    // One element of a real chunk's record changed: it no longer hashes to the chunk's
    // commitment, whatever the public inputs say.
    let mut changed = records.clone();
    changed[1][0][1] += Fr::ONE;
    assert!(!accepts(&inputs, &changed, &real(2, 2), expected)?);
    // The chunks' records swapped.
    let mut swapped = records;
    swapped.swap(0, 1);
    assert!(!accepts(&inputs, &swapped, &real(2, 2), expected)?);
    Ok(())
}

#[test]
fn a_wrong_binding_is_refused() -> Result<()> {
    let history = sample::history(SLOTS, CHAIN_ID)?;
    let (inputs, records, expected) = batch(history[..2].to_vec())?;
    // Any of the batch's public inputs off by one.
    for i in 0..BATCH_INPUTS {
        let mut wrong = expected;
        wrong[i] += Fr::ONE;
        assert!(
            !accepts(&inputs, &records, &real(2, 2), wrong)?,
            "batch input {i}"
        );
    }
    // A chunk's commitment changed: the batch's binding no longer matches. (A chunk's own
    // evaluation, input 4, is the chunk proof's; the batch recomputes what it binds from the
    // records.)
    let mut changed = inputs.clone();
    changed[1][2] += Fr::ONE;
    assert!(
        !accepts(&changed, &records, &real(2, 2), expected)?,
        "chunk commitment"
    );
    // A batch that drops its last chunk is another batch.
    let (_, _, shorter) = batch(history[..1].to_vec())?;
    assert!(!accepts(&inputs, &records, &real(2, 2), shorter)?);
    Ok(())
}
