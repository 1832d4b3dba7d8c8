//! The proof queue as the coordinator uses it, when `queue_url` is configured: tasks go to the
//! PostgreSQL queue (`rollup-prover-queue`) for prover workers on any number of machines
//! (`prover-worker`), and their results come back to be checked here before they are accepted
//! ([`crate::coordinator`]).
//!
//! A task's id in the queue is its kind, its index and a digest of its bytes and key
//! ([`task_id`]): stable across restarts of the operator (enqueueing it again is a no-op, and a
//! result stored while the operator was down is found), shared by two coordinators that race for
//! the same task (one result between them), and new whenever the task changes (a batch reverted
//! and proposed again, a key replaced by governance), so that an old result is never taken for a
//! new task.

use rollup_prover::ProofTask;
use rollup_prover_queue::{Link, NewTask, TaskState};

use crate::error::{Error, Result};

/// Attempts (leases, failures and rejections together) at one task before the queue parks it; the
/// operator then proves it in its own process.
pub const MAX_ATTEMPTS: u32 = 5;

/// What [`Remote::poll`] found.
#[derive(Debug)]
pub enum Polled {
    /// Queued or being proven.
    Pending,
    /// A worker's result, not checked yet.
    Result {
        /// The artifact's bytes (`rollup_prover::wire::encode_artifact`).
        artifact: Vec<u8>,
        /// The worker that made it.
        worker: String,
        /// How long it took: from the worker's lease to its result by the database's clock, not
        /// the worker's word (which stands in only where the database has no lease time).
        seconds: f64,
    },
    /// Parked after its last attempt, with the last error.
    Parked {
        /// Attempts taken.
        attempts: u32,
        /// The last failure, expiry or rejection, with the worker it came from.
        error: String,
    },
    /// The queue does not hold it (a database emptied or replaced): it must be enqueued again.
    Missing,
}

/// The id of `task` in the queue, made with key `circuit`, as `input` (its wire bytes).
pub fn task_id(task: &ProofTask, circuit: &[u8; 32], input: &[u8]) -> String {
    let mut bytes = circuit.to_vec();
    bytes.extend_from_slice(input);
    let digest = alloy_primitives::keccak256(&bytes);
    format!(
        "{}-{}-{}",
        task.kind().name(),
        task.index(),
        alloy_primitives::hex::encode(digest)
    )
}

/// Attempts at a shadow copy: shadow workers are on trial, their failures are reported, not
/// retried at length.
pub const SHADOW_ATTEMPTS: u32 = 2;

/// The proof queue at a URL.
#[derive(Debug)]
pub struct Remote {
    link: Link,
    shadow: bool,
}

fn queue_error(context: &str, e: rollup_prover_queue::Error) -> Error {
    Error::Queue(format!("{context}: {e}"))
}

impl Remote {
    /// The queue at `url` (a PostgreSQL URL); nothing is connected until it is used.
    pub fn new(url: &str) -> Remote {
        Remote {
            link: Link::new(url),
            shadow: false,
        }
    }

    /// The same, enqueueing a shadow copy of every task ([`Remote::enqueue_shadow`]).
    pub fn with_shadow(mut self) -> Remote {
        self.shadow = true;
        self
    }

    /// Whether it makes shadow copies.
    pub fn shadow(&self) -> bool {
        self.shadow
    }

    /// Connects (applying the schema's migrations): a wrong URL is an error at start, not at the
    /// first proof.
    pub async fn check(&self) -> Result<()> {
        self.link
            .get()
            .await
            .map(|_| ())
            .map_err(|e| queue_error("connecting to the proof queue", e))
    }

    async fn with<T, F, Fut>(&self, context: &str, op: F) -> Result<T>
    where
        F: FnOnce(std::sync::Arc<rollup_prover_queue::Queue>) -> Fut,
        Fut: std::future::Future<Output = rollup_prover_queue::Result<T>>,
    {
        // A connection that hangs (a half-open TCP link) is given up like a lost one.
        let limit = rollup_prover_queue::STATEMENT_TIMEOUT * 2;
        let attempt = async {
            let q = self.link.get().await.map_err(|e| self.lost(context, e))?;
            op(q).await.map_err(|e| self.lost(context, e))
        };
        match tokio::time::timeout(limit, attempt).await {
            Ok(r) => r,
            Err(_) => {
                self.link.forget();
                Err(Error::QueueUnreachable(format!(
                    "{context}: no answer in {limit:?}"
                )))
            }
        }
    }

    fn lost(&self, context: &str, e: rollup_prover_queue::Error) -> Error {
        if e.is_connection() {
            self.link.forget();
            return Error::QueueUnreachable(format!("{context}: {e}"));
        }
        queue_error(context, e)
    }

    /// Enqueues `task` for key `circuit` (idempotent); returns its id.
    pub async fn enqueue(&self, task: &ProofTask, circuit: &[u8; 32]) -> Result<String> {
        let input = rollup_prover::wire::encode_task(task)?;
        let id = task_id(task, circuit, &input);
        let new = NewTask {
            id: id.clone(),
            kind: task.kind().name().to_string(),
            circuit: alloy_primitives::hex::encode(circuit),
            input,
            max_attempts: MAX_ATTEMPTS,
        };
        let fresh = self
            .with("enqueueing a proof task", |q| async move {
                q.enqueue(&new).await
            })
            .await?;
        tracing::debug!(task = %id, fresh, "enqueued");
        Ok(id)
    }

    /// Enqueues a shadow copy of `task` (idempotent): the same input under the id `shadow-<id>`
    /// and the type [`rollup_prover_queue::shadow_kind`], for shadow workers only; returns its id.
    pub async fn enqueue_shadow(&self, task: &ProofTask, circuit: &[u8; 32]) -> Result<String> {
        let input = rollup_prover::wire::encode_task(task)?;
        let id = format!("shadow-{}", task_id(task, circuit, &input));
        let new = NewTask {
            id: id.clone(),
            kind: rollup_prover_queue::shadow_kind(task.kind().name()),
            circuit: alloy_primitives::hex::encode(circuit),
            input,
            max_attempts: SHADOW_ATTEMPTS,
        };
        self.with("enqueueing a shadow copy", |q| async move {
            q.enqueue(&new).await
        })
        .await?;
        Ok(id)
    }

    /// Where each of tasks `ids` is, in one statement.
    pub async fn poll_all(
        &self,
        ids: &[String],
    ) -> Result<std::collections::HashMap<String, Polled>> {
        if ids.is_empty() {
            return Ok(std::collections::HashMap::new());
        }
        let mut found = self
            .with("reading proof tasks and results", |q| async move {
                q.statuses(ids).await
            })
            .await?;
        Ok(ids
            .iter()
            .map(|id| {
                let polled = match found.remove(id) {
                    None => Polled::Missing,
                    Some((_, Some(r))) => Polled::Result {
                        artifact: r.proof,
                        worker: r.worker,
                        seconds: r.lease_seconds.unwrap_or(r.seconds),
                    },
                    Some((t, None)) if t.state == TaskState::Parked => Polled::Parked {
                        attempts: t.attempts,
                        error: t.last_error.unwrap_or_default(),
                    },
                    Some(_) => Polled::Pending,
                };
                (id.clone(), polled)
            })
            .collect())
    }

    /// Rejects `worker`'s result `proof` (the bytes checked) of task `id` for `reason`: the task is
    /// queued again (or parked, the rejection counting as an attempt).
    pub async fn reject(&self, id: &str, worker: &str, proof: &[u8], reason: &str) -> Result<()> {
        self.with("rejecting a proof", |q| async move {
            q.reject(id, worker, proof, reason).await
        })
        .await?;
        Ok(())
    }

    /// Publishes the queue's counts as metrics: tasks per state, and the oldest lease's age.
    pub async fn report(&self) -> Result<()> {
        let stats = self
            .with(
                "reading the queue's counts",
                |q| async move { q.stats().await },
            )
            .await?;
        for (state, n) in [
            ("queued", stats.queued),
            ("leased", stats.leased),
            ("done", stats.done),
            ("parked", stats.parked),
        ] {
            metrics::gauge!("operator_queue_tasks", "state" => state).set(n as f64);
        }
        metrics::gauge!("operator_queue_oldest_lease_seconds").set(stats.oldest_lease_seconds);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rollup_prover::ProofKind;

    /// An id names the task's kind and index, and changes with its bytes and its key.
    #[test]
    fn a_task_id_changes_with_the_task_and_the_key() {
        let task = ProofTask::Compress {
            index: 7,
            batch: Box::new(rollup_prover::ProofArtifact {
                kind: ProofKind::RecursiveBatch,
                public_inputs: Vec::new(),
                proof: vec![1, 2, 3],
                vk_digest: [0; 32],
            }),
            expected: [rollup_protocol::Fr::from(0u64); rollup_prover::batch::BATCH_INPUTS],
        };
        let a = task_id(&task, &[1; 32], b"input");
        assert!(a.starts_with("compressed-7-"), "{a}");
        assert_eq!(a, task_id(&task, &[1; 32], b"input"));
        assert_ne!(a, task_id(&task, &[2; 32], b"input"));
        assert_ne!(a, task_id(&task, &[1; 32], b"other"));
    }
}
