//! State snapshots: the whole L2 state at one finalized batch, as the canonical list of its
//! accounts, so that a user can start from it instead of from genesis (and from data that may no
//! longer be served: blobs expire from beacon nodes after about 18 days).
//!
//! A snapshot is trusted for nothing but its root: reading one rebuilds the trees from its
//! accounts ([`Snapshot::state`]) and refuses it unless the root they give is the root it states,
//! and a sync that starts from it ([`crate::sync::sync_from`]) also refuses it unless that root
//! is the one L1 finalized for its batch (the batch's `BatchFinalized` log, at a block the sync
//! treats as settled). A snapshot with one wrong balance therefore never becomes a state, wherever
//! it came from. Anyone can write one (`escape snapshot export`) and serve it as a file or over
//! HTTP; the data directory keeps one of its own latest state (`state.json`) so that a command
//! after a sync rebuilds the trees instead of replaying the history.

use std::path::Path;

use alloy::primitives::Address;
use rollup_protocol::field::{self, Fr};
use rollup_protocol::state::AccountEntry;
use rollup_protocol::{Config, State};
use serde::{Deserialize, Serialize};

use crate::derive::{Base, Derivation, read_json, write_json};
use crate::store::Pin;

/// The largest snapshot read over HTTP: 4 GiB (about 10 million accounts).
pub const MAX_SNAPSHOT_BYTES: u64 = 4 << 30;

/// The snapshot format this client reads and writes.
pub const FORMAT: u32 = 1;

/// The L2 state at one finalized batch, and where L1 committed and finalized that batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// [`FORMAT`].
    pub format: u32,
    /// The L1 chain.
    pub l1_chain_id: u64,
    /// The rollup contract.
    pub rollup: Address,
    /// The L2 chain id.
    pub chain_id: u64,
    /// Slots per chunk of the deployment.
    pub chunk_slots: usize,
    /// The finalized batch whose state this is.
    pub batch: u64,
    /// The state root L1 finalized for it.
    #[serde(with = "field::serde_hex")]
    pub state_root: Fr,
    /// The block of the batch's last `commitBatch`: a sync from this snapshot reads L1 from there
    /// (a later batch may have been committed before this one was finalized).
    pub committed_at: u64,
    /// The block of its `finalizeBatch`, whose log carries the root.
    pub finalized_at: u64,
    /// Every existing account, by increasing id.
    pub accounts: Vec<AccountEntry>,
}

/// Why a snapshot was refused.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// It could not be read.
    #[error("{from}: {reason}")]
    Read {
        /// The file or URL.
        from: String,
        /// What failed.
        reason: String,
    },
    /// Another format.
    #[error(
        "the snapshot is of format {0}; this client reads format {FORMAT}: use a client of its version"
    )]
    Format(u32),
    /// Its account list is not canonical.
    #[error("the snapshot's accounts are malformed ({0}): it is corrupt")]
    Malformed(rollup_protocol::Error),
    /// Its accounts do not give the root it states.
    #[error(
        "the snapshot's accounts give the state root {derived}, not the root {stated} it states for batch {batch}: it is corrupt (a balance, a key or a nonce differs from the finalized state)"
    )]
    Root {
        /// The batch.
        batch: u64,
        /// The root its accounts give, hex.
        derived: String,
        /// The root it states, hex.
        stated: String,
    },
    /// There is no finalized batch to snapshot.
    #[error("nothing is finalized yet: there is no state to snapshot but genesis")]
    Genesis,
    /// The batch's L1 blocks were not recorded (a data directory synced before snapshots existed).
    #[error(
        "batch {0}'s commit and finalization blocks were not recorded by this data directory (synced by an older client): sync again into a new --data-dir"
    )]
    Unrecorded(u64),
}

impl Snapshot {
    /// The snapshot of `derivation`'s latest state, on the chain and rollup `pin` names.
    pub fn of(derivation: &Derivation, pin: &Pin) -> Result<Snapshot, SnapshotError> {
        let base = derivation.base();
        let (batch, state_root, committed_at, finalized_at) = match derivation.batches().last() {
            Some(b) => (b.index, b.state_root, b.committed_at, b.finalized_at),
            None => (base.batch, base.root, base.committed_at, base.finalized_at),
        };
        if batch == 0 {
            return Err(SnapshotError::Genesis);
        }
        if committed_at == 0 || finalized_at == 0 {
            return Err(SnapshotError::Unrecorded(batch));
        }
        let config = derivation.config();
        Ok(Snapshot {
            format: FORMAT,
            l1_chain_id: pin.l1_chain_id,
            rollup: pin.rollup,
            chain_id: config.chain_id,
            chunk_slots: config.chunk_slots,
            batch,
            state_root,
            committed_at,
            finalized_at,
            accounts: derivation.state().accounts(),
        })
    }

    /// The deployment parameters it states.
    pub fn config(&self) -> Config {
        Config {
            chain_id: self.chain_id,
            chunk_slots: self.chunk_slots,
        }
    }

    /// The state its accounts give, refused unless its root is the one the snapshot states (the
    /// caller compares that one with L1's).
    pub fn state(&self) -> Result<State, SnapshotError> {
        if self.format != FORMAT {
            return Err(SnapshotError::Format(self.format));
        }
        let state = State::from_accounts(self.config(), &self.accounts)
            .map_err(SnapshotError::Malformed)?;
        if state.root() != self.state_root {
            return Err(SnapshotError::Root {
                batch: self.batch,
                derived: field::to_hex(&state.root()),
                stated: field::to_hex(&self.state_root),
            });
        }
        Ok(state)
    }

    /// The base a derivation from this snapshot starts at.
    pub fn base(&self) -> Base {
        Base {
            batch: self.batch,
            root: self.state_root,
            committed_at: self.committed_at,
            finalized_at: self.finalized_at,
            accounts: self.accounts.clone(),
        }
    }

    /// Reads a snapshot from a file, or from an `http://` or `https://` URL.
    pub async fn fetch(from: &str) -> Result<Snapshot, SnapshotError> {
        let read = |reason: String| SnapshotError::Read {
            from: from.to_string(),
            reason,
        };
        if from.starts_with("http://") || from.starts_with("https://") {
            let body = crate::blobs::get_limited(
                &reqwest::Client::new(),
                from,
                MAX_SNAPSHOT_BYTES,
                std::time::Duration::from_secs(600),
            )
            .await
            .map_err(read)?
            .ok_or_else(|| read("not found (HTTP 404)".into()))?;
            serde_json::from_slice(&body).map_err(|e| read(format!("not a snapshot ({e})")))
        } else {
            Snapshot::read(Path::new(from))
        }
    }

    /// Reads a snapshot file.
    pub fn read(path: &Path) -> Result<Snapshot, SnapshotError> {
        read_json(path).map_err(|e| SnapshotError::Read {
            from: path.display().to_string(),
            reason: e.to_string(),
        })
    }

    /// Writes it to `path`, atomically.
    pub fn write(&self, path: &Path) -> Result<(), SnapshotError> {
        write_json(path, self).map_err(|e| SnapshotError::Read {
            from: path.display().to_string(),
            reason: e.to_string(),
        })
    }
}
