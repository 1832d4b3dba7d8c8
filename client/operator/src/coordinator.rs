//! The proof coordinator: it owns the proving pipeline's state, apart from the sequencer.
//!
//! The sequencer hands it every sealed chunk as a [`ProofTask`]; the coordinator runs tasks on
//! its [`Backend`] (in this process today), checks each [`ProofArtifact`] before accepting it
//! (the public inputs the core computed, the backend's verifying key, a native verification),
//! stores it, and gives the submitter a batch's artifacts once all of them are proven.
//!
//! A task moves `Queued → Running → Proven`, or `Running → Failed` (retried from `Failed` on the
//! next tick, up to [`MAX_ATTEMPTS`] times; then the operator stops with the last error rather
//! than stall silently). Only `Proven` is stored: after a crash, every sealed chunk without a
//! stored artifact is queued again ([`crate::sequencer::Sequencer::restore`] re-submits them),
//! so nothing is lost and nothing is proven twice once stored.
//!
//! An aggregation stage adds a task kind (a batch's chunk artifacts in, one artifact out) here and
//! in the backend; a remote worker or a shadow prover is another [`Backend`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use rollup_protocol::field;
use rollup_prover::{Backend, ProofArtifact, ProofKind, ProofTask};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::store::{PROOFS, Store};

/// Attempts at one task before the operator gives up and stops.
pub const MAX_ATTEMPTS: u32 = 3;

/// Where a task is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    /// Waiting for the backend.
    Queued,
    /// Being proven.
    Running,
    /// Its artifact is stored.
    Proven,
    /// Its last attempt failed (retried while attempts remain).
    Failed {
        /// Attempts made.
        attempts: u32,
        /// The last attempt's error.
        error: String,
    },
}

/// How many tasks are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TaskCounts {
    /// Waiting.
    pub queued: usize,
    /// Being proven.
    pub running: usize,
    /// Failed, to be retried.
    pub failed: usize,
    /// Proven in this run of the operator.
    pub proven: usize,
}

/// An artifact as stored (the `proofs` table, by chunk index): hex strings, so that the database
/// stays readable with any JSON tool.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredArtifact {
    /// Absent in rows written before kinds were stored: those are all L1 chunk proofs.
    #[serde(default = "chunk_kind")]
    kind: ProofKind,
    proof: String,
    public_inputs: Vec<String>,
    vk_digest: String,
}

fn chunk_kind() -> ProofKind {
    ProofKind::Chunk
}

/// What the `proofs` table may hold: an artifact, or the bare proof (hex) that data directories
/// written before the coordinator hold, whose inputs and key were not recorded.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Stored {
    Artifact(StoredArtifact),
    Legacy(String),
}

/// What the coordinator knows of one chunk's task. A proven task keeps only its state and timing
/// (a few dozen bytes: the chunk and its witnesses are dropped), for `l2_getChunks` and the
/// finalization latency, as long as the operator runs.
#[derive(Debug)]
struct Entry {
    /// The task, until it is proven.
    task: Option<ProofTask>,
    state: TaskState,
    attempts: u32,
    /// When it was proven and how long that took (this run only).
    proven: Option<(Instant, f64)>,
}

/// The coordinator.
#[derive(Debug)]
pub struct Coordinator {
    store: Arc<Store>,
    backend: Arc<dyn Backend>,
    tasks: Mutex<BTreeMap<u64, Entry>>,
}

fn decode_artifact(stored: Stored) -> Result<ProofArtifact> {
    let hex = |h: &str| {
        alloy_primitives::hex::decode(h).map_err(|e| Error::Store(format!("a stored proof: {e}")))
    };
    let s = match stored {
        Stored::Artifact(s) => s,
        Stored::Legacy(proof) => {
            return Ok(ProofArtifact {
                kind: ProofKind::Chunk,
                public_inputs: Vec::new(),
                proof: hex(&proof)?,
                vk_digest: [0; 32],
            });
        }
    };
    let digest: [u8; 32] = hex(&s.vk_digest)?
        .try_into()
        .map_err(|_| Error::Store("stored proof: a key digest is 32 bytes".into()))?;
    Ok(ProofArtifact {
        kind: s.kind,
        public_inputs: s
            .public_inputs
            .iter()
            .map(|x| field::from_hex(x))
            .collect::<rollup_protocol::Result<_>>()?,
        proof: hex(&s.proof)?,
        vk_digest: digest,
    })
}

impl Coordinator {
    /// A coordinator proving with `backend`, over the artifacts already in `store`.
    pub fn new(store: Arc<Store>, backend: Arc<dyn Backend>) -> Coordinator {
        Coordinator {
            store,
            backend,
            tasks: Mutex::new(BTreeMap::new()),
        }
    }

    /// The backend it proves with.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    fn tasks(&self) -> MutexGuard<'_, BTreeMap<u64, Entry>> {
        // A panic while the lock was held cannot leave the map half-updated (every update is one
        // assignment), so a poisoned lock is still usable.
        self.tasks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Queues `task` unless its artifact is already stored (after a restart) or it is known.
    pub fn submit(&self, task: ProofTask) -> Result<()> {
        let index = task.index();
        if self.tasks().contains_key(&index) || self.artifact(index)?.is_some() {
            return Ok(());
        }
        self.tasks().insert(
            index,
            Entry {
                task: Some(task),
                state: TaskState::Queued,
                attempts: 0,
                proven: None,
            },
        );
        Ok(())
    }

    /// Queues sealed chunk `index` ([`Coordinator::submit`]): what the sequencer hands on.
    pub fn submit_chunk(&self, index: u64, chunk: rollup_protocol::Chunk) -> Result<()> {
        self.submit(ProofTask::Chunk {
            index,
            chunk: Box::new(chunk),
        })
    }

    /// Proves the lowest queued (or failed) task, if any; returns whether it proved one. The
    /// backend runs off the async runtime. A task that failed [`MAX_ATTEMPTS`] times is an error.
    pub async fn run_next(&self) -> Result<bool> {
        let next = self.tasks().iter_mut().find_map(|(i, e)| {
            let runnable = matches!(e.state, TaskState::Queued | TaskState::Failed { .. });
            match (&e.task, runnable) {
                (Some(task), true) => {
                    e.state = TaskState::Running;
                    e.attempts += 1;
                    Some((*i, task.clone(), e.attempts))
                }
                _ => None,
            }
        });
        let Some((index, task, attempts)) = next else {
            return Ok(false);
        };
        let start = Instant::now();
        let backend = self.backend.clone();
        let expected = task.public_inputs();
        let result = tokio::task::spawn_blocking(move || -> Result<ProofArtifact> {
            let artifact = backend.prove(&task)?;
            if artifact.public_inputs != expected {
                return Err(Error::Proof(
                    "the artifact proves other public inputs than the task's".into(),
                ));
            }
            if !backend.verify(&artifact)? {
                return Err(Error::Proof(
                    "the artifact does not verify against the backend's key".into(),
                ));
            }
            Ok(artifact)
        })
        .await
        .map_err(Error::from)
        .and_then(|r| r);
        let seconds = start.elapsed().as_secs_f64();
        match result {
            Ok(artifact) => {
                self.store_artifact(index, &artifact)?;
                if let Some(e) = self.tasks().get_mut(&index) {
                    e.task = None;
                    e.state = TaskState::Proven;
                    e.proven = Some((Instant::now(), seconds));
                }
                tracing::info!(
                    chunk = index,
                    seconds,
                    backend = self.backend.name(),
                    "chunk proven"
                );
                metrics::histogram!("operator_prove_seconds").record(seconds);
                Ok(true)
            }
            Err(err) => {
                metrics::counter!("operator_prove_failures").increment(1);
                tracing::warn!(chunk = index, attempts, error = %err, "proving failed");
                if let Some(e) = self.tasks().get_mut(&index) {
                    e.state = TaskState::Failed {
                        attempts,
                        error: err.to_string(),
                    };
                }
                if attempts >= MAX_ATTEMPTS {
                    return Err(Error::Proof(format!(
                        "chunk {index}: {attempts} attempts failed, the last with: {err}; if it can never be proven, revert its batch and drop the transaction that breaks it (`operator revert`, docs/operator.md)"
                    )));
                }
                Ok(false)
            }
        }
    }

    fn store_artifact(&self, index: u64, a: &ProofArtifact) -> Result<()> {
        let stored = StoredArtifact {
            kind: a.kind,
            proof: alloy_primitives::hex::encode(&a.proof),
            public_inputs: a.public_inputs.iter().map(field::to_hex).collect(),
            vk_digest: alloy_primitives::hex::encode(a.vk_digest),
        };
        self.store.write(|w| w.put(PROOFS, index, &stored))
    }

    /// The stored artifact of chunk `index`.
    pub fn artifact(&self, index: u64) -> Result<Option<ProofArtifact>> {
        self.store
            .get::<Stored>(PROOFS, index)?
            .map(decode_artifact)
            .transpose()
    }

    /// The artifacts of chunks `first..first + n`, once every one is stored.
    pub fn artifacts(&self, first: u64, n: u64) -> Result<Option<Vec<ProofArtifact>>> {
        let mut out = Vec::new();
        for c in first..first + n {
            match self.artifact(c)? {
                Some(a) => out.push(a),
                None => return Ok(None),
            }
        }
        Ok(Some(out))
    }

    /// When the last of chunks `first..first + n` was proven, if all were in this run.
    pub fn ready_at(&self, first: u64, n: u64) -> Option<Instant> {
        let tasks = self.tasks();
        (first..first + n)
            .map(|c| tasks.get(&c).and_then(|e| e.proven.map(|(t, _)| t)))
            .collect::<Option<Vec<_>>>()?
            .into_iter()
            .max()
    }

    /// Seconds chunk `index`'s proof took, if proven in this run.
    pub fn prove_seconds(&self, index: u64) -> Option<f64> {
        self.tasks()
            .get(&index)
            .and_then(|e| e.proven.map(|(_, s)| s))
    }

    /// Where chunk `index`'s task is (`None`: not known to this run, proven before it).
    pub fn state(&self, index: u64) -> Option<TaskState> {
        self.tasks().get(&index).map(|e| e.state.clone())
    }

    /// How many tasks are in each state.
    pub fn counts(&self) -> TaskCounts {
        let mut c = TaskCounts::default();
        for e in self.tasks().values() {
            match e.state {
                TaskState::Queued => c.queued += 1,
                TaskState::Running => c.running += 1,
                TaskState::Failed { .. } => c.failed += 1,
                TaskState::Proven => c.proven += 1,
            }
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stored artifacts keep their kind; rows written before kinds were stored are L1 chunk proofs.
    #[test]
    fn a_stored_artifact_keeps_its_kind() -> std::result::Result<(), Box<dyn std::error::Error>> {
        for kind in [
            ProofKind::Chunk,
            ProofKind::RecursiveChunk,
            ProofKind::Batch,
        ] {
            let stored = StoredArtifact {
                kind,
                proof: "00ff".into(),
                public_inputs: vec![field::to_hex(&rollup_protocol::Fr::from(7u64))],
                vk_digest: alloy_primitives::hex::encode([3u8; 32]),
            };
            let row: Stored = serde_json::from_str(&serde_json::to_string(&stored)?)?;
            let artifact = decode_artifact(row)?;
            assert_eq!(artifact.kind, kind);
            assert_eq!(artifact.proof, vec![0, 0xff]);
            assert_eq!(artifact.vk_digest, [3u8; 32]);
        }
        let old = r#"{"proof":"00ff","publicInputs":[],"vkDigest":"0303030303030303030303030303030303030303030303030303030303030303"}"#;
        let artifact = decode_artifact(serde_json::from_str(old)?)?;
        assert_eq!(artifact.kind, ProofKind::Chunk);
        Ok(())
    }
}
