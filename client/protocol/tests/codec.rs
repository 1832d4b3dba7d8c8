//! Encoding round trips (property tests) and rejection of malformed input.

use alloy_primitives::Address;
use alloy_primitives::U256;
use ff::Field;
use proptest::prelude::*;
use rollup_protocol::Tx;
use rollup_protocol::codec::{
    BatchBinding, DataBinding, Record, TYPE_SHIFT, batch_challenge, batch_commitment,
    chunk_elements, data_challenge, data_elements, decode_chunk, encode_chunk, evaluate,
    field_offset, field_placement, record_layout,
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

    /// A batch's binding is what the batch circuit folds from its chunks' bindings: the chain of
    /// their commitments, one challenge drawn from every chunk's bytes and the chain, and
    /// `Y = Σ yᵢ · z^(n·i)`, the evaluation of all the batch's elements as one polynomial. The
    /// challenge moves with any chunk's bytes and with the chain; reordered chunks are another
    /// batch.
    #[test]
    fn a_batch_binding_folds_its_chunks(
        chunks in proptest::collection::vec(proptest::collection::vec(record(), 3..=3), 1..4),
    ) {
        let refs: Vec<&[Record]> = chunks.iter().map(Vec::as_slice).collect();
        let b = BatchBinding::of(&refs)?;
        let bindings = chunks.iter().map(|c| b.chunk(c)).collect::<Result<Vec<_>, _>>()?;
        let commitments: Vec<_> = chunks.iter().map(|c| DataBinding::of(c).map(|d| d.commitment)).collect::<Result<_, _>>()?;
        prop_assert_eq!(b.commitment, batch_commitment(&commitments));
        let pubdata = chunks.iter().map(|c| encode_chunk(c)).collect::<Result<Vec<_>, _>>()?;
        let slices: Vec<&[u8]> = pubdata.iter().map(Vec::as_slice).collect();
        prop_assert_eq!(b.challenge, batch_challenge(&slices, &b.commitment));
        // Three records per chunk, three elements per record.
        let z_n = b.challenge.pow_vartime([9u64]);
        let folded = bindings.iter().rev().try_fold(rollup_protocol::Fr::ZERO, |acc, d| {
            prop_assert_eq!(d.challenge, b.challenge);
            Ok(d.evaluation + z_n * acc)
        })?;
        prop_assert_eq!(folded, b.evaluation);
        if let [first, .., last] = slices.as_slice() {
            let mut swapped = slices.clone();
            swapped[0] = last;
            let n = swapped.len();
            swapped[n - 1] = first;
            if first != last {
                prop_assert_ne!(batch_challenge(&swapped, &b.commitment), b.challenge);
            }
        }
        prop_assert_ne!(
            batch_challenge(&slices, &(b.commitment + rollup_protocol::Fr::from(1u64))),
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
