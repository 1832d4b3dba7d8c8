//! Syncing from L1 with progress saved on disk: the blocks are read page by page, the batches
//! finalized in them applied, and after every page the derivation, the batches committed but not
//! yet finalized and the next block are written atomically to one file. An interrupted sync
//! resumes from that file and never applies a batch twice or skips one.

use std::path::Path;

use alloy::primitives::Address;
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
    /// A contract call failed.
    #[error("reading the rollup at {rollup}: {reason}; is it the rollup's address on this chain?")]
    Contract {
        /// The rollup.
        rollup: Address,
        /// The error.
        reason: String,
    },
}

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
/// query and reporting `(block reached, head)` after each page. Returns the derivation.
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
            .map_err(|e| SyncError::Contract {
                rollup,
                reason: e.to_string(),
            })?;
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
    while next <= head {
        let end = head.min(next.saturating_add(page.max(1) - 1));
        for batch in reader.finalized_batches(next, end).await? {
            derivation.apply(batch)?;
        }
        next = end + 1;
        write_json(
            progress_file,
            &Progress {
                rollup,
                next_block: next,
                pending: reader.pending(),
                checkpoint: derivation.checkpoint(),
            },
        )?;
        report(end, head);
    }
    Ok(derivation)
}
