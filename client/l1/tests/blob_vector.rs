//! `contracts/test/vectors/blob.json`: a batch posted in a blob, with everything `commitBatchBlob`
//! takes and computes (the list of the records L1 acts on, the versioned hash, the KZG opening at
//! the batch's challenge, the binding), made here with c-kzg and the protocol core, so that the
//! Foundry tests check L1 against them. `blob_transfers.json` is the same for a full batch of
//! transfers (`MAX_CHUNKS_PER_BATCH` chunks of 128 slots, nothing for L1 to act on), whose commit
//! `CommitGas.t.sol` measures. The committed files must be what this computes; `UPDATE_VECTORS=1`
//! rewrites them.

use std::path::PathBuf;

use rollup_l1::blob::{opening, versioned_hash};
use rollup_protocol::blob::{blob_of_pubdata, bls_to_be};
use rollup_protocol::codec::{BatchBinding, Record, encode_chunk, l1_blob_binding, l1_list};
use rollup_protocol::constants::MAX_CHUNKS_PER_BATCH;
use rollup_protocol::field::to_hex;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn hex(b: &[u8]) -> String {
    format!("0x{}", alloy::hex::encode(b))
}

/// Two 4-slot chunks: a transfer, a withdrawal from account 0 (the fee account, which every
/// deployment creates), padding, then a transfer and padding. L1 acts on the withdrawal alone
/// (slot 1), which needs no request in the queue.
fn chunks() -> [Vec<Record>; 2] {
    let transfer = |amount| Record::Transfer {
        from: 1,
        to: 2,
        token: 0,
        amount,
        fee: 3,
    };
    let withdraw = Record::Withdraw {
        from: 0,
        token: 0,
        amount: 5,
        fee: 0,
    };
    [
        vec![transfer(1000), withdraw, Record::Noop, Record::Noop],
        vec![transfer(2000), Record::Noop, Record::Noop, Record::Noop],
    ]
}

/// The vector of a batch of `chunks` posted in a blob, as JSON text.
fn vector(chunks: &[Vec<Record>]) -> Result<String> {
    let refs: Vec<&[Record]> = chunks.iter().map(Vec::as_slice).collect();
    let pubdata = encode_chunk(&chunks.concat())?;
    let vh = versioned_hash(&blob_of_pubdata(&pubdata)?)?;
    let binding = BatchBinding::of_blob(&refs, &vh.0)?;
    let list = l1_list(&pubdata)?;
    let open = opening(&pubdata, &binding.challenge)?;
    assert_eq!(open.versioned_hash, vh);
    assert_eq!(
        open.y,
        bls_to_be(&binding.blob_evaluation),
        "c-kzg's p(z) is the core's"
    );
    // L1's computation from what it receives gives the same binding.
    assert_eq!(
        l1_blob_binding(&vh.0, &list, binding.commitment, binding.blob_evaluation)?,
        binding
    );
    let vector = serde_json::json!({
        "slots": chunks[0].len(),
        "chunks": chunks.len(),
        "pubdata": hex(&pubdata),
        "l1Records": hex(&list),
        "versionedHash": hex(vh.as_slice()),
        "kzgOpening": hex(&[open.commitment.as_slice(), open.proof.as_slice()].concat()),
        "commitment": to_hex(&binding.commitment),
        "challenge": to_hex(&binding.challenge),
        "l1Evaluation": to_hex(&binding.l1_evaluation),
        "blobEvaluation": hex(&open.y),
    });
    Ok(format!("{}\n", serde_json::to_string_pretty(&vector)?))
}

/// Checks `contracts/test/vectors/<name>` against `text`, or writes it under `UPDATE_VECTORS`.
fn check(name: &str, text: &str) -> Result<()> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../contracts/test/vectors")
        .join(name);
    if std::env::var_os("UPDATE_VECTORS").is_some() {
        std::fs::write(&path, text)?;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == text,
        "{} is stale: UPDATE_VECTORS=1 cargo test -p rollup-l1 --test blob_vector",
        path.display()
    );
    Ok(())
}

#[test]
fn the_blob_vector_is_current() -> Result<()> {
    check("blob.json", &vector(&chunks())?)
}

#[test]
fn the_full_batch_of_transfers_vector_is_current() -> Result<()> {
    let chunk: Vec<Record> = (0..128u128)
        .map(|i| Record::Transfer {
            from: 1,
            to: 2,
            token: 0,
            amount: 1000 + i,
            fee: 3,
        })
        .collect();
    let chunks = vec![chunk; MAX_CHUNKS_PER_BATCH];
    let text = vector(&chunks)?;
    assert!(text.contains("\"l1Records\": \"0x\""), "nothing listed");
    check("blob_transfers.json", &text)
}
