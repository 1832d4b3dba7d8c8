//! Syncing from L1 with progress saved on disk: the blocks are read page by page, the batches
//! finalized in them applied, and after every page that changed something the derivation, the
//! batches committed but not yet finalized and the next block are written atomically to one file. An interrupted sync
//! resumes from that file and never applies a batch twice or skips one.

use std::path::Path;

use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use rollup_bindings::rollup::Rollup;
use rollup_protocol::Config;
use serde::{Deserialize, Serialize};

use crate::derive::{Checkpoint, Derivation, DeriveError, read_json, write_json};
use crate::l1::{L1Error, L1Reader, PendingBatch};

/// Why a sync stopped.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// Reading L1 failed.
    #[error(transparent)]
    L1(#[from] L1Error),
    /// The L1 data did not derive (or the progress file could not be read or written).
    #[error(transparent)]
    Derive(#[from] DeriveError),
    /// The progress file belongs to another rollup.
    #[error("the progress file is for rollup {file}, not {given}: use another data directory")]
    OtherRollup {
        /// The rollup in the file.
        file: Address,
        /// The rollup asked for.
        given: Address,
    },
    /// The logs read show fewer finalized batches than the rollup reports: the RPC left logs out.
    #[error(
        "L1 has finalized {l1} batches but the RPC's logs show {derived}: its logs are incomplete; delete {progress} and sync again through another RPC"
    )]
    Incomplete {
        /// `lastFinalizedBatch()` at the head synced to.
        l1: u64,
        /// The batches derived.
        derived: u64,
        /// The progress file.
        progress: String,
    },
    /// A contract call failed.
    #[error("reading the rollup at {rollup}: {reason}; is it the rollup's address on this chain?")]
    Contract {
        /// The rollup.
        rollup: Address,
        /// The error.
        reason: String,
    },
}

/// Through blocks where nothing happens, the progress is saved this often.
const SAVE_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// What the progress file holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    /// The rollup synced.
    pub rollup: Address,
    /// The first block not read yet.
    pub next_block: u64,
    /// Batches committed in the blocks read, not finalized in them.
    pub pending: Vec<PendingBatch>,
    /// The finalized batches applied.
    pub checkpoint: Checkpoint,
}

/// Syncs `rollup` through `provider` up to the current head, resuming from `progress_file` when it
/// exists (else from `start_block`, the deployment's block or 0), reading `page` blocks per log
/// query and reporting `(block reached, head)` after each page. Returns the derivation, once
/// its last batch is the one the rollup reports finalized at the head read.
pub async fn sync<P: Provider>(
    provider: P,
    rollup: Address,
    progress_file: &Path,
    start_block: u64,
    chain_id: u64,
    page: u64,
    mut report: impl FnMut(u64, u64),
) -> Result<Derivation, SyncError> {
    let (mut derivation, mut reader, mut next) = if progress_file.exists() {
        let p: Progress = read_json(progress_file)?;
        if p.rollup != rollup {
            return Err(SyncError::OtherRollup {
                file: p.rollup,
                given: rollup,
            });
        }
        let slots = p.checkpoint.chunk_slots;
        (
            Derivation::from_checkpoint(p.checkpoint)?,
            L1Reader::new(&provider, rollup, slots, page).with_pending(p.pending),
            p.next_block,
        )
    } else {
        let slots = Rollup::new(rollup, &provider)
            .CHUNK_SLOTS()
            .call()
            .await
            .map_err(contract_error(rollup))?;
        let slots = usize::try_from(slots).map_err(|_| SyncError::Contract {
            rollup,
            reason: "CHUNK_SLOTS out of range".into(),
        })?;
        (
            Derivation::new(Config {
                chain_id,
                chunk_slots: slots,
            }),
            L1Reader::new(&provider, rollup, slots, page),
            start_block,
        )
    };
    let head = reader.head().await?;
    let mut saved = std::time::Instant::now();
    while next <= head {
        let end = head.min(next.saturating_add(page.max(1) - 1));
        let pending = reader.pending();
        let batches = reader.finalized_batches(next, end).await?;
        let changed = !batches.is_empty() || reader.pending() != pending;
        for batch in batches {
            derivation.apply(batch)?;
        }
        next = end + 1;
        // The file holds every batch's data: rewrite it when this page changed something, at
        // the end, and once a minute through long stretches of empty blocks.
        if changed || next > head || saved.elapsed() > SAVE_EVERY {
            write_json(
                progress_file,
                &Progress {
                    rollup,
                    next_block: next,
                    pending: reader.pending(),
                    checkpoint: derivation.checkpoint(),
                },
            )?;
            saved = std::time::Instant::now();
        }
        report(end, head);
    }
    // An RPC that leaves logs out is caught here: the rollup's own count, at the same block.
    let on_l1 = Rollup::new(rollup, &provider)
        .lastFinalizedBatch()
        .block(head.into())
        .call()
        .await
        .map_err(contract_error(rollup))?;
    if on_l1 != U256::from(derivation.last_batch()) {
        return Err(SyncError::Incomplete {
            l1: u64::try_from(on_l1).unwrap_or(u64::MAX),
            derived: derivation.last_batch(),
            progress: progress_file.display().to_string(),
        });
    }
    Ok(derivation)
}

/// Wraps a failed call to `rollup`.
fn contract_error(rollup: Address) -> impl Fn(alloy::contract::Error) -> SyncError {
    move |e| SyncError::Contract {
        rollup,
        reason: e.to_string(),
    }
}
