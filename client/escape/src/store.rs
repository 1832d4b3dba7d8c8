//! The data directory: what a sync pinned (L1 chain, rollup, its deployment block and code), how far
//! it read (the last block's number and hash), the points it can roll back to after a reorg, and
//! the finalized batches applied. One process at a time holds it (an OS lock on `lock`), and every
//! file is written atomically and durably (`rollup-durable`: fsync, then rename).
//!
//! Two files: `batches.json`, the L1 data of every batch applied (rewritten only when a batch is
//! added or removed), and `progress.json`, everything else (rewritten after every page). The
//! batches are written first; a crash between the two writes leaves more batches than the progress
//! counts, and loading keeps only the counted ones, so the two never disagree.
//!
//! Two more, both state snapshots ([`crate::snapshot`]): `base.json`, the snapshot a first sync
//! started from (absent for a sync from genesis; `batches.json` then holds the batches after it),
//! and `state.json`, the latest state of the last sync, which [`DataDir::derivation`] rebuilds
//! instead of replaying every batch when its root is the one L1 finalized for the last batch.

use std::fs::File;
use std::path::{Path, PathBuf};

use alloy::primitives::{Address, B256};
use serde::{Deserialize, Serialize};

use crate::derive::{Base, Checkpoint, Derivation, DeriveError, read_json, write_json};
use crate::l1::PendingBatch;
use crate::snapshot::Snapshot;

/// Why the data directory could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process holds the directory.
    #[error(
        "{0} is in use by another `escape` command: wait for it to finish, or use another --data-dir"
    )]
    Locked(PathBuf),
    /// A file could not be read, written or parsed.
    #[error(transparent)]
    File(#[from] DeriveError),
    /// The lock file could not be opened.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The snapshot the directory started from cannot be read.
    #[error(
        "{dir}: the state snapshot this data directory started from is unreadable ({reason}): delete the directory and sync again (from genesis, or from a snapshot)"
    )]
    Base {
        /// The directory.
        dir: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The two files disagree in a way no crash produces.
    #[error(
        "{dir}: the progress counts {counted} batches but batches.json holds {held}: the directory was edited or damaged; delete it and sync again"
    )]
    Damaged {
        /// The directory.
        dir: PathBuf,
        /// Batches the progress counts.
        counted: u64,
        /// Batches the file holds.
        held: u64,
    },
}

/// What the first sync pinned: every later command checks it before it trusts an RPC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pin {
    /// The L1 chain id (signing uses it; an RPC reporting another is refused).
    pub l1_chain_id: u64,
    /// The rollup contract.
    pub rollup: Address,
    /// The keccak hash of its runtime code.
    pub code_hash: B256,
    /// The block it was deployed in (`DEPLOYMENT_BLOCK()`): where reading starts.
    pub deployment_block: u64,
    /// The first block read (the deployment block unless `--from-block` said otherwise).
    pub start_block: u64,
}

/// A block by number and hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockRef {
    /// Its number.
    pub number: u64,
    /// Its hash.
    pub hash: B256,
}

/// A point a sync can roll back to: after reading up to `tip`, this many batches were applied and
/// these were committed but not finalized.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Mark {
    /// The last block read.
    pub tip: BlockRef,
    /// Finalized batches applied.
    pub batches: u64,
    /// Batches committed, not finalized.
    pub pending: Vec<PendingBatch>,
}

/// How many rollback points are kept (the newest ones).
pub const MARKS: usize = 32;

/// `progress.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    /// What was pinned at the first sync.
    pub pin: Pin,
    /// The L2 chain id and slots per chunk (the derivation's configuration).
    pub chunk_slots: usize,
    /// The L2 chain id.
    pub chain_id: u64,
    /// The last block read, none before the first page.
    pub tip: Option<BlockRef>,
    /// Batches committed in the blocks read, not finalized in them.
    pub pending: Vec<PendingBatch>,
    /// Finalized batches applied (the first this many of `batches.json`).
    pub batches: u64,
    /// Rollback points, oldest first.
    pub marks: Vec<Mark>,
    /// The tokens registered at the tip (index = token id; 0 is ETH).
    pub tokens: Vec<Address>,
    /// Where the last sync's closing check passed (L1's own state confirmed the derivation): how
    /// far back an RPC caught contradicting itself sends the progress.
    #[serde(default)]
    pub verified: Option<Mark>,
}

/// An open, locked data directory.
#[derive(Debug)]
pub struct DataDir {
    path: PathBuf,
    _lock: File,
}

impl DataDir {
    /// Opens (creating it if needed) and locks `path`; fails at once if another process holds it.
    pub fn open(path: &Path) -> Result<DataDir, StoreError> {
        let io = |source| StoreError::Io {
            path: path.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(path).map_err(io)?;
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path.join("lock"))
            .map_err(io)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(StoreError::Locked(path.to_path_buf()));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        Ok(DataDir {
            path: path.to_path_buf(),
            _lock: lock,
        })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn progress_file(&self) -> PathBuf {
        self.path.join("progress.json")
    }

    fn batches_file(&self) -> PathBuf {
        self.path.join("batches.json")
    }

    /// The progress and the batches it counts, if a sync has run here.
    pub fn load(&self) -> Result<Option<(Progress, Checkpoint)>, StoreError> {
        if !self.progress_file().exists() {
            return Ok(None);
        }
        let progress: Progress = read_json(&self.progress_file())?;
        let mut batches: Checkpoint = if self.batches_file().exists() {
            read_json(&self.batches_file())?
        } else {
            Checkpoint {
                chunk_slots: progress.chunk_slots,
                chain_id: progress.chain_id,
                base: 0,
                batches: Vec::new(),
            }
        };
        let held = batches.batches.last().map_or(batches.base, |b| b.index);
        if held < progress.batches {
            return Err(StoreError::Damaged {
                dir: self.path.clone(),
                counted: progress.batches,
                held,
            });
        }
        batches.batches.retain(|b| b.index <= progress.batches);
        Ok(Some((progress, batches)))
    }

    fn base_file(&self) -> PathBuf {
        self.path.join("base.json")
    }

    fn latest_file(&self) -> PathBuf {
        self.path.join("state.json")
    }

    /// Where the derivation of `checkpoint` starts: genesis, or the snapshot a first sync started
    /// from (`base.json`).
    pub fn base(&self, checkpoint: &Checkpoint) -> Result<Base, StoreError> {
        if checkpoint.base == 0 {
            return Ok(Base::genesis(checkpoint.config()));
        }
        // Whether it is the checkpoint's base, the derivation checks (`DeriveError::BaseMismatch`).
        let snapshot: Snapshot = read_json(&self.base_file()).map_err(|e| StoreError::Base {
            dir: self.path.clone(),
            reason: e.to_string(),
        })?;
        Ok(snapshot.base())
    }

    /// Records the snapshot a first sync starts from.
    pub fn save_base(&self, snapshot: &Snapshot) -> Result<(), StoreError> {
        Ok(write_json(&self.base_file(), snapshot)?)
    }

    /// Removes everything a sync wrote (the lock stays): a first sync from a snapshot that another
    /// RPC then contradicted leaves nothing behind.
    pub fn reset(&self) -> Result<(), StoreError> {
        for file in [
            self.progress_file(),
            self.batches_file(),
            self.base_file(),
            self.latest_file(),
        ] {
            match std::fs::remove_file(&file) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(StoreError::Io { path: file, source }),
            }
        }
        Ok(())
    }

    /// Keeps `snapshot` as the latest state (`state.json`).
    pub fn save_latest(&self, snapshot: &Snapshot) -> Result<(), StoreError> {
        Ok(write_json(&self.latest_file(), snapshot)?)
    }

    /// The derivation of `checkpoint`: rebuilt from `state.json` when that is the state after the
    /// checkpoint's last batch (its accounts give the root L1 finalized for it, as the checkpoint
    /// recorded it), which takes the time of rebuilding the trees; otherwise replayed from the
    /// base, every root checked again.
    pub fn derivation(&self, checkpoint: Checkpoint) -> Result<Derivation, StoreError> {
        let base = self.base(&checkpoint)?;
        if let Ok(latest) = read_json::<Snapshot>(&self.latest_file())
            && (latest.batch, latest.state_root) == checkpoint.last(&base)
            && latest.config() == checkpoint.config()
            && let Ok(state) = latest.state()
        {
            return Ok(Derivation::resume(base, checkpoint, state)?);
        }
        Ok(Derivation::from_checkpoint_on(base, checkpoint)?)
    }

    /// Saves the progress, and first the batches when they changed.
    pub fn save(
        &self,
        progress: &Progress,
        batches: Option<&Checkpoint>,
    ) -> Result<(), StoreError> {
        if let Some(b) = batches {
            write_json(&self.batches_file(), b)?;
        }
        write_json(&self.progress_file(), progress)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_opener_is_refused_while_the_first_holds_the_directory() -> Result<(), StoreError> {
        let dir = std::env::temp_dir().join(format!("escape-lock-{}", std::process::id()));
        let first = DataDir::open(&dir)?;
        let second = DataDir::open(&dir);
        assert!(matches!(second, Err(StoreError::Locked(_))), "{second:?}");
        drop(first);
        assert!(DataDir::open(&dir).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    }
}
