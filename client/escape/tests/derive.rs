//! Re-deriving the state from real L1 data: the Foundry fixture's chunks (the pubdata a batch
//! commits and the roots its proofs finalize, from `verifier-gen --stage batch fixtures`).

use std::path::Path;

use rollup_escape::derive::{Derivation, DeriveError, FinalizedBatch};
use rollup_protocol::Config;
use rollup_protocol::field::{self, Fr};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// The fixture's chunks as two finalized batches of two chunks each.
fn batches() -> Result<(Config, Vec<FinalizedBatch>)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../contracts/test/vectors/batch_proofs.json");
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
    let config = Config {
        chain_id: json["chainId"].as_u64().ok_or("chainId")?,
        chunk_slots: usize::try_from(json["slots"].as_u64().ok_or("slots")?)?,
    };
    let mut chunks = Vec::new();
    for c in json["batches"].as_array().ok_or("batches")? {
        let data = alloy_primitives::hex::decode(c["pubdata"].as_str().ok_or("pubdata")?)?;
        let root = field::from_hex(c["newStateRoot"].as_str().ok_or("new root")?)?;
        chunks.push((data, root));
    }
    let batches = chunks
        .chunks(2)
        .zip(1u64..)
        .map(|(pair, index)| FinalizedBatch {
            index,
            chunks: pair.iter().map(|(d, _)| d.clone()).collect(),
            state_root: pair[pair.len() - 1].1,
            committed_at: 0,
            finalized_at: 0,
        })
        .collect();
    Ok((config, batches))
}

fn derived() -> Result<(Derivation, Vec<FinalizedBatch>)> {
    let (config, batches) = batches()?;
    let mut d = Derivation::new(config);
    for b in &batches {
        d.apply(b.clone())?;
    }
    Ok((d, batches))
}

#[test]
fn finalized_batches_rebuild_every_balance() -> Result<()> {
    let (d, batches) = derived()?;
    assert_eq!(d.last_batch(), 2);
    assert_eq!(d.state().root(), batches[1].state_root);
    // Alice deposited 1,000 and sent 250 with a fee of 5 to Bob, who deposited 1.
    assert_eq!(d.state().balance(1, 0), 745);
    assert_eq!(d.state().balance(2, 0), 251);
    assert_eq!(d.state().balance(0, 0), 5, "the fee account");
    Ok(())
}

/// Applies `bad` after the first batch and checks the error and that nothing changed.
fn rejected(bad: FinalizedBatch, check: impl Fn(&DeriveError) -> bool) -> Result<()> {
    let (config, batches) = batches()?;
    let mut d = Derivation::new(config);
    d.apply(batches[0].clone())?;
    let root = d.state().root();
    let err = d.apply(bad).err().ok_or("corrupt data accepted")?;
    assert!(check(&err), "unexpected error: {err}");
    assert!(!err.to_string().is_empty());
    assert_eq!(d.state().root(), root, "the state changed");
    assert_eq!(d.last_batch(), 1);
    // The true batch still applies afterwards.
    d.apply(batches[1].clone())?;
    assert_eq!(d.state().root(), batches[1].state_root);
    Ok(())
}

#[test]
fn a_changed_amount_is_caught_by_the_root_check() -> Result<()> {
    let (_, batches) = batches()?;
    let mut bad = batches[1].clone();
    // The transfer record's last byte is the low byte of its packed fee (mantissa · 2^5 + exponent):
    // bit 5 is the mantissa's lowest, so the fee changes and the packing stays canonical.
    let last = bad.chunks.len() - 1;
    let byte = bad.chunks[last].len() - 1;
    bad.chunks[last][byte] ^= 1 << 5;
    rejected(bad, |e| matches!(e, DeriveError::RootMismatch { .. }))
}

#[test]
fn records_that_cannot_follow_are_rejected() -> Result<()> {
    let (_, batches) = batches()?;
    let mut bad = batches[1].clone();
    // Raise the transfer amount far above Alice's balance: the top byte of its packed amount (bytes
    // 8..13 of the record), whose exponent stays 0.
    let (at, _) =
        rollup_protocol::codec::field_offset(rollup_protocol::tx::TxType::Transfer, "amount")
            .ok_or("no amount field")?;
    bad.chunks[1][at] = 0xff;
    rejected(bad, |e| matches!(e, DeriveError::Replay { .. }))
}

#[test]
fn truncated_pubdata_is_rejected() -> Result<()> {
    let (_, batches) = batches()?;
    let mut bad = batches[1].clone();
    bad.chunks[0].pop();
    rejected(bad, |e| matches!(e, DeriveError::Decode { chunk: 0, .. }))
}

#[test]
fn a_wrong_root_is_rejected() -> Result<()> {
    let (_, batches) = batches()?;
    let mut bad = batches[1].clone();
    bad.state_root += Fr::from(1u64);
    rejected(bad, |e| matches!(e, DeriveError::RootMismatch { .. }))
}

#[test]
fn a_missing_batch_is_rejected() -> Result<()> {
    let (_, batches) = batches()?;
    let mut bad = batches[1].clone();
    bad.index = 3;
    rejected(bad, |e| {
        matches!(
            e,
            DeriveError::OutOfOrder {
                expected: 2,
                got: 3
            }
        )
    })
}

#[test]
fn the_checkpoint_resumes_the_same_state() -> Result<()> {
    let (d, _) = derived()?;
    let dir = std::env::temp_dir().join(format!("rollup-escape-{}", std::process::id()));
    let path = dir.join("checkpoint.json");
    d.save(&path)?;
    let back = Derivation::load(&path)?;
    assert_eq!(back.state().root(), d.state().root());
    assert_eq!(back.batches(), d.batches());

    std::fs::write(&path, "{ not json")?;
    assert!(matches!(
        Derivation::load(&path),
        Err(DeriveError::Checkpoint { .. })
    ));
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
