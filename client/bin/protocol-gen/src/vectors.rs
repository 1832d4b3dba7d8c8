//! Cross-language test vectors: JSON files that the Foundry tests read, so that
//! the generated Solidity and the core cannot drift apart without a red test.
//!
//! - `poseidon.json`: permutations and sponge hashes under every tag and several lengths;
//! - `state.json`: a state built by real transactions, its root, and balance proofs;
//! - `pubdata.json`: a chunk holding every transaction type: its bytes, record fields,
//!   data commitment, roots and on-chain operations;
//! - `floats.json`: packed amounts and fees: exact values with their packings, values the formats do
//!   not hold with the nearest below, and packings a decoder must refuse;
//! - `keys.json`: L2 keys L1 must accept and the small-order points it must refuse;
//! - `escape_states.json`: states of the same accounts, each reached from the last by transfers (so
//!   their totals are equal), with a balance proof of every (account, token): the roots the escape
//!   invariant test finalizes and escapes from.

use alloy_primitives::{Address, hex};
use serde_json::{Value, json};

use rollup_protocol::codec::{
    FORCED_EXIT_REQUEST_LEN, FieldKind, Record, encode_chunk, field_offset, record_layout,
};
use rollup_protocol::constants::*;
use rollup_protocol::eddsa::{Point, SecretKey};
use rollup_protocol::error::Result;
use rollup_protocol::field::{Fr, to_hex};
use rollup_protocol::float::{self, FloatFormat};
use rollup_protocol::poseidon::{hash, permute};
use rollup_protocol::state::{
    BalanceProof, Config, State, account_tree_defaults, balance_tree_defaults,
};
use rollup_protocol::transition::Chunk;
use rollup_protocol::tx::{ChangeKey, Deposit, ForcedExit, Transfer, Tx, TxType, Withdraw};

/// Chain id of the vectors' state.
pub const VECTOR_CHAIN_ID: u64 = 31337;

fn hexes(xs: &[Fr]) -> Vec<String> {
    xs.iter().map(to_hex).collect()
}

/// A deterministic field element for vector `i`.
fn sample(i: u64) -> Fr {
    hash(99, &[Fr::from(i)])
}

/// `poseidon.json`.
pub fn poseidon() -> Value {
    let mut perms = vec![];
    let inputs: Vec<[Fr; 3]> = vec![
        [Fr::from(0u64), Fr::from(1u64), Fr::from(2u64)],
        [Fr::from(0u64), Fr::from(0u64), Fr::from(0u64)],
        [-Fr::from(1u64), -Fr::from(1u64), -Fr::from(1u64)],
        [sample(1), sample(2), sample(3)],
    ];
    for mut s in inputs {
        let input = hexes(&s);
        permute(&mut s);
        perms.push(json!({ "input": input, "output": hexes(&s) }));
    }
    let mut hashes = vec![];
    for (tag, n) in [
        (TAG_NODE, 2),
        (TAG_ACCOUNT, 4),
        (TAG_TX, 3),
        (TAG_EDDSA, 5),
        (TAG_DATA, 12),
        (7, 0),
        (7, 1),
    ] {
        let xs: Vec<Fr> = (0..n).map(|i| sample(100 * tag + i)).collect();
        hashes.push(json!({ "tag": tag, "inputs": hexes(&xs), "output": to_hex(&hash(tag, &xs)) }));
    }
    json!({ "permutations": perms, "hashes": hashes })
}

fn key(name: &str) -> SecretKey {
    SecretKey::from_seed(name.as_bytes())
}

fn proof_json(p: &BalanceProof) -> Value {
    json!({
        "accountId": p.account_id,
        "token": p.token,
        "balance": p.balance.to_string(),
        "owner": p.account.owner,
        "nonce": p.account.nonce,
        "pubkeyX": to_hex(&p.account.pubkey.x),
        "pubkeyY": to_hex(&p.account.pubkey.y),
        "balanceRoot": to_hex(&p.account.balance_root),
        "accountLeaf": to_hex(&p.account.hash()),
        "balanceSiblings": hexes(&p.balance_proof.siblings),
        "accountSiblings": hexes(&p.account_proof.siblings),
    })
}

/// The state behind `state.json`: fee account, three users, two tokens, a few transfers.
pub fn sample_state(chunk_slots: usize) -> Result<State> {
    let mut s = State::new(Config {
        chain_id: VECTOR_CHAIN_ID,
        chunk_slots,
    });
    let dep = |id: u32, owner: u8, token: u8, amount: u128, k: Option<&str>| {
        Tx::Deposit(Deposit {
            account_id: id,
            owner: Address::repeat_byte(owner),
            token,
            amount,
            pubkey: k.map(|k| key(k).public()).unwrap_or(Point::NONE),
        })
    };
    s.apply_tx(&dep(0, 0xfe, 0, 0, Some("operator")))?;
    s.apply_tx(&dep(1, 0xa1, 0, 5_000_000_000_000_000_000, Some("alice")))?;
    s.apply_tx(&dep(1, 0xa1, 3, 1_000_000, None))?;
    s.apply_tx(&dep(2, 0xb0, 0, 2_000_000_000_000_000_000, Some("bob")))?;
    s.apply_tx(&dep(5, 0xc5, 255, u128::MAX, Some("carol")))?;
    let t = Transfer {
        from: 1,
        to: 2,
        token: 0,
        amount: 1_000_000_000_000_000_000,
        fee: 1_000,
        nonce: 0,
    };
    s.apply_tx(&t.sign(&key("alice"), VECTOR_CHAIN_ID))?;
    let t = Transfer {
        from: 2,
        to: 1,
        token: 0,
        amount: 7,
        fee: 0,
        nonce: 0,
    };
    s.apply_tx(&t.sign(&key("bob"), VECTOR_CHAIN_ID))?;
    Ok(s)
}

/// `state.json`.
pub fn state() -> Result<Value> {
    let s = sample_state(DEFAULT_CHUNK_SLOTS)?;
    let mut proofs = vec![];
    for (id, token) in [
        (1u32, 0u8),
        (1, 3),
        (2, 0),
        (0, 0),
        (5, 255),
        (2, 3),
        (9, 0),
        ((1 << 20) - 1, 1),
    ] {
        proofs.push(proof_json(&s.balance_proof(id, token)?));
    }
    Ok(json!({
        "root": to_hex(&s.root()),
        "emptyStateRoot": to_hex(&State::new(*s.config()).root()),
        "emptyBalanceSubtrees": hexes(balance_tree_defaults()),
        "emptyAccountSubtrees": hexes(account_tree_defaults()),
        "proofs": proofs,
    }))
}

/// The chunk behind `pubdata.json`: one transaction of every type, on the sample state, in 8 slots.
pub fn sample_chunk() -> Result<Chunk> {
    let mut s = sample_state(8)?;
    let txs = [
        Tx::Deposit(Deposit {
            account_id: 6,
            owner: Address::repeat_byte(0xd6),
            token: 1,
            amount: 123_456,
            pubkey: key("dave").public(),
        }),
        Transfer {
            from: 1,
            to: 5,
            token: 0,
            amount: 42,
            fee: 3,
            nonce: 1,
        }
        .sign(&key("alice"), VECTOR_CHAIN_ID),
        Withdraw {
            from: 2,
            token: 0,
            amount: 1_000,
            fee: 1,
            nonce: 1,
        }
        .sign(&key("bob"), VECTOR_CHAIN_ID),
        Tx::ForcedExit(ForcedExit {
            account_id: 1,
            token: 3,
        }),
        Tx::ChangeKey(ChangeKey {
            account_id: 5,
            pubkey: key("carol2").public(),
        }),
    ];
    s.apply_chunk(&txs)
}

/// `pubdata.json`.
pub fn pubdata() -> Result<Value> {
    let c = sample_chunk()?;
    let fields: Vec<Fr> = rollup_protocol::codec::data_elements(&c.records)?;
    let records = c
        .records
        .iter()
        .map(|r| Ok(format!("0x{}", hex::encode(r.encode()?))))
        .collect::<Result<Vec<_>>>()?;
    Ok(json!({
        "slots": c.records.len(),
        "chunk": format!("0x{}", hex::encode(&c.pubdata)),
        "records": records,
        "fields": hexes(&fields),
        "dataCommitment": to_hex(&c.binding.commitment),
        "oldRoot": to_hex(&c.old_root),
        "newRoot": to_hex(&c.new_root),
        "onchainOps": c.records.iter().flat_map(Record::onchain_ops).collect::<Vec<_>>(),
        "onchainOffsets": onchain_offsets(&c.records)?,
        "single": binding(&[&c.records])?,
        "longLast": long_last(&c.records)?,
        "batch": batch(&c.records)?,
    }))
}

/// The binding of a batch of `chunks` as L1 computes it from its pubdata (the chunks back to back)
/// and the batch commitment `C_B`: the challenge, `Y_L1` and the blob polynomial at the challenge.
fn binding(chunks: &[&[Record]]) -> Result<Value> {
    let b = rollup_protocol::codec::BatchBinding::of(chunks)?;
    let records: Vec<Record> = chunks.concat();
    Ok(json!({
        "pubdata": format!("0x{}", hex::encode(encode_chunk(&records)?)),
        "records": records.len(),
        "commitment": to_hex(&b.commitment),
        "challenge": to_hex(&b.challenge),
        "l1Evaluation": to_hex(&b.l1_evaluation),
        "blobEvaluation": format!("0x{}", hex::encode(rollup_protocol::blob::bls_to_be(&b.blob_evaluation))),
    }))
}

/// A batch of two chunks, the sample chunk then its records turned ([`long_last`]): its binding
/// over both chunks' bytes.
fn batch(records: &[Record]) -> Result<Value> {
    let mut turned = records.to_vec();
    turned.rotate_left(1);
    binding(&[records, &turned])
}

/// The byte offsets in the chunk of the records L1 acts on at commit, in order.
fn onchain_offsets(records: &[Record]) -> Result<Vec<usize>> {
    let mut offset = 0;
    let mut out = Vec::new();
    for r in records {
        if !r.onchain_ops().is_empty() {
            out.push(offset);
        }
        offset += Record::encoded_len(r.tx_type());
    }
    Ok(out)
}

/// The sample chunk's records turned so that its longest record (a deposit) comes last, as a batch
/// of its own: its elements and the blob's last word end where the calldata ends. Not a valid
/// history, only bytes for the data binding.
fn long_last(records: &[Record]) -> Result<Value> {
    let mut rs = records.to_vec();
    if let Some(i) = rs
        .iter()
        .enumerate()
        .max_by_key(|(i, r)| (Record::encoded_len(r.tx_type()), *i))
        .map(|(i, _)| i)
    {
        let long = rs.remove(i);
        rs.push(long);
    }
    binding(&[&rs])
}

/// `keys.json`: keys that may be bound (honest keys) and the eight small-order points, which may not.
pub fn keys() -> Value {
    let point = |p: &Point| {
        json!({
            "x": to_hex(&p.x),
            "y": to_hex(&p.y),
            "compressed": format!("0x{}", hex::encode(p.compress())),
        })
    };
    let valid: Vec<Value> = ["alice", "bob", "carol"]
        .iter()
        .map(|n| point(&key(n).public()))
        .collect();
    let small: Vec<Value> = Point::small_order_points().iter().map(point).collect();
    json!({ "valid": valid, "smallOrder": small })
}

/// Owners of the escape states' accounts 0 to 3 (0 is the fee account).
pub const ESCAPE_OWNERS: [u8; 4] = [0xfe, 0xa1, 0xb2, 0xc3];

/// `escape_states.json`: four states of accounts 0 to 3 holding ETH (token 0) and token 1, each the
/// previous one plus a transfer, with the proofs of all eight (account, token) balances.
pub fn escape_states() -> Result<Value> {
    let mut s = State::new(Config {
        chain_id: VECTOR_CHAIN_ID,
        chunk_slots: DEFAULT_CHUNK_SLOTS,
    });
    let names = ["operator", "alice", "bob", "carol"];
    let deposits: [(u32, u8, u128); 5] = [
        (0, 0, 0),
        (1, 0, 3_000_000_000_000_000_000),
        (1, 1, 500_000),
        (2, 0, 2_000_000_000_000_000_000),
        (3, 1, 700_000),
    ];
    for (id, token, amount) in deposits {
        s.apply_tx(&Tx::Deposit(Deposit {
            account_id: id,
            owner: Address::repeat_byte(ESCAPE_OWNERS[id as usize]),
            token,
            amount,
            pubkey: key(names[id as usize]).public(),
        }))?;
    }
    let transfers: [(u32, u32, u8, u128, u128, u32); 3] = [
        (1, 2, 0, 1_000_000_000_000_000_000, 1_000, 0),
        (3, 1, 1, 200_000, 5, 0),
        (2, 3, 0, 500_000_000_000_000_000, 0, 0),
    ];
    let mut states = vec![];
    let snapshot = |s: &State| -> Result<Value> {
        let mut proofs = vec![];
        for id in 0u32..4 {
            for token in [0u8, 1] {
                proofs.push(proof_json(&s.balance_proof(id, token)?));
            }
        }
        Ok(json!({ "root": to_hex(&s.root()), "proofs": proofs }))
    };
    states.push(snapshot(&s)?);
    for (from, to, token, amount, fee, nonce) in transfers {
        let t = Transfer {
            from,
            to,
            token,
            amount,
            fee,
            nonce,
        };
        s.apply_tx(&t.sign(&key(names[from as usize]), VECTOR_CHAIN_ID))?;
        states.push(snapshot(&s)?);
    }
    let totals: Vec<String> = [0u8, 1]
        .iter()
        .map(|t| {
            (0u32..4)
                .map(|id| s.balance(id, *t))
                .sum::<u128>()
                .to_string()
        })
        .collect();
    Ok(json!({ "totals": totals, "states": states }))
}

/// One record of each type from the sample chunk, with every field as the layout reads it (its
/// bytes as a big-endian hex integer, an address, or a 32-byte key): what the Solidity `Records`
/// library's readers must return, and the encoders must rebuild.
pub fn records() -> Result<Value> {
    let c = sample_chunk()?;
    let mut out = serde_json::Map::new();
    for r in &c.records {
        let ty = r.tx_type();
        let name = match ty {
            TxType::Noop => continue,
            TxType::Deposit => "deposit",
            TxType::Transfer => "transfer",
            TxType::Withdraw => "withdraw",
            TxType::ForcedExit => "forcedExit",
            TxType::ChangeKey => "changeKey",
        };
        if out.contains_key(name) {
            continue;
        }
        let bytes = r.encode()?;
        let mut fields = serde_json::Map::new();
        fields.insert("record".into(), json!(format!("0x{}", hex::encode(&bytes))));
        for f in record_layout(ty) {
            let (offset, _) = field_offset(ty, f.name)
                .ok_or_else(|| rollup_protocol::Error::Decode(format!("no field {}", f.name)))?;
            let raw = &bytes[offset..offset + f.bytes];
            let value = match f.kind {
                FieldKind::Address | FieldKind::Key => format!("0x{}", hex::encode(raw)),
                // A number, as forge's JSON reader takes it.
                FieldKind::Uint => alloy_primitives::U256::from_be_slice(raw).to_string(),
                // The value it packs.
                FieldKind::Float(format) => {
                    let packed = raw.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
                    format.unpack(packed)?.to_string()
                }
            };
            fields.insert(f.name.into(), json!(value));
        }
        if ty == TxType::ForcedExit {
            fields.insert(
                "request".into(),
                json!(format!(
                    "0x{}",
                    hex::encode(&bytes[..FORCED_EXIT_REQUEST_LEN])
                )),
            );
        }
        out.insert(name.into(), Value::Object(fields));
    }
    if out.len() != 5 {
        return Err(rollup_protocol::Error::Decode(
            "the sample chunk lacks a record type".into(),
        ));
    }
    Ok(Value::Object(out))
}

/// `floats.json` (see the module docs).
pub fn floats() -> Value {
    let format = |f: FloatFormat| {
        let top = f.mantissa_limit() - 1;
        let pack = |m: u128, e: u32| ((m as u64) << f.exponent_bits) | u64::from(e);
        let mut values = vec![0, 1, 9, 10, 42, 100, 1_000, top, top * 10, top * 1_000];
        values.extend([10u128.pow(18), 5 * 10u128.pow(17), 123 * 10u128.pow(20)]);
        values.push(f.round_down(u128::MAX));
        let exact: Vec<Value> = values
            .iter()
            .filter_map(|v| {
                let p = f.pack(*v)?;
                Some(json!({ "value": v.to_string(), "packed": p.to_string() }))
            })
            .collect();
        let inexact: Vec<Value> = [top + 1, top * 10 + 1, 10u128.pow(18) + 1, u128::MAX]
            .iter()
            .filter(|v| !f.holds(**v))
            .map(|v| json!({ "value": v.to_string(), "nearest": f.round_down(*v).to_string() }))
            .collect();
        // Not canonical (a smaller exponent holds the value), or above 2^128.
        let invalid: Vec<String> = [
            pack(1, 1),
            pack(0, 1),
            pack(top / 10, 1),
            pack(top, f.exponent_limit() - 1),
        ]
        .iter()
        .filter(|p| f.unpack(**p).is_err())
        .map(u64::to_string)
        .collect();
        json!({
            "mantissaBits": f.mantissa_bits,
            "exponentBits": f.exponent_bits,
            "exact": exact,
            "inexact": inexact,
            "invalid": invalid,
        })
    };
    json!({ "amount": format(float::AMOUNT), "fee": format(float::FEE) })
}

/// Every vector file: name and pretty-printed JSON.
pub fn files() -> Result<Vec<(&'static str, String)>> {
    let pretty = |v: &Value| {
        serde_json::to_string_pretty(v)
            .map(|s| s + "\n")
            .unwrap_or_default()
    };
    Ok(vec![
        ("poseidon.json", pretty(&poseidon())),
        ("state.json", pretty(&state()?)),
        ("pubdata.json", pretty(&pubdata()?)),
        ("records.json", pretty(&records()?)),
        ("floats.json", pretty(&floats())),
        ("keys.json", pretty(&keys())),
        ("escape_states.json", pretty(&escape_states()?)),
    ])
}
