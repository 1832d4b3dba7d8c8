//! The blob polynomial of a batch's records in a BN254 circuit (`rollup_circuits::blob`) under
//! MockProver: the stream of coefficients and its evaluation at `z` equal the core's
//! (`rollup_protocol::blob`), for every record type and every fill of the open word; and each
//! constraint refuses what it is there to refuse: a wrong evaluation, records that differ from the
//! blob, a challenge of 253 bits or more, a byte after a record's length, a type byte that is
//! none of the six, and an element of more than 31 bytes.

use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::gates::{GateInstructions, RangeInstructions};
use halo2_base::halo2_proofs::dev::MockProver;
use halo2_base::halo2_proofs::halo2curves::ff::{Field, PrimeField};
use rollup_circuits::Fr;
use rollup_circuits::blob::{Dense, chip, evaluate, halves, load_integer};
use rollup_circuits::sample;
use rollup_protocol::blob::{coefficients, embed};
use rollup_protocol::codec::Record;
use rollup_protocol::constants::RECORD_FIELDS;

const K: usize = 16;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// A slot as the circuit takes it: the record's three elements and whether it is real.
type Slot = ([Fr; RECORD_FIELDS], bool);

/// One record of each type and the transfers, deposits and padding of a sample history.
fn records() -> Result<Vec<Record>> {
    let mut out: Vec<Record> = sample::history(4, 1)?
        .into_iter()
        .flat_map(|c| c.records)
        .collect();
    let deposit = out[0].encode()?;
    let mut more = vec![
        // Withdraw: account 1, token 0, 1,000 wei, fee 0.
        [&[3u8, 0, 0, 1, 0][..], &1000u128.to_be_bytes(), &[0, 0]].concat(),
        // ForcedExit: account 2, token 0, 7 wei.
        [&[4u8, 0, 0, 2, 0][..], &7u128.to_be_bytes()].concat(),
        // ChangeKey: account 1, the first deposit's key.
        [&[5u8, 0, 0, 1][..], &deposit[41..73]].concat(),
    ];
    for bytes in more.drain(..) {
        out.push(Record::decode(&bytes)?);
    }
    // Transfers after the others, so that words open at many fills.
    let tail: Vec<Record> = out
        .iter()
        .filter(|r| r.encode().map(|e| e.len() == 15).unwrap_or(false))
        .cloned()
        .collect();
    for _ in 0..3 {
        out.extend(tail.iter().copied());
    }
    Ok(out)
}

fn slots(records: &[Record]) -> Result<Vec<Slot>> {
    records.iter().map(|r| Ok((r.fields()?, true))).collect()
}

fn pubdata(records: &[Record]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for r in records {
        out.extend(r.encode()?);
    }
    Ok(out)
}

/// `p(z)` of `pubdata`'s blob, as the circuit's two public values.
fn expected(pubdata: &[u8], z: Fr) -> Result<[Fr; 2]> {
    let y = rollup_protocol::blob::evaluate(&coefficients(pubdata)?, &embed(&z));
    Ok(rollup_protocol::blob::halves(&y))
}

/// Whether MockProver accepts the stream of `slots` evaluated at `z`, constrained equal to
/// `claimed` when given; also returns the circuit's advice and lookup cells.
fn run(slots: &[Slot], z: Fr, claimed: Option<[Fr; 2]>) -> Result<(bool, usize, usize)> {
    let mut builder = BaseCircuitBuilder::<Fr>::new(false)
        .use_k(K)
        .use_lookup_bits(K - 1)
        .use_instance_columns(1);
    let range = builder.range_chip();
    let fp = chip(&range);
    let ctx = builder.main(0);
    let mut dense = Dense::new(ctx);
    for (fields, real) in slots {
        let record = ctx.assign_witnesses(*fields);
        let real = ctx.load_witness(Fr::from(u64::from(*real)));
        range.gate().assert_bit(ctx, real);
        dense.push(ctx, &range, [record[0], record[1], record[2]], real);
    }
    let coefficients = dense.finish(ctx);
    let z = ctx.load_witness(z);
    let z = load_integer(ctx, &fp, z, rollup_circuits::blob::CHALLENGE_BITS);
    let y = evaluate(ctx, &fp, &z, &coefficients);
    let y = halves(ctx, &fp, &y);
    if let Some(claimed) = claimed {
        for (cell, value) in y.iter().zip(claimed) {
            range.gate().assert_is_const(ctx, cell, &value);
        }
    }
    let stats = builder.statistics();
    let advice = stats.gate.total_advice_per_phase.iter().sum();
    let lookup = stats.total_lookup_advice_per_phase.iter().sum();
    builder.calculate_params(Some(9));
    let prover = MockProver::run(K as u32, &builder, vec![vec![]])?;
    Ok((prover.verify().is_ok(), advice, lookup))
}

fn accepts(slots: &[Slot], z: Fr, claimed: Option<[Fr; 2]>) -> Result<bool> {
    Ok(run(slots, z, claimed)?.0)
}

fn challenge() -> Fr {
    // Below 2^253, with every limb busy.
    Fr::from_u128(0x1fed_cba9_8765_4321_0fed_cba9_8765_4321)
        * Fr::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef)
        + Fr::from(12345)
}

#[test]
fn the_stream_of_every_record_type_evaluates_as_the_core_does() -> Result<()> {
    let records = records()?;
    let pubdata = pubdata(&records)?;
    let z = challenge();
    let y = expected(&pubdata, z)?;
    let slots = slots(&records)?;
    let (ok, advice, lookup) = run(&slots, z, Some(y))?;
    assert!(ok, "the core's evaluation");
    eprintln!(
        "{} slots, {} bytes: {advice} advice and {lookup} lookup cells, {} advice per slot",
        slots.len(),
        pubdata.len(),
        advice / slots.len()
    );

    // Padding slots, whatever they hold, change nothing.
    let mut padded = slots.clone();
    padded.insert(5, (records[1].fields()?, false));
    padded.push((records[0].fields()?, false));
    assert!(accepts(&padded, z, Some(y))?, "padding slots add nothing");

    // Records that differ from the blob's: one byte of the pubdata changed.
    let mut other = pubdata.clone();
    other[100] ^= 1;
    assert!(
        !accepts(&slots, z, Some(expected(&other, z)?))?,
        "another blob"
    );
    let mut wrong = y;
    wrong[0] += Fr::from(1);
    assert!(!accepts(&slots, z, Some(wrong))?, "a wrong evaluation");
    Ok(())
}

#[test]
fn a_challenge_of_253_bits_or_more_is_refused() -> Result<()> {
    let records = &records()?[..3];
    let slots = slots(records)?;
    let pubdata = pubdata(records)?;
    let low = Fr::from(2).pow_vartime([253]) - Fr::from(1);
    assert!(
        accepts(&slots, low, Some(expected(&pubdata, low)?))?,
        "2^253 − 1"
    );
    let high = Fr::from(2).pow_vartime([253]) + Fr::from(7);
    assert!(
        !accepts(&slots, high, Some(expected(&pubdata, high)?))?,
        "2^253 + 7"
    );
    Ok(())
}

#[test]
fn records_that_are_not_encodings_are_refused() -> Result<()> {
    let all = records()?;
    let is_transfer = |r: &Record| r.encode().map(|e| e.len() == 15).unwrap_or(false);
    let transfer = all.iter().find(|r| is_transfer(r)).ok_or("a transfer")?;
    let records = [all[0], *transfer, all[1]];
    let transfer = 1;
    let good = slots(&records)?;
    let z = challenge();
    assert!(accepts(&good, z, Some(expected(&pubdata(&records)?, z)?))?);

    // A byte after the record's 15: byte 20 of element 0.
    let mut trailing = good.clone();
    trailing[transfer].0[0] += Fr::from(256).pow_vartime([10]);
    assert!(!accepts(&trailing, z, None)?, "a byte after the length");

    // Type byte 6.
    let mut unknown = good.clone();
    unknown[transfer].0[0] += Fr::from(4) * Fr::from(256).pow_vartime([30]);
    assert!(!accepts(&unknown, z, None)?, "type 6");

    // An element of 32 bytes.
    let mut wide = good;
    wide[transfer].0[2] += Fr::from(2).pow_vartime([248]);
    assert!(!accepts(&wide, z, None)?, "an element above 2^248");
    Ok(())
}
