//! Writes a synthetic L1 history as a sync progress file, with the latest state (`state.json`)
//! as a sync leaves it, to measure what loading a synced state costs: the JSON read, then the
//! trees rebuilt from the latest state (or, without `state.json`, every batch replayed with its
//! root checked):
//!
//! ```sh
//! cargo run --release -p rollup-escape --example synthetic_progress -- /tmp/synthetic 100000
//! /usr/bin/time -v target/release/escape balance --account 1 --data-dir /tmp/synthetic
//! rm /tmp/synthetic/state.json   # then the same command replays the history
//! ```
//!
//! Arguments: the data directory, the number of transfers (default 100,000), the accounts
//! (default 1,000) and the transfers per batch (default 1,024).

use alloy_primitives::{Address, B256};
use eyre::{Result, eyre};
use rollup_escape::derive::{Checkpoint, Derivation};
use rollup_escape::snapshot::Snapshot;
use rollup_escape::store::{DataDir, Pin, Progress};
use rollup_escape::synthetic::{Shape, history};

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().ok_or_else(|| {
        eyre!("usage: synthetic_progress <data dir> [transfers] [accounts] [batch]")
    })?;
    let mut number = |default: usize| -> Result<usize> {
        Ok(args
            .next()
            .map(|a| a.parse())
            .transpose()?
            .unwrap_or(default))
    };
    let shape = Shape {
        transfers: number(100_000)?,
        accounts: u32::try_from(number(1_000)?)?,
        batch: number(1_024)?,
        chunk_slots: 64,
    };
    let chain_id = 31337;
    let batches = history(shape, chain_id)?;
    let progress = Progress {
        pin: Pin {
            l1_chain_id: 31337,
            rollup: Address::ZERO,
            code_hash: B256::ZERO,
            deployment_block: 0,
            start_block: 0,
        },
        chunk_slots: shape.chunk_slots,
        chain_id,
        tip: None,
        pending: Vec::new(),
        batches: batches.len() as u64,
        marks: Vec::new(),
        tokens: vec![Address::ZERO],
        verified: None,
    };
    let data = DataDir::open(std::path::Path::new(&dir))?;
    let checkpoint = Checkpoint {
        chunk_slots: shape.chunk_slots,
        chain_id,
        base: 0,
        batches,
    };
    data.save(&progress, Some(&checkpoint))?;
    let derivation = Derivation::from_checkpoint(checkpoint)?;
    data.save_latest(&Snapshot::of(&derivation, &progress.pin)?)?;
    let path = data.path().to_path_buf();
    eprintln!("{shape:?}: {}", path.display());
    Ok(())
}
