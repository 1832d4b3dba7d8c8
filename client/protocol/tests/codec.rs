//! Encoding round trips (property tests) and rejection of malformed input.

use alloy_primitives::Address;
use alloy_primitives::U256;
use ff::Field;
use proptest::prelude::*;
use rollup_protocol::Tx;
use rollup_protocol::blob;
use rollup_protocol::codec::{
    BatchBinding, CHALLENGE_BITS, DataBinding, Record, TYPE_SHIFT, batch_commitment,
    blob_challenge, chunk_elements, data_challenge, data_elements, decode_chunk, encode_chunk,
    evaluate, field_offset, field_placement, l1_binding, l1_blob_binding, l1_list, read_l1_list,
    record_layout, split_blob_chunks, split_chunks,
};
use rollup_protocol::constants::MAX_ACCOUNTS;
use rollup_protocol::eddsa::{Point, SecretKey};
use rollup_protocol::field::to_u256;
use rollup_protocol::float::{self, FloatFormat};
use rollup_protocol::tx::{ChangeKey, Deposit, ForcedExit, Transfer, TxType, Withdraw};

fn pubkey() -> impl Strategy<Value = Point> {
    prop_oneof![
        Just(Point::NONE),
        any::<u64>().prop_map(|s| SecretKey::from_seed(&s.to_be_bytes()).public())
    ]
}

/// An account id in the tree.
fn account() -> impl Strategy<Value = u32> {
    0..MAX_ACCOUNTS as u32
}

/// A value `format` holds: rounded from any `u128`, or from a small one (mantissas of every size).
fn packable(format: FloatFormat) -> impl Strategy<Value = u128> {
    prop_oneof![
        any::<u128>().prop_map(move |v| format.round_down(v)),
        (0u128..1 << 48).prop_map(move |v| format.round_down(v)),
    ]
}

fn tx() -> impl Strategy<Value = Tx> {
    let key = SecretKey::from_seed(b"codec");
    prop_oneof![
        Just(Tx::Noop),
        (
            account(),
            any::<[u8; 20]>(),
            any::<u8>(),
            any::<u128>(),
            pubkey()
        )
            .prop_map(|(a, o, t, m, k)| {
                Tx::Deposit(Deposit {
                    account_id: a,
                    owner: Address::from(o),
                    token: t,
                    amount: m,
                    pubkey: k,
                })
            }),
        (
            account(),
            account(),
            any::<u8>(),
            packable(float::AMOUNT),
            packable(float::FEE),
            any::<u32>()
        )
            .prop_map(move |(from, to, token, amount, fee, nonce)| {
                Transfer {
                    from,
                    to,
                    token,
                    amount,
                    fee,
                    nonce,
                }
                .sign(&SecretKey::from_seed(b"codec"), 9)
            }),
        (
            account(),
            any::<u8>(),
            any::<u128>(),
            packable(float::FEE),
            any::<u32>()
        )
            .prop_map(move |(from, token, amount, fee, nonce)| Withdraw {
                from,
                token,
                amount,
                fee,
                nonce
            }
            .sign(&key, 9)),
        (account(), any::<u8>()).prop_map(|(a, t)| Tx::ForcedExit(ForcedExit {
            account_id: a,
            token: t
        })),
        (account(), pubkey()).prop_map(|(a, k)| Tx::ChangeKey(ChangeKey {
            account_id: a,
            pubkey: k
        })),
    ]
}

fn record() -> impl Strategy<Value = Record> {
    prop_oneof![
        tx().prop_filter_map("forced exits carry an amount in records", |t| match t {
            Tx::Noop => Some(Record::Noop),
            Tx::Deposit(d) => Some(Record::Deposit(d)),
            Tx::Transfer { tx, .. } => Some(Record::Transfer {
                from: tx.from,
                to: tx.to,
                token: tx.token,
                amount: tx.amount,
                fee: tx.fee
            }),
            Tx::Withdraw { tx, .. } => {
                Some(Record::Withdraw {
                    from: tx.from,
                    token: tx.token,
                    amount: tx.amount,
                    fee: tx.fee,
                })
            }
            Tx::ChangeKey(c) => Some(Record::ChangeKey(c)),
            Tx::ForcedExit(_) => None,
        }),
        (account(), any::<u8>(), any::<u128>()).prop_map(|(a, t, m)| Record::ForcedExit {
            account_id: a,
            token: t,
            amount: m
        }),
    ]
}

/// The bytes field `name` of `r` must hold, from the record's own values.
fn expected(r: &Record, name: &str) -> Option<Vec<u8>> {
    let b4 = |x: u32| x.to_be_bytes()[1..].to_vec();
    let b16 = |x: u128| x.to_be_bytes().to_vec();
    let packed =
        |f: FloatFormat, x: u128| f.pack(x).map(|p| p.to_be_bytes()[8 - f.bytes()..].to_vec());
    Some(match (r, name) {
        (Record::Deposit(d), "account") => b4(d.account_id),
        (Record::Deposit(d), "owner") => d.owner.to_vec(),
        (Record::Deposit(d), "token") => vec![d.token],
        (Record::Deposit(d), "amount") => b16(d.amount),
        (Record::Deposit(d), "pubkey") => d.pubkey.compress().to_vec(),
        (Record::Transfer { from, .. }, "from") => b4(*from),
        (Record::Transfer { to, .. }, "to") => b4(*to),
        (Record::Transfer { token, .. }, "token") => vec![*token],
        (Record::Transfer { amount, .. }, "amount") => packed(float::AMOUNT, *amount)?,
        (Record::Transfer { fee, .. }, "fee") => packed(float::FEE, *fee)?,
        (Record::Withdraw { from, .. }, "account") => b4(*from),
        (Record::Withdraw { token, .. }, "token") => vec![*token],
        (Record::Withdraw { amount, .. }, "amount") => b16(*amount),
        (Record::Withdraw { fee, .. }, "fee") => packed(float::FEE, *fee)?,
        (Record::ForcedExit { account_id, .. }, "account") => b4(*account_id),
        (Record::ForcedExit { token, .. }, "token") => vec![*token],
        (Record::ForcedExit { amount, .. }, "amount") => b16(*amount),
        (Record::ChangeKey(c), "account") => b4(c.account_id),
        (Record::ChangeKey(c), "pubkey") => c.pubkey.compress().to_vec(),
        _ => return None,
    })
}

fn mask(bits: u32) -> U256 {
    (U256::from(1u8) << bits as usize) - U256::from(1u8)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, rng_seed: proptest::test_runner::RngSeed::Fixed(7), ..ProptestConfig::default() })]

    /// The encoder writes every field where the layout (the one definition, which the Solidity
    /// `Records` library and the circuit follow) says, and `Record::fields` packs it at the
    /// placement the circuit uses.
    #[test]
    fn every_field_is_where_the_layout_says(r in record()) {
        let ty = r.tx_type();
        let bytes = r.encode()?;
        let words: Vec<U256> = r.fields()?.iter().map(to_u256).collect();
        prop_assert_eq!(words[0] >> TYPE_SHIFT as usize, U256::from(ty as u8));
        for f in record_layout(ty) {
            let (offset, _) = field_offset(ty, f.name).ok_or_else(|| TestCaseError::fail("no offset"))?;
            let want = expected(&r, f.name).ok_or_else(|| TestCaseError::fail("a field the test does not know"))?;
            prop_assert_eq!(&bytes[offset..offset + f.bytes], want.as_slice(), "{:?}.{}", ty, f.name);
            let p = field_placement(ty, f.name).ok_or_else(|| TestCaseError::fail("no placement"))?;
            let hi = (words[p.word] >> p.shift as usize) & mask(p.hi_bits);
            let packed = if p.lo_bits == 0 {
                hi
            } else {
                (hi << p.lo_bits as usize) | ((words[p.word + 1] >> p.lo_shift as usize) & mask(p.lo_bits))
            };
            prop_assert_eq!(packed, U256::from_be_slice(&want), "{:?}.{} packed", ty, f.name);
        }
    }

    /// L1 skips exactly the records that have nothing for it to do.
    #[test]
    fn l1_acts_on_exactly_the_records_with_onchain_ops(r in record()) {
        prop_assert_eq!(r.tx_type().acts_on_l1(), !r.onchain_ops().is_empty());
    }

    #[test]
    fn tx_round_trips(t in tx()) {
        let bytes = t.encode()?;
        prop_assert_eq!(Tx::decode(&bytes)?, t);
        // Every strict prefix and every extension is rejected, never misread.
        for cut in 0..bytes.len() {
            prop_assert!(Tx::decode(&bytes[..cut]).is_err());
        }
        let mut longer = bytes.clone();
        longer.push(0);
        prop_assert!(Tx::decode(&longer).is_err());
    }

    #[test]
    fn record_round_trips(r in record()) {
        let bytes = r.encode()?;
        prop_assert_eq!(bytes.len(), Record::encoded_len(r.tx_type()));
        prop_assert_eq!(Record::decode(&bytes)?, r);
    }

    #[test]
    fn chunk_round_trips(rs in proptest::collection::vec(record(), 1..8)) {
        let bytes = encode_chunk(&rs)?;
        prop_assert_eq!(decode_chunk(&bytes, rs.len())?, rs.clone());
        prop_assert!(decode_chunk(&bytes, rs.len() + 1).is_err());
        // Read as L1 reads it, by type bytes and lengths only, the chunk has the records' elements.
        prop_assert_eq!(chunk_elements(&bytes, rs.len())?, data_elements(&rs)?);
        prop_assert!(chunk_elements(&bytes, rs.len() + 1).is_err());
    }

    /// Two chunks whose records differ anywhere (a byte of a field, a type) have different data
    /// elements, so their bindings differ; and the challenge moves with every byte of the pubdata
    /// and with the commitment.
    #[test]
    fn a_binding_changes_with_any_record_byte(
        rs in proptest::collection::vec(record(), 1..5),
        which in any::<prop::sample::Index>(),
        other in record(),
    ) {
        let i = which.index(rs.len());
        prop_assume!(other != rs[i]);
        let mut changed = rs.clone();
        changed[i] = other;
        prop_assert_ne!(data_elements(&rs)?, data_elements(&changed)?);
        let (a, b) = (DataBinding::of(&rs)?, DataBinding::of(&changed)?);
        prop_assert_ne!(a.commitment, b.commitment);
        prop_assert_ne!(a.challenge, b.challenge);
        // The records the proof covers evaluated at the challenge L1 drew for other bytes.
        prop_assert_ne!(evaluate(&data_elements(&rs)?, &b.challenge), b.evaluation);
        let mut bytes = encode_chunk(&rs)?;
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        prop_assert_ne!(data_challenge(&bytes, &a.commitment), a.challenge);
        prop_assert_ne!(
            data_challenge(&encode_chunk(&rs)?, &(a.commitment + rollup_protocol::Fr::from(1u64))),
            a.challenge
        );
    }

    /// A batch's binding: the chain of its chunks' commitments, one challenge below 2²⁵³ drawn
    /// from the batch's pubdata (its chunks back to back) and the chain, the evaluation of the
    /// records L1 acts on (`Y_L1`, the others counted as zeros) and the blob polynomial of the
    /// pubdata at that challenge. The challenge moves with any byte and with the chain; reordered
    /// chunks are another batch; a chunk's binding shares the batch's challenge.
    #[test]
    fn a_batch_binding_is_its_chunks_pubdata_and_chain(
        chunks in proptest::collection::vec(proptest::collection::vec(record(), 3..=3), 1..4),
    ) {
        let refs: Vec<&[Record]> = chunks.iter().map(Vec::as_slice).collect();
        let b = BatchBinding::of(&refs)?;
        let commitments: Vec<_> = chunks.iter().map(|c| DataBinding::of(c).map(|d| d.commitment)).collect::<Result<_, _>>()?;
        prop_assert_eq!(b.commitment, batch_commitment(&commitments));
        for c in &chunks {
            prop_assert_eq!(b.chunk(c)?.challenge, b.challenge);
        }
        let records: Vec<Record> = chunks.concat();
        let pubdata = encode_chunk(&records)?;
        prop_assert_eq!(b.challenge, data_challenge(&pubdata, &b.commitment));
        prop_assert!(to_u256(&b.challenge) < U256::from(1) << CHALLENGE_BITS);
        // Y_L1: slot t's elements at z^(3t), if L1 acts on the record.
        let mut y = rollup_protocol::Fr::ZERO;
        for (t, r) in records.iter().enumerate() {
            if r.tx_type().acts_on_l1() {
                let [f0, f1, f2] = r.fields()?;
                let z = b.challenge;
                y += (f0 + f1 * z + f2 * z * z) * z.pow_vartime([3 * t as u64]);
            }
        }
        prop_assert_eq!(y, b.l1_evaluation);
        prop_assert_eq!(b.blob_evaluation, blob::evaluate(&blob::coefficients(&pubdata)?, &blob::embed(&b.challenge)));
        // Posted in a blob: the challenge is drawn from the versioned hash and the list of the records
        // L1 acts on, which is what L1 reads of them.
        let vh = [7u8; 32];
        let blob = BatchBinding::of_blob(&refs, &vh)?;
        let list = l1_list(&pubdata)?;
        prop_assert_eq!(blob.challenge, blob_challenge(&vh, &list, &b.commitment));
        prop_assert_eq!(l1_blob_binding(&vh, &list, b.commitment, blob.blob_evaluation)?, blob);
        prop_assert_eq!(blob, BatchBinding::at(&refs, b.commitment, blob.challenge)?);
        let listed = read_l1_list(&list)?;
        prop_assert_eq!(listed.len(), records.iter().filter(|r| r.tx_type().acts_on_l1()).count());
        // L1's reading of the bytes alone gives the same binding, and the same chunks.
        prop_assert_eq!(l1_binding(&pubdata, b.commitment)?, b);
        let split = split_chunks(&pubdata, 3)?;
        prop_assert_eq!(split.len(), chunks.len());
        for (bytes, c) in split.iter().zip(&chunks) {
            prop_assert_eq!(bytes.to_vec(), encode_chunk(c)?);
        }
        // From a blob: the same records but Noops, and the same chunks up to the last that holds
        // a record other than a Noop.
        let from_blob = split_blob_chunks(&blob::pubdata_of_blob(&blob::blob_of_pubdata(&pubdata)?)?, 3)?;
        let real = |rs: Vec<Record>| rs.into_iter().filter(|r| *r != Record::Noop).collect::<Vec<_>>();
        let read: Vec<Record> = from_blob.iter().map(|c| decode_chunk(c, 3)).collect::<Result<Vec<_>, _>>()?.concat();
        prop_assert_eq!(real(read), real(records.clone()));
        let kept = chunks.iter().rposition(|c| c.iter().any(|r| *r != Record::Noop)).map_or(1, |l| l + 1);
        prop_assert_eq!(from_blob.len(), kept);
        for (bytes, c) in from_blob.iter().zip(&chunks) {
            prop_assert_eq!(bytes.clone(), encode_chunk(c)?);
        }
        let [lo, hi] = blob::halves(&b.blob_evaluation);
        prop_assert_eq!(to_u256(&lo) + (to_u256(&hi) << 176), U256::from_be_bytes(blob::bls_to_be(&b.blob_evaluation)));
        if chunks.len() > 1 && chunks[0] != chunks[chunks.len() - 1] {
            let mut swapped = chunks.clone();
            let n = swapped.len();
            swapped.swap(0, n - 1);
            prop_assert_ne!(data_challenge(&encode_chunk(&swapped.concat())?, &b.commitment), b.challenge);
        }
        prop_assert_ne!(
            data_challenge(&pubdata, &(b.commitment + rollup_protocol::Fr::from(1u64))),
            b.challenge
        );
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = Tx::decode(&bytes);
        let _ = Record::decode(&bytes);
        let _ = decode_chunk(&bytes, 3);
        let _ = chunk_elements(&bytes, 3);
    }

    /// A value packs if and only if it is its own rounding; a packing unpacks to the value, is the
    /// only valid one for it, and the rounding is the largest value below that packs.
    #[test]
    fn packing_round_trips_and_is_canonical(v in any::<u128>(), small in 0u128..1 << 50, p in any::<u64>()) {
        for format in [float::AMOUNT, float::FEE] {
            for v in [v, small] {
                let r = format.round_down(v);
                prop_assert!(r <= v);
                prop_assert_eq!(format.pack(v).is_some(), r == v);
                let packed = format.pack(r).ok_or_else(|| TestCaseError::fail("a rounding does not pack"))?;
                prop_assert_eq!(format.unpack(packed)?, r);
            }
            // Any bit pattern that unpacks is the canonical packing of its value.
            let p = p & ((1 << (8 * format.bytes())) - 1);
            if let Ok(value) = format.unpack(p) {
                prop_assert_eq!(format.pack(value), Some(p));
            }
        }
    }
}

/// The rounding is the largest representable value at most the value: checked against every value
/// below 60,000 in the fee format (3 significant digits, so gaps of up to 100 there).
#[test]
fn rounding_down_finds_the_nearest_representable_value_below() {
    let f = float::FEE;
    let mut last = 0;
    for v in 0u128..60_000 {
        if f.holds(v) {
            last = v;
        }
        assert_eq!(f.round_down(v), last, "{v}");
    }
    assert_eq!(f.round_down(2_049), 2_047);
    assert!(f.holds(2_050) && !f.holds(2_051));
}

#[test]
fn non_canonical_packings_and_accounts_outside_the_tree_are_rejected() -> rollup_protocol::Result<()>
{
    let record = Record::Transfer {
        from: 1,
        to: 2,
        token: 0,
        amount: 10,
        fee: 0,
    };
    let bytes = record.encode()?;
    assert_eq!(Record::decode(&bytes)?, record);
    // 10 as mantissa 1, exponent 1: a second packing of the same value.
    let mut other = bytes.clone();
    let (at, _) = field_offset(TxType::Transfer, "amount")
        .ok_or(rollup_protocol::Error::Decode("no amount".into()))?;
    other[at..at + 5].copy_from_slice(&((1u64 << 5) | 1).to_be_bytes()[3..]);
    assert!(Record::decode(&other).is_err());
    // An account id at the tree's size.
    let mut outside = bytes.clone();
    outside[1..4].copy_from_slice(&(MAX_ACCOUNTS as u32).to_be_bytes()[1..]);
    assert!(Record::decode(&outside).is_err());
    // L1 reads both by length alone.
    assert!(chunk_elements(&other, 1).is_ok());
    assert!(chunk_elements(&outside, 1).is_ok());
    // Encoding refuses what no record can hold, and names the nearest value.
    let over = Record::Transfer {
        from: 1,
        to: 2,
        token: 0,
        amount: (1 << 35) + 1,
        fee: 0,
    };
    assert!(matches!(
        over.encode(),
        Err(rollup_protocol::Error::Unrepresentable { what: "amount", nearest, .. }) if nearest == (1 << 35) - 1
    ));
    Ok(())
}

#[test]
fn unknown_type_and_bad_key_are_rejected() {
    assert!(Tx::decode(&[9]).is_err());
    assert!(Tx::decode(&[]).is_err());
    // A change-key record whose key bytes are not a curve point.
    let mut bytes = vec![5, 0, 0, 1];
    let mut k = [0u8; 32];
    k[31] = 2;
    bytes.extend_from_slice(&k);
    let point_ok = Point::decompress(&k).is_ok();
    assert_eq!(Tx::decode(&bytes).is_ok(), point_ok);
    // y ≥ modulus is never a key.
    bytes[4..].copy_from_slice(&[0x7f; 32]);
    assert!(Tx::decode(&bytes).is_err());
}

#[test]
fn transactions_round_trip_through_json_with_amounts_as_numbers_or_strings()
-> Result<(), serde_json::Error> {
    let key = SecretKey::from_seed(b"json");
    let big = u128::MAX - 7;
    let txs = [
        Transfer {
            from: 1,
            to: 2,
            token: 3,
            amount: big,
            fee: 5,
            nonce: 6,
        }
        .sign(&key, 9),
        Withdraw {
            from: 1,
            token: 0,
            amount: 10,
            fee: big,
            nonce: 2,
        }
        .sign(&key, 9),
        Tx::Deposit(Deposit {
            account_id: 4,
            owner: Address::repeat_byte(4),
            token: 1,
            amount: big,
            pubkey: key.public(),
        }),
    ];
    for tx in txs {
        let text = serde_json::to_string(&tx)?;
        let back: Tx = serde_json::from_str(&text)?;
        assert_eq!(back, tx, "{text}");
    }
    let record = Record::Withdraw {
        from: 1,
        token: 0,
        amount: big,
        fee: 1,
    };
    assert_eq!(
        serde_json::from_str::<Record>(&serde_json::to_string(&record)?)?,
        record
    );
    let as_string = r#"{"from":1,"to":2,"token":0,"amount":"340282366920938463463374607431768211455","fee":"1","nonce":0}"#;
    assert_eq!(
        serde_json::from_str::<Transfer>(as_string)?.amount,
        u128::MAX
    );
    let negative = r#"{"from":1,"to":2,"token":0,"amount":-1,"fee":0,"nonce":0}"#;
    assert!(serde_json::from_str::<Transfer>(negative).is_err());
    Ok(())
}

/// The evaluation is the polynomial with the data elements as coefficients, lowest degree first.
#[test]
fn the_evaluation_is_horner_over_the_elements_lowest_degree_first() {
    use rollup_protocol::Fr;
    let e = [Fr::from(1u64), Fr::from(2u64), Fr::from(3u64)];
    // 1 + 2·5 + 3·25
    assert_eq!(evaluate(&e, &Fr::from(5u64)), Fr::from(86u64));
    assert_eq!(evaluate(&[], &Fr::from(5u64)), Fr::from(0u64));
}

/// A blob commit's list of the records L1 acts on is refused unless every entry is a slot and a whole
/// record of a type L1 acts on, the slots strictly increasing.
#[test]
fn a_malformed_list_of_l1_records_is_refused() -> Result<(), rollup_protocol::Error> {
    let withdraw = Record::Withdraw {
        from: 1,
        token: 0,
        amount: 5,
        fee: 0,
    }
    .encode()?;
    let entry = |slot: u8, record: &[u8]| [&[0, 0, slot][..], record].concat();
    let good = [entry(1, &withdraw), entry(4, &withdraw)].concat();
    assert_eq!(read_l1_list(&good)?.len(), 2);
    assert!(read_l1_list(&[]).is_ok_and(|l| l.is_empty()));
    for (bad, what) in [
        (
            [entry(4, &withdraw), entry(1, &withdraw)].concat(),
            "decreasing slots",
        ),
        (
            [entry(4, &withdraw), entry(4, &withdraw)].concat(),
            "a slot twice",
        ),
        (entry(1, &Record::Noop.encode()?), "a noop"),
        (good[..good.len() - 1].to_vec(), "a truncated record"),
        (vec![0, 0], "a truncated slot"),
    ] {
        assert!(read_l1_list(&bad).is_err(), "{what}");
    }
    Ok(())
}

#[test]
fn a_record_the_blob_end_cuts_off_is_completed_with_zero_bytes()
-> Result<(), rollup_protocol::Error> {
    // A transfer of fee 0 ends in zero bytes; a batch that fills its blob may lose them past the
    // blob's end, where the proof's stream holds nothing but zeros.
    let transfer = |fee| Record::Transfer {
        from: 1,
        to: 2,
        token: 0,
        amount: 1_000,
        fee,
    };
    let records = vec![transfer(5), transfer(0)];
    let pubdata = encode_chunk(&records)?;
    assert_eq!(pubdata.last(), Some(&0));
    let cut = &pubdata[..pubdata.len() - 1];
    let chunks = split_blob_chunks(cut, 2)?;
    assert_eq!(chunks, vec![pubdata.clone()]);
    assert_eq!(decode_chunk(&chunks[0], 2)?, records);
    // Cut at its type byte, the same; a record of another shape still reads as what its bytes say.
    let first = encode_chunk(&records[..1])?;
    let cut = &pubdata[..first.len() + 1];
    assert_eq!(
        split_blob_chunks(cut, 2)?[0][first.len()],
        TxType::Transfer as u8
    );
    Ok(())
}
