//! The chunk circuit against the core (MockProver): chunks of every transaction type are
//! accepted, and each rule, broken in the witness, leaves the circuit unsatisfied.

use alloy_primitives::Address;
use halo2_base::halo2_proofs::dev::{MockProver, VerifyFailure};
use halo2_base::halo2_proofs::halo2curves::ff::Field;
use rollup_circuits::Fr;
use rollup_circuits::chunk::{ChunkCircuit, SlotWitness, instances};
use rollup_protocol::codec::{
    DataBinding, Record, data_challenge, data_elements, encode_chunk, evaluate,
};
use rollup_protocol::constants::TAG_DATA;
use rollup_protocol::eddsa::SecretKey;
use rollup_protocol::field;
use rollup_protocol::tx::{ChangeKey, Deposit, ForcedExit, Transfer, Withdraw};
use rollup_protocol::{Chunk, Config, State, Tx};

const CHAIN_ID: u64 = 31337;
const SLOTS: usize = 2;
const K: u32 = 15;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn alice() -> SecretKey {
    SecretKey::from_seed(b"alice")
}
fn bob() -> SecretKey {
    SecretKey::from_seed(b"bob")
}

fn deposit(id: u32, owner: u8, token: u8, amount: u128, key: Option<&SecretKey>) -> Tx {
    Tx::Deposit(Deposit {
        account_id: id,
        owner: Address::repeat_byte(owner),
        token,
        amount,
        pubkey: key
            .map(|k| k.public())
            .unwrap_or(rollup_protocol::eddsa::Point::NONE),
    })
}

fn transfer(from: u32, to: u32, amount: u128, fee: u128, nonce: u32, key: &SecretKey) -> Tx {
    Transfer {
        from,
        to,
        token: 1,
        amount,
        fee,
        nonce,
    }
    .sign(key, CHAIN_ID)
}

/// A history touching every type, cut into chunks of two slots.
fn history() -> Result<Vec<Chunk>> {
    let mut s = State::new(Config {
        chain_id: CHAIN_ID,
        chunk_slots: SLOTS,
    });
    let txs: Vec<Vec<Tx>> = vec![
        vec![
            deposit(0, 0xfe, 0, 0, None),
            deposit(1, 0xa1, 1, 1_000, Some(&alice())),
        ],
        vec![
            deposit(2, 0xb0, 1, 500, Some(&bob())),
            deposit(1, 0xa1, 1, 7, None),
        ],
        vec![
            transfer(1, 2, 100, 3, 0, &alice()),
            Withdraw {
                from: 2,
                token: 1,
                amount: 50,
                fee: 2,
                nonce: 0,
            }
            .sign(&bob(), CHAIN_ID),
        ],
        vec![
            Tx::ForcedExit(ForcedExit {
                account_id: 2,
                token: 1,
            }),
            Tx::ChangeKey(ChangeKey {
                account_id: 1,
                pubkey: bob().public(),
            }),
        ],
        vec![transfer(1, 0, 10, 0, 1, &bob())],
    ];
    let mut out = Vec::new();
    for t in txs {
        out.push(s.apply_chunk(&t)?);
    }
    Ok(out)
}

fn failures(c: &ChunkCircuit, public: Vec<Vec<Fr>>) -> Result<Vec<VerifyFailure>> {
    let p = MockProver::run(K, c, public)?;
    Ok(p.verify().err().unwrap_or_default())
}

#[test]
fn chunks_of_every_type_are_accepted() -> Result<()> {
    for (i, chunk) in history()?.iter().enumerate() {
        let c = ChunkCircuit::new(chunk, SLOTS, CHAIN_ID)?;
        let f = failures(&c, instances(chunk))?;
        assert!(f.is_empty(), "chunk {i}: {:?}", &f[..f.len().min(3)]);
    }
    Ok(())
}

/// Chunk `i` of the history as a circuit, with `tamper` applied to slot `slot`'s witness.
fn tampered(
    i: usize,
    slot: usize,
    tamper: impl FnOnce(&mut SlotWitness),
) -> Result<(ChunkCircuit, Chunk)> {
    let chunk = history()?.swap_remove(i);
    let mut c = ChunkCircuit::new(&chunk, SLOTS, CHAIN_ID)?;
    let w = c
        .slots_mut()
        .and_then(|s| s.get_mut(slot))
        .ok_or("no such slot")?;
    tamper(w);
    Ok((c, chunk))
}

/// Unsatisfied, with a failure whose description contains `why` (a gate, a lookup, or
/// "Equality constraint" for a broken copy).
fn assert_rejected(c: &ChunkCircuit, public: Vec<Vec<Fr>>, why: &str) -> Result<()> {
    let f = failures(c, public)?;
    assert!(!f.is_empty(), "accepted; expected a failure of {why}");
    assert!(
        f.iter().any(|f| format!("{f:?}").contains(why)),
        "no failure of {why} among {:?}",
        &f[..f.len().min(4)]
    );
    Ok(())
}

fn signature(tx: Tx) -> Result<(rollup_protocol::eddsa::Point, Fr)> {
    match tx {
        Tx::Transfer { sig, .. } | Tx::Withdraw { sig, .. } => {
            Ok((sig.r, field::from_u256(sig.s)?))
        }
        _ => Err("not signed".into()),
    }
}

const RANGE: &str = "running-sum byte";
const RULE: &str = "a·b + c = d";
const COPY: &str = "Equality constraint";

#[test]
fn bad_signature_is_rejected() -> Result<()> {
    let (c, chunk) = tampered(2, 0, |w| w.sig_s += Fr::ONE)?;
    assert_rejected(&c, instances(&chunk), COPY)
}

#[test]
fn wrong_nonce_is_rejected() -> Result<()> {
    // Alice's nonce is 0; she signed the same transfer with nonce 1.
    let (r, s) = signature(transfer(1, 2, 100, 3, 1, &alice()))?;
    let (c, chunk) = tampered(2, 0, |w| {
        w.sig_r = r;
        w.sig_s = s;
    })?;
    assert_rejected(&c, instances(&chunk), COPY)
}

#[test]
fn signature_under_another_key_is_rejected() -> Result<()> {
    let (r, s) = signature(transfer(1, 2, 100, 3, 0, &bob()))?;
    let (c, chunk) = tampered(2, 0, |w| {
        w.sig_r = r;
        w.sig_s = s;
    })?;
    assert_rejected(&c, instances(&chunk), COPY)
}

#[test]
fn key_not_bound_by_l1_is_rejected() -> Result<()> {
    // Chunk 1, slot 1: a deposit to Alice's existing account, which must not touch her key.
    let bob_key = bob().public();
    let (c, chunk) = tampered(1, 1, |w| {
        w.pubkey = bob_key;
        w.updates[0].after[1] = bob_key.x;
        w.updates[0].after[2] = bob_key.y;
    })?;
    assert_rejected(&c, instances(&chunk), RULE)
}

#[test]
fn key_that_compresses_to_none_is_rejected() -> Result<()> {
    // Chunk 0, slot 0 creates the fee account with no key: its record's key bytes are all zero. The curve
    // point (1/√a, 0) with an even x compresses to those same bytes and is of small order (anyone signs
    // for it), so the circuit must not let a NONE record bind it.
    let p0 = rollup_protocol::eddsa::Point::small_order_points()
        .into_iter()
        .find(|p| p.compress() == [0u8; 32] && *p != rollup_protocol::eddsa::Point::NONE)
        .ok_or("no small-order point compresses to NONE")?;
    let (c, chunk) = tampered(0, 0, |w| {
        w.pubkey = p0;
        w.updates[0].after[1] = p0.x;
        w.updates[0].after[2] = p0.y;
    })?;
    assert_rejected(&c, instances(&chunk), RULE)
}

#[test]
fn deposit_fields_cannot_borrow_from_each_other() -> Result<()> {
    // Chunk 0, slot 1 creates Alice's account with 1,000. The record's first field packs
    // `owner·2^56 + token·2^48 + amount_hi`: raising the amount's high part by one and lowering the
    // owner by 2^-56 (a field element far above 2^160) keeps the record, and would credit 2^80 more.
    let shift = field::from_u128(1 << 56).invert().unwrap_or(Fr::ZERO);
    let (c, chunk) = tampered(0, 1, |w| {
        w.owner -= shift;
        w.amount += field::from_u128(1 << 80);
        w.updates[0].after[0] = w.owner;
        w.updates[0].balance[1] = w.amount;
    })?;
    assert_rejected(&c, instances(&chunk), RANGE)
}

#[test]
fn overdraft_is_rejected() -> Result<()> {
    // Alice (balance 1,007) sends 10,000 with a valid signature; her balance wraps around the field.
    let (r, s) = signature(transfer(1, 2, 10_000, 3, 0, &alice()))?;
    let (c, chunk) = tampered(2, 0, |w| {
        w.amount = Fr::from(10_000u64);
        w.sig_r = r;
        w.sig_s = s;
        w.updates[0].balance[1] = w.updates[0].balance[0] - Fr::from(10_003u64);
        w.updates[1].balance[1] = w.updates[1].balance[0] + Fr::from(10_000u64);
    })?;
    assert_rejected(&c, instances(&chunk), RANGE)
}

#[test]
fn balance_overflow_is_rejected() -> Result<()> {
    // A deposit that takes Alice's balance to 2^128 or more.
    let (c, chunk) = tampered(1, 1, |w| {
        w.amount = field::from_u128(u128::MAX);
        w.updates[0].balance[1] = w.updates[0].balance[0] + w.amount;
    })?;
    assert_rejected(&c, instances(&chunk), RANGE)
}

#[test]
fn forced_exit_must_withdraw_the_whole_balance() -> Result<()> {
    let (c, chunk) = tampered(3, 0, |w| w.amount -= Fr::ONE)?;
    assert_rejected(&c, instances(&chunk), RULE)
}

#[test]
fn padding_slot_that_changes_state_is_rejected() -> Result<()> {
    // Chunk 4, slot 1 is padding: a credit to the fee account there is not allowed.
    let (c, chunk) = tampered(4, 1, |w| w.updates[0].balance[1] += Fr::ONE)?;
    assert_rejected(&c, instances(&chunk), COPY)
}

#[test]
fn transfer_presented_as_padding_is_rejected() -> Result<()> {
    // A transfer presented as padding: its effects no longer follow from any one type.
    let (c, chunk) = tampered(2, 0, |w| w.tx_type = rollup_protocol::tx::TxType::Noop)?;
    let f = failures(&c, instances(&chunk))?;
    assert!(!f.is_empty());
    Ok(())
}

#[test]
fn wrong_roots_are_rejected() -> Result<()> {
    let chunk = history()?.swap_remove(2);
    let c = ChunkCircuit::new(&chunk, SLOTS, CHAIN_ID)?;
    // The old root, then the new root.
    for i in [0, 1] {
        let mut public = instances(&chunk);
        public[0][i] += Fr::ONE;
        assert_rejected(&c, public, COPY)?;
    }
    Ok(())
}

// Packed amounts (chunk 2: slot 0 transfers 100 with fee 3, slot 1 withdraws 50 with fee 2).

#[test]
fn a_transfer_amount_that_is_not_its_packing_is_rejected() -> Result<()> {
    let (c, chunk) = tampered(2, 0, |w| w.packed_amount.mantissa += Fr::ONE)?;
    assert_rejected(&c, instances(&chunk), RULE)
}

#[test]
fn a_fee_that_is_not_its_packing_is_rejected() -> Result<()> {
    // The withdrawal's fee: its amount is exact, its fee packed.
    let (c, chunk) = tampered(2, 1, |w| w.packed_fee.exponent = 1)?;
    assert_rejected(&c, instances(&chunk), COPY)
}

#[test]
fn a_fee_in_an_unsigned_slot_is_rejected() -> Result<()> {
    // Chunk 0, slot 1 is a deposit: its fee is 0, packed as 0, though nothing debits or posts it.
    let (c, chunk) = tampered(0, 1, |w| w.fee = Fr::from(5u64))?;
    assert_rejected(&c, instances(&chunk), COPY)
}

#[test]
fn a_packing_that_is_not_canonical_is_rejected() -> Result<()> {
    // 100 as 10·10^1: the same value, a second record encoding. Its canonicity check fails (the
    // record then also differs from the one L1 holds).
    let (c, chunk) = tampered(2, 0, |w| {
        w.packed_amount.mantissa = Fr::from(10u64);
        w.packed_amount.exponent = 1;
    })?;
    assert_rejected(&c, instances(&chunk), RANGE)
}

#[test]
fn an_unrepresentable_mantissa_is_rejected() -> Result<()> {
    // A mantissa of 2^35 + 100: wider than the format, as an unrepresentable amount would need.
    let (c, chunk) = tampered(2, 0, |w| {
        w.packed_amount.mantissa = Fr::from((1u64 << 35) + 100);
    })?;
    assert_rejected(&c, instances(&chunk), RANGE)
}

/// The records L1 would hold if one byte of the first record's amount differed.
fn tampered_records(chunk: &Chunk) -> Vec<Record> {
    let mut records = chunk.records.clone();
    if let Record::Transfer { amount, .. } = &mut records[0] {
        *amount ^= 1;
    }
    records
}

#[test]
fn pubdata_differing_in_one_byte_is_rejected() -> Result<()> {
    let chunk = history()?.swap_remove(2);
    let c = ChunkCircuit::new(&chunk, SLOTS, CHAIN_ID)?;
    let records = tampered_records(&chunk);
    assert_ne!(records, chunk.records);
    // L1's whole binding of the other records.
    let theirs = DataBinding::of(&records)?;
    let mut public = instances(&chunk);
    public[0][2..].copy_from_slice(&[theirs.commitment, theirs.challenge, theirs.evaluation]);
    assert_rejected(&c, public, COPY)?;
    // The proof's own commitment, with the challenge and evaluation L1 computes for the other
    // calldata, and the circuit evaluating at that very challenge: only the evaluation differs.
    let z = data_challenge(&encode_chunk(&records)?, &chunk.binding.commitment);
    let y = evaluate(&data_elements(&records)?, &z);
    let mut at_z = chunk.clone();
    at_z.binding.challenge = z;
    let c = ChunkCircuit::new(&at_z, SLOTS, CHAIN_ID)?;
    let mut public = instances(&chunk);
    public[0][3] = z;
    public[0][4] = y;
    assert_rejected(&c, public.clone(), COPY)?;
    // The same circuit with its own records' evaluation at that challenge is accepted: the
    // rejection above is the evaluation's.
    public[0][4] = evaluate(&data_elements(&chunk.records)?, &z);
    let f = failures(&c, public)?;
    assert!(f.is_empty(), "{:?}", &f[..f.len().min(3)]);
    Ok(())
}

#[test]
fn a_wrong_evaluation_or_challenge_is_rejected() -> Result<()> {
    let chunk = history()?.swap_remove(2);
    let c = ChunkCircuit::new(&chunk, SLOTS, CHAIN_ID)?;
    // The evaluation off by one; then another challenge with the evaluation kept.
    for i in [4, 3] {
        let mut public = instances(&chunk);
        public[0][i] += Fr::ONE;
        assert_rejected(&c, public, COPY)?;
    }
    Ok(())
}

#[test]
fn padding_that_carries_data_is_rejected() -> Result<()> {
    // Chunk 4, slot 1 is padding, whose data elements are (0, 0, 0) after its type byte. A binding
    // over elements where that slot carries data is not the proof's, whatever the slot's witness
    // holds (an amount in a Noop slot's witness is packed nowhere).
    let chunk = history()?.swap_remove(4);
    let mut elements = data_elements(&chunk.records)?;
    assert!(elements[3..6].iter().all(|e| *e == Fr::ZERO));
    elements[4] = Fr::from(5u64);
    let commitment = rollup_protocol::poseidon::hash(TAG_DATA, &elements);
    let challenge = data_challenge(&chunk.pubdata, &commitment);
    let evaluation = evaluate(&elements, &challenge);
    let mut at_z = chunk.clone();
    at_z.binding.challenge = challenge;
    for w in [Fr::ZERO, Fr::from(5u64)] {
        let mut c = ChunkCircuit::new(&at_z, SLOTS, CHAIN_ID)?;
        if let Some(slot) = c.slots_mut().and_then(|s| s.get_mut(1)) {
            slot.amount = w;
        }
        let mut public = instances(&chunk);
        public[0][2..].copy_from_slice(&[commitment, challenge, evaluation]);
        assert_rejected(&c, public, COPY)?;
    }
    Ok(())
}

#[test]
fn chunk_of_the_wrong_size_is_an_error() -> Result<()> {
    let chunk = history()?.swap_remove(0);
    assert!(ChunkCircuit::new(&chunk, SLOTS + 1, CHAIN_ID).is_err());
    Ok(())
}
