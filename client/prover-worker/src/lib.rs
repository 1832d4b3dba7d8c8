//! A prover worker: it leases proof tasks from the PostgreSQL proof queue (`rollup-prover-queue`),
//! proves each with its [`Backend`] and uploads the proof, one task at a time, until told to stop.
//! It knows nothing of L1: what to prove comes from the queue as a [`ProofTask`]
//! (`rollup_prover::wire`), and the coordinator that enqueued it verifies the proof before it
//! accepts it.
//!
//! - **What it serves.** A worker declares the task kinds it serves and, for each, the digest of
//!   the verifying key it proves with; it leases only tasks that name one of those keys, so a
//!   worker with other keys (another SRS, another chunk size, an older circuit) never takes a task
//!   it would prove wrongly.
//! - **Leases.** While a proof runs (on a blocking thread), the lease is renewed every
//!   [`Settings::heartbeat`]. A worker that dies stops renewing it, and the task goes to another
//!   worker when the lease expires. A worker told to stop gives its task back at once
//!   ([`rollup_prover_queue::Queue::release`]), without counting the attempt, and abandons the proof.
//! - **Failures.** A task that does not decode, names a key the worker does not hold, or whose
//!   proof fails is reported as failed ([`rollup_prover_queue::Queue::fail`]): it is retried by
//!   the next worker, and parked after its last attempt.
//! - **A lost database** (a restart, the network) is waited out: the worker reconnects with
//!   backoff, and a proof made meanwhile is uploaded once it is back.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rollup_prover::{Backend, ProofKind, ProofTask};
use rollup_prover_queue::{Completion, Lease, Leased, Link};
use tokio::sync::watch;

/// What can stop a worker.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The queue refused an operation (other than a lost connection, which is waited out).
    #[error("proof queue: {0}")]
    Queue(#[from] rollup_prover_queue::Error),
    /// The backend does not prove a kind the worker was told to serve.
    #[error("this worker's backend does not prove {0:?} proofs")]
    NoKey(ProofKind),
    /// A task or proof that does not encode.
    #[error(transparent)]
    Prover(#[from] rollup_prover::ProverError),
    /// The blocking proof thread panicked.
    #[error("the proving thread failed: {0}")]
    Thread(String),
}

/// `Result` with an [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// How a worker works.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Its name in the queue, unique among the queue's workers (host and process, say).
    pub name: String,
    /// The kinds of task it serves.
    pub kinds: Vec<ProofKind>,
    /// How long a lease lasts without a heartbeat: how long a dead worker's task waits.
    pub lease: Duration,
    /// How often the lease is renewed while proving (well under [`Settings::lease`]).
    pub heartbeat: Duration,
    /// How long to wait when the queue has nothing for it.
    pub idle: Duration,
    /// A shadow worker: it proves shadow copies of tasks
    /// ([`rollup_prover_queue::shadow_kind`]), which the coordinator checks and times against
    /// the production proof and never uses; production tasks it never sees.
    pub shadow: bool,
}

impl Settings {
    /// Settings for a worker named `name` serving `kinds`: 60 s leases renewed every 10 s, and
    /// an idle poll every 500 ms.
    pub fn new(name: impl Into<String>, kinds: Vec<ProofKind>) -> Settings {
        Settings {
            name: name.into(),
            kinds,
            lease: Duration::from_secs(60),
            heartbeat: Duration::from_secs(10),
            idle: Duration::from_millis(500),
            shadow: false,
        }
    }
}

/// The name a verifying-key digest has in the queue (its circuit): lowercase hex, no prefix.
pub fn circuit_name(digest: &[u8; 32]) -> String {
    alloy_primitives::hex::encode(digest)
}

/// The task type `kind`'s tasks have in the queue: its name, or for shadow copies
/// [`rollup_prover_queue::shadow_kind`] of it.
pub fn queue_kind(kind: ProofKind, shadow: bool) -> String {
    if shadow {
        rollup_prover_queue::shadow_kind(kind.name())
    } else {
        kind.name().to_string()
    }
}

/// The digests of the keys `backend` proves `kind` with: one, or one per level for nodes.
pub fn circuits_of(backend: &dyn Backend, kind: ProofKind) -> Vec<[u8; 32]> {
    if kind == ProofKind::Node {
        (1..=backend.tree_depth())
            .filter_map(|level| backend.node_vk_digest(level))
            .collect()
    } else {
        backend.vk_digest(kind).into_iter().collect()
    }
}

/// What a worker did until it stopped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Proofs it uploaded (stored, or dropped because another worker's was stored first).
    pub proven: u64,
    /// Tasks it reported as failed.
    pub failed: u64,
    /// Tasks it gave back when told to stop.
    pub released: u64,
}

/// What one round of the loop did.
enum Round {
    Idle,
    Proven,
    Failed,
    Stopped,
}

/// A prover worker.
#[derive(Debug)]
pub struct Worker {
    link: Link,
    backend: Arc<dyn Backend>,
    settings: Settings,
    lease: Lease,
}

impl Worker {
    /// A worker on the queue at `link`, proving with `backend`; refused when the backend does not
    /// prove every kind in `settings`.
    pub fn new(link: Link, backend: Arc<dyn Backend>, settings: Settings) -> Result<Worker> {
        let mut circuits = Vec::new();
        for &kind in &settings.kinds {
            let keys = circuits_of(backend.as_ref(), kind);
            if keys.is_empty() {
                return Err(Error::NoKey(kind));
            }
            circuits.extend(keys.iter().map(circuit_name));
        }
        let lease = Lease {
            worker: settings.name.clone(),
            kinds: settings
                .kinds
                .iter()
                .map(|k| queue_kind(*k, settings.shadow))
                .collect(),
            circuits,
            duration: settings.lease,
        };
        Ok(Worker {
            link,
            backend,
            settings,
            lease,
        })
    }

    /// What it asks the queue for: its kinds and the key digests it holds.
    pub fn lease(&self) -> &Lease {
        &self.lease
    }

    /// Serves tasks until `stop` turns true; a task being proven then is given back. A lost
    /// connection to the queue is retried with backoff (up to 5 s apart), forever: a worker waits
    /// for its database.
    pub async fn run(&self, mut stop: watch::Receiver<bool>) -> Result<Summary> {
        let mut summary = Summary::default();
        let mut backoff = Duration::from_millis(100);
        tracing::info!(
            worker = %self.settings.name,
            kinds = ?self.lease.kinds,
            backend = self.backend.name(),
            "serving the proof queue"
        );
        while !*stop.borrow() {
            match self.round(&mut stop, &mut summary).await {
                Ok(Round::Idle) => {
                    backoff = Duration::from_millis(100);
                    tokio::select! {
                        _ = tokio::time::sleep(self.settings.idle) => {}
                        _ = stop.changed() => {}
                    }
                }
                Ok(Round::Proven) => backoff = Duration::from_millis(100),
                Ok(Round::Failed) => {
                    // A worker whose proofs fail fast (a broken environment) must not burn a
                    // task's attempts in a second: each failure waits an idle period.
                    backoff = Duration::from_millis(100);
                    tokio::select! {
                        _ = tokio::time::sleep(self.settings.idle) => {}
                        _ = stop.changed() => {}
                    }
                }
                Ok(Round::Stopped) => break,
                Err(Error::Queue(e)) if e.is_connection() => {
                    tracing::warn!(error = %e, retry_in = ?backoff, "the proof queue is unreachable");
                    metrics::counter!("worker_queue_reconnects").increment(1);
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = stop.changed() => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
                Err(e) => return Err(e),
            }
        }
        tracing::info!(worker = %self.settings.name, ?summary, "stopped");
        Ok(summary)
    }

    /// Leases one task and proves it, if the queue has one.
    async fn round(
        &self,
        stop: &mut watch::Receiver<bool>,
        summary: &mut Summary,
    ) -> Result<Round> {
        let q = self.queue().await?;
        let Some(leased) = q.lease(&self.lease).await.map_err(|e| self.lost(e))? else {
            return Ok(Round::Idle);
        };
        let task = match self.task_of(&leased) {
            Ok(task) => task,
            Err(reason) => {
                tracing::warn!(task = %leased.id, %reason, "refusing a task");
                self.fail(&leased.id, &reason).await?;
                summary.failed += 1;
                return Ok(Round::Failed);
            }
        };
        let kind = task.kind();
        tracing::info!(task = %leased.id, ?kind, attempt = leased.attempts, "proving");
        let start = Instant::now();
        let backend = self.backend.clone();
        let mut proving = tokio::task::spawn_blocking(move || backend.prove(&task));
        let mut beat = tokio::time::interval(self.settings.heartbeat);
        beat.tick().await;
        let result = loop {
            tokio::select! {
                r = &mut proving => break r,
                _ = beat.tick() => self.heartbeat(&leased.id).await,
                _ = stop.changed() => {
                    // The proof is abandoned (its thread ends with the process); the task goes
                    // back to the queue without counting the attempt.
                    match self.queue().await {
                        Ok(q) => {
                            if let Err(e) = q.release(&self.settings.name, &leased.id).await {
                                tracing::warn!(task = %leased.id, error = %e, "could not give the task back: it returns when its lease expires");
                            }
                        }
                        Err(e) => tracing::warn!(task = %leased.id, error = %e, "could not give the task back: it returns when its lease expires"),
                    }
                    summary.released += 1;
                    tracing::info!(task = %leased.id, "stopping: the task is given back");
                    return Ok(Round::Stopped);
                }
            }
        };
        let seconds = start.elapsed().as_secs_f64();
        match result.map_err(|e| Error::Thread(e.to_string()))? {
            Ok(artifact) => {
                let bytes = rollup_prover::wire::encode_artifact(&artifact)?;
                let digest = circuit_name(&artifact.vk_digest);
                self.upload(&leased.id, &digest, &bytes, seconds, stop)
                    .await?;
                metrics::counter!("worker_proofs", "kind" => kind.name()).increment(1);
                metrics::histogram!("worker_prove_seconds", "kind" => kind.name()).record(seconds);
                tracing::info!(task = %leased.id, ?kind, seconds, "proven and uploaded");
                summary.proven += 1;
                Ok(Round::Proven)
            }
            Err(e) => {
                tracing::warn!(task = %leased.id, ?kind, error = %e, "proving failed");
                metrics::counter!("worker_failures", "kind" => kind.name()).increment(1);
                self.fail(&leased.id, &e.to_string()).await?;
                summary.failed += 1;
                Ok(Round::Failed)
            }
        }
    }

    /// The task `leased` carries, if this worker can prove it with the key it names.
    fn task_of(&self, leased: &Leased) -> std::result::Result<ProofTask, String> {
        let task = rollup_prover::wire::decode_task(&leased.input)
            .map_err(|e| format!("the task does not decode: {e}"))?;
        let kind = queue_kind(task.kind(), self.settings.shadow);
        if kind != leased.kind {
            return Err(format!(
                "the task is a {kind} task, queued as {}",
                leased.kind
            ));
        }
        match task.key_in(self.backend.as_ref()) {
            Some(key) if circuit_name(&key) == leased.circuit => Ok(task),
            Some(key) => Err(format!(
                "the task names key {}, this worker proves it with {}",
                leased.circuit,
                circuit_name(&key)
            )),
            None => Err(format!("this worker holds no key for {:?}", task.kind())),
        }
    }

    async fn queue(&self) -> Result<Arc<rollup_prover_queue::Queue>> {
        match self.link.get().await {
            Ok(q) => Ok(q),
            Err(e) => Err(self.lost(e)),
        }
    }

    /// `e`, as an [`Error`]; a lost connection is forgotten so that the next call reconnects.
    fn lost(&self, e: rollup_prover_queue::Error) -> Error {
        if e.is_connection() {
            self.link.forget();
        }
        Error::Queue(e)
    }

    async fn heartbeat(&self, id: &str) {
        let renewed = match self.queue().await {
            Ok(q) => q
                .heartbeat(&self.settings.name, id, self.settings.lease)
                .await
                .map_err(|e| self.lost(e)),
            Err(e) => Err(e),
        };
        match renewed {
            Ok(true) => {}
            // Proving goes on: while no other worker takes the task over, this one's proof is
            // still stored when it comes (the holder's, its lease lapsed or not).
            Ok(false) => {
                tracing::warn!(task = %id, "the lease was not renewed (it expired, or was held for the longest allowed): another worker may take the task")
            }
            Err(e) => tracing::warn!(task = %id, error = %e, "could not renew the lease"),
        }
    }

    async fn fail(&self, id: &str, reason: &str) -> Result<()> {
        let q = self.queue().await?;
        q.fail(&self.settings.name, id, reason)
            .await
            .map_err(|e| self.lost(e))?;
        Ok(())
    }

    /// Uploads a proof, waiting out a lost connection (the proof took minutes: it is not thrown
    /// away because the database restarted) unless told to stop.
    async fn upload(
        &self,
        id: &str,
        digest: &str,
        proof: &[u8],
        seconds: f64,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<()> {
        let mut backoff = Duration::from_millis(100);
        loop {
            let stored = match self.queue().await {
                Ok(q) => q
                    .complete(&self.settings.name, id, digest, proof, seconds)
                    .await
                    .map_err(|e| self.lost(e)),
                Err(e) => Err(e),
            };
            match stored {
                Ok(Completion::NotHolder) => {
                    tracing::warn!(task = %id, "another worker took the task over (this one's lease lapsed): the proof is dropped");
                    return Ok(());
                }
                Ok(done) => {
                    tracing::debug!(task = %id, ?done, "uploaded");
                    return Ok(());
                }
                Err(Error::Queue(e)) if e.is_connection() && !*stop.borrow() => {
                    tracing::warn!(task = %id, error = %e, retry_in = ?backoff, "uploading the proof: the queue is unreachable");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = stop.changed() => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
                Err(e) => return Err(e),
            }
        }
    }
}
