//! Writes a synthetic L1 history as a sync progress file, to measure what loading a synced
//! state costs (JSON read, then every batch replayed with its root checked):
//!
//! ```sh
//! cargo run --release -p rollup-escape --example synthetic_progress -- /tmp/synthetic 100000
//! /usr/bin/time -v target/release/escape balance --account 1 --data-dir /tmp/synthetic
//! ```
//!
//! Arguments: the data directory, the number of transfers (default 100,000), the accounts
//! (default 1,000) and the transfers per batch (default 1,024).

use alloy_primitives::{Address, B256};
use eyre::{Result, eyre};
use rollup_escape::derive::Checkpoint;
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
    data.save(
        &progress,
        Some(&Checkpoint {
            chunk_slots: shape.chunk_slots,
            chain_id,
            batches,
        }),
    )?;
    let path = data.path().to_path_buf();
    eprintln!("{shape:?}: {}", path.display());
    Ok(())
}
