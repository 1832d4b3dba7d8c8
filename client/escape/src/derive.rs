//! Re-deriving the L2 state from finalized batches.
//!
//! A [`FinalizedBatch`] is what L1 holds for one batch: the chunks' pubdata (the
//! `commitBatch` calldata) and the state root `finalizeBatch` stored. A
//! [`Derivation`] applies them in order with the core's
//! `State::apply_records`, the same rules the chunk circuit proves (minus the
//! signatures, which the proof vouched for), and compares its root with L1's
//! after each batch. Corrupt or missing data is an error that leaves the
//! derivation as it was: it never holds a state L1 did not finalize.
//!
//! The checkpoint is the L1 data itself (JSON, written atomically): loading it
//! replays the batches, which is fast, and cannot disagree with the L1 data the
//! way a serialized state could.

use std::path::{Path, PathBuf};

use rollup_protocol::codec::{Record, decode_chunk};
use rollup_protocol::field::{self, Fr};
use rollup_protocol::state::AccountEntry;
use rollup_protocol::{Config, State};
use serde::{Deserialize, Serialize};

/// Why a batch could not be applied, or a checkpoint not read or written.
#[derive(Debug, thiserror::Error)]
pub enum DeriveError {
    /// Batches must arrive in order, without gaps or repeats.
    #[error("batch {got} arrived, batch {expected} was expected next: fetch the batches in order")]
    OutOfOrder {
        /// The next batch index.
        expected: u64,
        /// The one given.
        got: u64,
    },
    /// A chunk's pubdata is not `CHUNK_SLOTS` well-formed records.
    #[error(
        "batch {batch}, chunk {chunk}: the L1 data does not decode ({source}); the RPC returned corrupt calldata"
    )]
    Decode {
        /// The batch.
        batch: u64,
        /// The chunk within it.
        chunk: usize,
        /// The decoding error.
        source: rollup_protocol::Error,
    },
    /// The records do not follow from the state (they contradict what was proven).
    #[error(
        "batch {batch}: the records do not follow from the state ({source}); the L1 data is corrupt or incomplete"
    )]
    Replay {
        /// The batch.
        batch: u64,
        /// The rejected record and why.
        source: rollup_protocol::Error,
    },
    /// The derived root is not the one L1 finalized.
    #[error(
        "batch {batch}: derived root {derived} but L1 finalized {l1}; the L1 data is corrupt or incomplete"
    )]
    RootMismatch {
        /// The batch.
        batch: u64,
        /// The root the replay gave, hex.
        derived: String,
        /// The root L1 stored, hex.
        l1: String,
    },
    /// The base snapshot's account list is not canonical.
    #[error("the state snapshot of batch {batch} is malformed ({source})")]
    Base {
        /// Its batch.
        batch: u64,
        /// What is wrong.
        source: rollup_protocol::Error,
    },
    /// The checkpoint does not start where the base snapshot is.
    #[error(
        "the checkpoint starts after batch {checkpoint} but the base snapshot is of batch {base}: the data directory was edited or damaged; delete it and sync again"
    )]
    BaseMismatch {
        /// The checkpoint's base batch.
        checkpoint: u64,
        /// The base snapshot's batch.
        base: u64,
    },
    /// Reading or writing the checkpoint.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The checkpoint is not valid JSON of this format.
    #[error("{path}: not a checkpoint ({source}); delete it to sync from genesis")]
    Checkpoint {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: serde_json::Error,
    },
}

/// `Result` with a [`DeriveError`].
pub type Result<T> = std::result::Result<T, DeriveError>;

/// One finalized batch as L1 holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FinalizedBatch {
    /// The batch index (the first batch is 1).
    pub index: u64,
    /// Each chunk's pubdata, from the `commitBatch` calldata.
    #[serde(with = "hex_chunks")]
    pub chunks: Vec<Vec<u8>>,
    /// The state root L1 stored when the batch was finalized.
    #[serde(with = "field::serde_hex")]
    pub state_root: Fr,
    /// The block of its (last) `commitBatch`: where a sync that starts from a snapshot of this
    /// batch starts reading (0: not recorded, by a data directory older than snapshots).
    #[serde(default)]
    pub committed_at: u64,
    /// The block of its `finalizeBatch`, whose `BatchFinalized` log a snapshot's root is checked
    /// against (0: not recorded).
    #[serde(default)]
    pub finalized_at: u64,
}

pub(crate) mod hex_chunks {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    pub(crate) fn serialize<S: Serializer>(chunks: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(
            chunks
                .iter()
                .map(|c| format!("0x{}", alloy_primitives::hex::encode(c))),
        )
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|h| alloy_primitives::hex::decode(h).map_err(D::Error::custom))
            .collect()
    }
}

/// What a checkpoint holds: the deployment's parameters and the L1 data of every batch applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Checkpoint {
    /// Slots per chunk.
    pub chunk_slots: usize,
    /// The chain id signed into L2 transactions.
    pub chain_id: u64,
    /// The batch the derivation started from: 0 from genesis, else the batch of the state snapshot
    /// it was started from (`base.json` in the data directory).
    #[serde(default)]
    pub base: u64,
    /// The finalized batches after the base, in order.
    pub batches: Vec<FinalizedBatch>,
}

impl Checkpoint {
    /// The deployment parameters it was derived under.
    pub fn config(&self) -> Config {
        Config {
            chain_id: self.chain_id,
            chunk_slots: self.chunk_slots,
        }
    }

    /// The last batch it holds and the root L1 finalized for it (the base's without batches).
    pub fn last(&self, base: &Base) -> (u64, Fr) {
        self.batches
            .last()
            .map_or((base.batch, base.root), |b| (b.index, b.state_root))
    }

    /// Errs unless it continues from `base`.
    fn check_base(&self, base: &Base) -> Result<()> {
        if self.base != base.batch {
            return Err(DeriveError::BaseMismatch {
                checkpoint: self.base,
                base: base.batch,
            });
        }
        Ok(())
    }
}

/// Where a derivation starts: genesis, or a state snapshot at a finalized batch whose root was
/// checked against L1's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Base {
    /// The batch (0: genesis).
    pub batch: u64,
    /// Its state root.
    pub root: Fr,
    /// The block of the batch's commit (0 at genesis).
    pub committed_at: u64,
    /// The block of its finalization (0 at genesis).
    pub finalized_at: u64,
    /// Its state, as the canonical account list (empty at genesis).
    pub accounts: Vec<AccountEntry>,
}

impl Base {
    /// Genesis: no batch, every account empty.
    pub fn genesis(config: Config) -> Base {
        Base {
            batch: 0,
            root: State::new(config).root(),
            committed_at: 0,
            finalized_at: 0,
            accounts: Vec::new(),
        }
    }
}

/// The state derived from the finalized batches applied so far.
#[derive(Debug, Clone)]
pub struct Derivation {
    config: Config,
    base: Base,
    state: State,
    batches: Vec<FinalizedBatch>,
}

impl Derivation {
    /// From genesis, for a deployment with `chunk_slots` slots per chunk.
    pub fn new(config: Config) -> Derivation {
        Derivation {
            config,
            base: Base::genesis(config),
            state: State::new(config),
            batches: Vec::new(),
        }
    }

    /// From `base`, whose state is `state` (the caller checked its root against L1's).
    pub fn from_base(config: Config, base: Base, state: State) -> Derivation {
        Derivation {
            config,
            base,
            state,
            batches: Vec::new(),
        }
    }

    /// The deployment parameters.
    pub fn config(&self) -> Config {
        self.config
    }

    /// Where this derivation started.
    pub fn base(&self) -> &Base {
        &self.base
    }

    /// The derived state (as of the last finalized batch applied).
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The index of the last batch applied (the base's before any).
    pub fn last_batch(&self) -> u64 {
        self.batches.last().map_or(self.base.batch, |b| b.index)
    }

    /// The batches applied, in order.
    pub fn batches(&self) -> &[FinalizedBatch] {
        &self.batches
    }

    /// Applies the next finalized batch: all its records at once, then the root check. On any
    /// error the derivation is unchanged.
    pub fn apply(&mut self, batch: FinalizedBatch) -> Result<()> {
        let expected = self.last_batch() + 1;
        if batch.index != expected {
            return Err(DeriveError::OutOfOrder {
                expected,
                got: batch.index,
            });
        }
        let mut records: Vec<Record> = Vec::new();
        for (chunk, data) in batch.chunks.iter().enumerate() {
            let decoded = decode_chunk(data, self.config.chunk_slots).map_err(|source| {
                DeriveError::Decode {
                    batch: batch.index,
                    chunk,
                    source,
                }
            })?;
            records.extend(decoded);
        }
        // Atomic: on error the state is as before.
        self.state
            .apply_records(&records)
            .map_err(|source| DeriveError::Replay {
                batch: batch.index,
                source,
            })?;
        let derived = self.state.root();
        if derived != batch.state_root {
            // The records applied but lead elsewhere: rebuild the state L1 did finalize.
            self.state = Self::replay(self.config, &self.base, &self.batches)?;
            return Err(DeriveError::RootMismatch {
                batch: batch.index,
                derived: field::to_hex(&derived),
                l1: field::to_hex(&batch.state_root),
            });
        }
        self.batches.push(batch);
        Ok(())
    }

    fn replay(config: Config, base: &Base, batches: &[FinalizedBatch]) -> Result<State> {
        let state =
            State::from_accounts(config, &base.accounts).map_err(|source| DeriveError::Base {
                batch: base.batch,
                source,
            })?;
        if state.root() != base.root {
            return Err(DeriveError::RootMismatch {
                batch: base.batch,
                derived: field::to_hex(&state.root()),
                l1: field::to_hex(&base.root),
            });
        }
        let mut d = Derivation::from_base(config, base.clone(), state);
        for b in batches {
            d.apply(b.clone())?;
        }
        Ok(d.state)
    }

    /// The checkpoint of this derivation.
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            chunk_slots: self.config.chunk_slots,
            chain_id: self.config.chain_id,
            base: self.base.batch,
            batches: self.batches.clone(),
        }
    }

    /// Replays a checkpoint from genesis, checking every root again.
    pub fn from_checkpoint(cp: Checkpoint) -> Result<Derivation> {
        Derivation::from_checkpoint_on(Base::genesis(cp.config()), cp)
    }

    /// Replays a checkpoint from `base` (which must be the checkpoint's), checking every root again.
    pub fn from_checkpoint_on(base: Base, cp: Checkpoint) -> Result<Derivation> {
        cp.check_base(&base)?;
        let config = cp.config();
        let state = Self::replay(config, &base, &[])?;
        let mut d = Derivation::from_base(config, base, state);
        for b in cp.batches {
            d.apply(b)?;
        }
        Ok(d)
    }

    /// The derivation of a checkpoint whose state after its last batch is already known: `state`
    /// (rebuilt from a cached account list), taken only if its root is the root L1 finalized for
    /// that batch, as the checkpoint recorded it. Nothing is replayed, so this takes the time of
    /// rebuilding the trees, not of the history.
    pub fn resume(base: Base, cp: Checkpoint, state: State) -> Result<Derivation> {
        cp.check_base(&base)?;
        let (batch, root) = cp.last(&base);
        if state.root() != root {
            return Err(DeriveError::RootMismatch {
                batch,
                derived: field::to_hex(&state.root()),
                l1: field::to_hex(&root),
            });
        }
        Ok(Derivation {
            config: cp.config(),
            base,
            state,
            batches: cp.batches,
        })
    }

    /// Writes the checkpoint (atomically: a temporary file renamed into place).
    pub fn save(&self, path: &Path) -> Result<()> {
        write_json(path, &self.checkpoint())
    }

    /// Reads a checkpoint and replays it, checking every root again.
    pub fn load(path: &Path) -> Result<Derivation> {
        Derivation::from_checkpoint(read_json(path)?)
    }
}

/// Writes `value` as JSON to `path` atomically and durably ([`rollup_durable`]): an interrupted
/// write never leaves a truncated file, and two writers never share a temporary file.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let io = |source| DeriveError::Io {
        path: path.to_path_buf(),
        source,
    };
    let text = serde_json::to_string(value).map_err(|source| DeriveError::Checkpoint {
        path: path.to_path_buf(),
        source,
    })?;
    rollup_durable::write(path, text).map_err(io)
}

/// Reads JSON written by [`write_json`].
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|source| DeriveError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| DeriveError::Checkpoint {
        path: path.to_path_buf(),
        source,
    })
}
