//! The proof coordinator: it owns the proving pipeline's state, apart from the sequencer.
//!
//! The pipeline has two stages, or three (`docs/protocol.md` section 7). Every chunk is proven for
//! aggregation ([`ProofKind::RecursiveChunk`]) at its batch's challenge, so a sealed chunk waits
//! (parked, with its witnesses) until the batch book proposes its batch; then
//! [`Coordinator::schedule`] queues its chunk tasks, and once all of them are stored, the batch
//! task ([`ProofKind::Batch`]), whose one proof L1 verifies. When the backend compresses
//! ([`Backend::last_stage`] is [`ProofKind::Compressed`]), the batch task makes a
//! [`ProofKind::RecursiveBatch`] proof instead, and once it is stored the compression task makes
//! the proof L1 verifies. The coordinator runs tasks on its
//! [`Backend`] (in this process today), checks each [`ProofArtifact`] before accepting it (the
//! public inputs the core computed, [`ProofTask::accepts`]; the backend's verifying key; a native
//! verification), stores it, and gives the submitter a batch's proof once it is stored.
//!
//! A task moves `Queued → Running → Proven`, or `Running → Failed` (retried from `Failed` on the
//! next tick, up to [`MAX_ATTEMPTS`] times; then the operator stops with the last error rather
//! than stall silently). Only `Proven` is stored: after a crash, every unfinished batch is
//! scheduled again, and every task whose stored artifact it accepts is skipped, so a crash at any
//! stage loses nothing and proves nothing twice once stored. A stored artifact that a task does not
//! accept (another batch's challenge after a revert, a chunk proof stored for L1 by an older
//! operator, a key that governance has since replaced: [`ProofTask::accepts_from`]) is proven again
//! and replaced, and a batch task is queued only once each of its chunk proofs is its own.
//!
//! With the proof queue configured ([`Coordinator::with_queue`], `queue_url`), tasks go to prover
//! workers on other machines instead of the backend, and their results come back through the same
//! checks ([`crate::queue`]). Another stage is another task kind.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use redb::TableDefinition;
use rollup_protocol::codec::{BatchBinding, Record};
use rollup_protocol::{Chunk, Fr};
use rollup_prover::batch::BATCH_INPUTS;
use rollup_prover::node::CHUNK_INPUTS;
// An artifact as stored (the `proofs` table, by chunk index) is the proof queue's wire form: hex
// strings, so that the database stays readable with any JSON tool.
use rollup_prover::wire::WireArtifact as StoredArtifact;
use rollup_prover::{Backend, ProofArtifact, ProofKind, ProofTask};
use serde::{Deserialize, Serialize};

use crate::batches::{Batch, BatchStatus, Batches};
use crate::error::{Error, Result};
use crate::queue::{Polled, Remote};
use crate::store::{
    BATCH_PROOFS, COMPRESSED_PROOFS, NODE_PROOFS, PROOFS, RECURSIVE_BATCH_PROOFS, Store,
};

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

/// What the `proofs` table may hold: an artifact, or the bare proof (hex) that data directories
/// written before the coordinator hold, whose inputs and key were not recorded.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Stored {
    Artifact(StoredArtifact),
    Legacy(String),
}

/// What a task is known by: its kind, and its chunk's index (its batch's for a batch).
pub type TaskKey = (ProofKind, u64);

/// What the coordinator knows of one task. A proven task keeps only its state and timing (a few
/// dozen bytes: the chunk and its witnesses are dropped), for `l2_getChunks` and the finalization
/// latency, as long as the operator runs.
#[derive(Debug)]
struct Entry {
    /// The task, until it is proven.
    task: Option<ProofTask>,
    state: TaskState,
    attempts: u32,
    /// When it was proven and how long that took (this run only).
    proven: Option<(Instant, f64)>,
    /// Its id in the proof queue, once enqueued there.
    remote: Option<String>,
    /// Who proved it: the backend's name, or the queue's worker.
    prover: Option<String>,
    /// Proven in this process although the queue is configured: the queue parked it (its workers
    /// kept failing or lying), or no worker delivered it within [`QUEUE_PATIENCE`], and the
    /// operator does not wait on them.
    local: bool,
    /// When it was enqueued in the proof queue (this run).
    sent: Option<Instant>,
}

impl Entry {
    fn queued(task: ProofTask) -> Entry {
        Entry {
            task: Some(task),
            state: TaskState::Queued,
            attempts: 0,
            proven: None,
            remote: None,
            prover: None,
            local: false,
            sent: None,
        }
    }
}

/// A scheduled batch whose chunk proofs are not all stored yet.
#[derive(Debug, Clone)]
struct Waiting {
    first_chunk: u64,
    /// The public inputs of each of its chunk proofs, in order (each chunk at the batch's
    /// challenge): a stored chunk proof for other inputs is not this batch's.
    chunk_inputs: Vec<Vec<Fr>>,
    /// Each of its chunks' records, in order: the batch circuit's witness.
    records: Vec<Vec<Record>>,
    expected: [Fr; BATCH_INPUTS],
}

/// The coordinator's memory: tasks, parked chunks, batches waiting for their chunk proofs.
#[derive(Debug, Default)]
struct Book {
    tasks: BTreeMap<TaskKey, Entry>,
    /// Sealed chunks (with their witnesses) whose batch is not scheduled yet.
    parked: BTreeMap<u64, Chunk>,
    waiting: BTreeMap<u64, Waiting>,
    /// Stored artifacts known to verify in this run (proven in it, or read back and checked once).
    verified: std::collections::BTreeSet<TaskKey>,
    /// Whether the proof queue was unreachable at the last try (logged once per outage).
    queue_down: bool,
    /// Shadow copies in the proof queue whose result is not checked yet, by their id.
    shadows: BTreeMap<String, Shadow>,
    /// What each prover's proofs came to in this run, by name and whether it is a shadow.
    provers: BTreeMap<(String, bool), Tally>,
}

/// A shadow copy of a task, waiting for a shadow worker.
#[derive(Debug)]
struct Shadow {
    key: TaskKey,
    task: ProofTask,
    since: Instant,
}

/// How long a shadow copy is waited for before it is forgotten (no shadow worker serves it).
const SHADOW_PATIENCE: std::time::Duration = std::time::Duration::from_secs(3_600);

/// How long the coordinator waits for the proof queue to deliver a task before proving it in its
/// own process: a worker that holds tasks without delivering (hung, far too slow, or hostile)
/// never stalls the operator for longer. Two hours: about twenty times the longest stage on 2
/// cores; a queue that is merely busy gets the operator's help one task at a time.
pub const QUEUE_PATIENCE: std::time::Duration = std::time::Duration::from_secs(7_200);

/// One prover's proofs in this run.
#[derive(Debug, Default)]
struct Tally {
    valid: u64,
    invalid: u64,
    seconds: Vec<f64>,
    /// A shadow's time over production's, task by task.
    vs_production: Vec<f64>,
}

fn median(xs: &[f64]) -> Option<f64> {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
    }
}

/// The coordinator.
#[derive(Debug)]
pub struct Coordinator {
    store: Arc<Store>,
    backend: Arc<dyn Backend>,
    /// The proof queue tasks go to instead of the backend, when configured; the backend then
    /// only checks their results.
    remote: Option<Remote>,
    /// How long a task may stay in the queue before it is proven here ([`QUEUE_PATIENCE`]).
    queue_patience: std::time::Duration,
    book: Mutex<Book>,
    /// Where to stop once (crash-safety tests).
    #[cfg(feature = "fault-injection")]
    crash_at: Mutex<Option<crate::config::CrashPoint>>,
}

/// Where artifacts of `kind` are stored: chunk proofs by chunk index, each batch stage's proofs
/// by batch index in a table of its own.
fn table(kind: ProofKind) -> TableDefinition<'static, u64, &'static [u8]> {
    match kind {
        ProofKind::Batch => BATCH_PROOFS,
        ProofKind::RecursiveBatch => RECURSIVE_BATCH_PROOFS,
        ProofKind::Compressed => COMPRESSED_PROOFS,
        ProofKind::Node => NODE_PROOFS,
        ProofKind::Chunk | ProofKind::RecursiveChunk => PROOFS,
    }
}

fn decode_artifact(stored: Stored) -> Result<ProofArtifact> {
    match stored {
        Stored::Artifact(s) => {
            ProofArtifact::try_from(&s).map_err(|e| Error::Store(format!("a stored proof: {e}")))
        }
        Stored::Legacy(proof) => Ok(ProofArtifact {
            kind: ProofKind::Chunk,
            public_inputs: Vec::new(),
            proof: alloy_primitives::hex::decode(&proof)
                .map_err(|e| Error::Store(format!("a stored proof: {e}")))?,
            vk_digest: [0; 32],
        }),
    }
}

impl Coordinator {
    /// A coordinator proving with `backend`, over the artifacts already in `store`.
    pub fn new(store: Arc<Store>, backend: Arc<dyn Backend>) -> Coordinator {
        Coordinator {
            store,
            backend,
            remote: None,
            queue_patience: QUEUE_PATIENCE,
            book: Mutex::new(Book::default()),
            #[cfg(feature = "fault-injection")]
            crash_at: Mutex::new(None),
        }
    }

    /// The same, sending its tasks to the proof queue `remote` for prover workers; the backend
    /// checks their results (the public inputs its task expects, its key, a native verification)
    /// before they are accepted.
    pub fn with_queue(mut self, remote: Remote) -> Coordinator {
        self.remote = Some(remote);
        self
    }

    /// The same, proving in its own process a task the queue has not delivered after `patience`
    /// instead of [`QUEUE_PATIENCE`] (tests).
    pub fn with_queue_patience(mut self, patience: std::time::Duration) -> Coordinator {
        self.queue_patience = patience;
        self
    }

    /// The same, stopping once at `at` (crash-safety tests).
    #[cfg(feature = "fault-injection")]
    pub fn crashing_at(self, at: Option<crate::config::CrashPoint>) -> Coordinator {
        *self
            .crash_at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = at;
        self
    }

    /// Stops here once if told to: the operator's loops stop with [`Error::Crash`].
    #[cfg(feature = "fault-injection")]
    fn crash(&self, at: crate::config::CrashPoint) -> Result<()> {
        let mut armed = self
            .crash_at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *armed == Some(at) {
            *armed = None;
            return Err(Error::Crash(format!("{at:?}")));
        }
        Ok(())
    }

    /// The backend it proves with.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    fn book(&self) -> MutexGuard<'_, Book> {
        // A panic while the lock was held cannot leave the book half-updated (every update is one
        // insertion or removal), so a poisoned lock is still usable.
        self.book
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Queues `task` unless it is known or a stored artifact is one it accepts (after a restart).
    pub fn submit(&self, task: ProofTask) -> Result<()> {
        let key = (task.kind(), task.index());
        if self.book().tasks.contains_key(&key) {
            return Ok(());
        }
        if let Some(stored) = self.artifact(key.0, key.1)? {
            if task.accepts_from(self.backend.as_ref(), &stored) && self.sound(key, &stored)? {
                return Ok(());
            }
            tracing::info!(
                kind = ?key.0,
                index = key.1,
                "a stored proof is not this task's (another batch, another key, or an older operator's): proving it again"
            );
        }
        self.book().tasks.insert(key, Entry::queued(task));
        Ok(())
    }

    /// Whether the stored artifact `a` of task `key` verifies natively (checked once per run: a
    /// proof made in this run was checked before it was stored). One that does not (a damaged
    /// file, a proof written by hand) is removed, so that its task is made again instead of every
    /// later stage failing on it.
    fn sound(&self, key: TaskKey, a: &ProofArtifact) -> Result<bool> {
        if self.book().verified.contains(&key) {
            return Ok(true);
        }
        if self.backend.verify(a)? {
            self.book().verified.insert(key);
            return Ok(true);
        }
        tracing::warn!(
            kind = ?key.0,
            index = key.1,
            "a stored proof does not verify: removing it, it is made again"
        );
        self.store.write(|w| w.remove(table(key.0), key.1))?;
        Ok(false)
    }

    /// Takes sealed chunk `index` (what the sequencer hands on): it waits for its batch
    /// ([`Coordinator::schedule`]), whose challenge its proof is made at.
    pub fn submit_chunk(&self, index: u64, chunk: Chunk) -> Result<()> {
        self.book().parked.insert(index, chunk);
        Ok(())
    }

    /// Schedules `batch`'s proofs: each of its parked chunks, rebound to the batch's challenge
    /// (`binding`, [`BatchBinding::chunk`]), as a [`ProofTask::RecursiveChunk`], then the batch
    /// task once all of their artifacts are stored. Tasks whose artifacts are stored are skipped.
    pub fn schedule(&self, batch: &Batch, binding: &BatchBinding) -> Result<()> {
        let last = batch.first_chunk + batch.chunks;
        let chunks: Vec<(u64, Chunk)> = {
            let mut book = self.book();
            (batch.first_chunk..last)
                .map(|i| {
                    book.parked.remove(&i).map(|c| (i, c)).ok_or_else(|| {
                        Error::Store(format!(
                            "batch {}: chunk {i} was not handed to the coordinator",
                            batch.index
                        ))
                    })
                })
                .collect::<Result<_>>()?
        };
        let (Some((_, first)), Some((_, end))) = (chunks.first(), chunks.last()) else {
            return Err(Error::Store(format!(
                "batch {} holds no chunk",
                batch.index
            )));
        };
        let expected = binding.public_inputs(first.old_root, end.new_root);
        if self
            .stored_batch_stage(self.backend.last_stage(), batch.index, &expected)?
            .is_some()
        {
            return Ok(());
        }
        // With compression, a stored recursive batch proof leaves only the compression to make.
        let compress_only = self.backend.last_stage() == ProofKind::Compressed
            && self
                .stored_batch_stage(ProofKind::RecursiveBatch, batch.index, &expected)?
                .is_some();
        let mut chunk_inputs = Vec::with_capacity(chunks.len());
        let mut records = Vec::with_capacity(chunks.len());
        for (index, mut chunk) in chunks {
            chunk.binding = binding.chunk(&chunk.records)?;
            chunk_inputs.push(chunk.public_inputs().to_vec());
            records.push(chunk.records.clone());
            if !compress_only {
                self.submit(ProofTask::RecursiveChunk {
                    index,
                    chunk: Box::new(chunk),
                })?;
            }
        }
        self.book().waiting.insert(
            batch.index,
            Waiting {
                first_chunk: batch.first_chunk,
                chunk_inputs,
                records,
                expected,
            },
        );
        Ok(())
    }

    /// After a restart, once every sealed chunk is handed back: schedules every batch of the book
    /// that L1 has not finalized (what is stored is skipped) and forgets the chunks of the others.
    pub fn resume(&self, batches: &Batches) -> Result<()> {
        for batch in batches.all() {
            match batch.status {
                BatchStatus::Proposed | BatchStatus::Committed => {
                    self.schedule(&batch, &batches.binding(&batch)?)?;
                }
                BatchStatus::Finalized | BatchStatus::Executed => self.retire(&batch),
            }
        }
        Ok(())
    }

    /// Forgets the parked chunks of `batch`, which needs no proof any more (finalized on L1).
    pub fn retire(&self, batch: &Batch) {
        let mut book = self.book();
        for i in batch.first_chunk..batch.first_chunk + batch.chunks {
            book.parked.remove(&i);
        }
    }

    /// Queues the next task of every waiting batch whose inputs are stored: the batch task once
    /// its chunk proofs all are (each one for its chunk at this batch's challenge, under the
    /// backend's current chunk key: a proof stored for another batch or key waits for its
    /// replacement, which its chunk task makes), and with compression, the compression task once
    /// the recursive batch proof is. A batch stops waiting when its last stage's task is queued.
    fn promote_ready_batches(&self) -> Result<()> {
        let last = self.backend.last_stage();
        let chunk_key = self.backend.vk_digest(ProofKind::RecursiveChunk);
        let waiting: Vec<(u64, Waiting)> = self
            .book()
            .waiting
            .iter()
            .map(|(i, w)| (*i, w.clone()))
            .collect();
        for (index, w) in waiting {
            let (first, inputs, records, expected) =
                (w.first_chunk, w.chunk_inputs, w.records, w.expected);
            if last == ProofKind::Compressed {
                if let Some(batch) =
                    self.stored_batch_stage(ProofKind::RecursiveBatch, index, &expected)?
                {
                    self.book().waiting.remove(&index);
                    self.submit(ProofTask::Compress {
                        index,
                        batch: Box::new(batch),
                        expected,
                    })?;
                    continue;
                }
                if self
                    .book()
                    .tasks
                    .contains_key(&(ProofKind::RecursiveBatch, index))
                {
                    // Queued or running: its proof is not stored yet.
                    continue;
                }
            }
            let mut artifacts = Vec::with_capacity(inputs.len());
            for (c, inputs) in (first..).zip(&inputs) {
                let stored = self.artifact(ProofKind::RecursiveChunk, c)?;
                match stored {
                    Some(a)
                        if a.kind == ProofKind::RecursiveChunk
                            && a.public_inputs == *inputs
                            && Some(a.vk_digest) == chunk_key =>
                    {
                        artifacts.push(a);
                    }
                    Some(_) => {
                        // Its chunk task (queued by `schedule`) replaces it.
                        tracing::debug!(
                            batch = index,
                            chunk = c,
                            "a stored chunk proof is not this batch's: waiting for its replacement"
                        );
                        break;
                    }
                    None => break,
                }
            }
            if artifacts.len() != inputs.len() {
                continue;
            }
            // With a tree of aggregation nodes, the batch task takes the top level's proofs.
            let depth = self.backend.tree_depth();
            let artifacts = if depth == 0 {
                artifacts
            } else {
                match self.promote_nodes(index, artifacts, &records, depth)? {
                    Some(top) => top,
                    None => continue,
                }
            };
            let recursive = last == ProofKind::Compressed;
            if !recursive {
                self.book().waiting.remove(&index);
            }
            self.submit(ProofTask::Batch {
                index,
                chunks: artifacts,
                records,
                expected,
                recursive,
            })?;
        }
        Ok(())
    }

    /// Walks batch `batch`'s tree of aggregation nodes up from its chunk proofs `chunks` (stored, and
    /// this batch's): queues each node whose children are all stored and whose own proof is not,
    /// and returns the top level's proofs once every node up to level `depth` is stored. A node of
    /// level `l` at position `p` verifies the level below's proofs `ARITY·p` and `ARITY·p + 1`
    /// (only the first when the level ends there: the node pads itself with a copy), and carries
    /// their chunks' inputs in order, and the records of its real chunks (`records`, the batch's).
    fn promote_nodes(
        &self,
        batch: u64,
        chunks: Vec<ProofArtifact>,
        records: &[Vec<rollup_protocol::codec::Record>],
        depth: u32,
    ) -> Result<Option<Vec<ProofArtifact>>> {
        use rollup_prover::node::ARITY;
        let mut carried_below: Vec<Vec<[Fr; CHUNK_INPUTS]>> = Vec::with_capacity(chunks.len());
        for a in &chunks {
            let inputs = <[Fr; CHUNK_INPUTS]>::try_from(a.public_inputs.as_slice())
                .map_err(|_| Error::Proof("a stored chunk proof has the wrong inputs".into()))?;
            carried_below.push(vec![inputs]);
        }
        let mut below = chunks;
        for level in 1..=depth {
            let mut stored = Vec::new();
            let mut carried_here = Vec::new();
            for (position, children) in (0u32..).zip(below.chunks(ARITY)) {
                let first = position as usize * ARITY;
                let mut carried = Vec::new();
                for i in 0..ARITY {
                    let child = carried_below
                        .get(first + i)
                        .or_else(|| carried_below.get(first + children.len() - 1))
                        .ok_or_else(|| Error::Proof("a node without children".into()))?;
                    carried.extend_from_slice(child);
                }
                let mine =
                    rollup_prover::node::NodeRecords::of_batch(records, level, position as usize)
                        .map_err(|e| Error::Proof(format!("batch {batch}'s records: {e}")))?;
                let task = ProofTask::Node {
                    batch,
                    level,
                    position,
                    children: children.to_vec(),
                    carried: carried.clone(),
                    records: Box::new(mine),
                };
                match self.stored_for(&task)? {
                    Some(a) => stored.push(a),
                    None => self.submit(task)?,
                }
                carried_here.push(carried);
            }
            if stored.len() != carried_here.len() {
                return Ok(None);
            }
            below = stored;
            carried_below = carried_here;
        }
        Ok(Some(below))
    }

    /// Proves the next runnable task, if any: later stages first (they finalize sooner), lower
    /// indices first; returns whether it proved one. The backend runs off the async runtime. A task
    /// that failed [`MAX_ATTEMPTS`] times is an error. With the proof queue, one round with it
    /// (`run_remote`), and when it stored nothing, one task the queue parked proven here.
    pub async fn run_next(&self) -> Result<bool> {
        self.promote_ready_batches()?;
        if let Some(remote) = &self.remote {
            return match self.run_remote(remote).await {
                Err(Error::QueueUnreachable(e)) => {
                    if !std::mem::replace(&mut self.book().queue_down, true) {
                        tracing::warn!(error = %e, "the proof queue is unreachable: waiting for it");
                    }
                    metrics::counter!("operator_queue_unreachable").increment(1);
                    Ok(false)
                }
                Ok(stored) => {
                    if std::mem::replace(&mut self.book().queue_down, false) {
                        tracing::info!("the proof queue is back");
                    }
                    if stored {
                        return Ok(true);
                    }
                    // Tasks the queue parked are proven here, one at a time.
                    self.prove_local(true).await
                }
                Err(e) => Err(e),
            };
        }
        self.prove_local(false).await
    }

    /// Proves the next runnable task in this process (with `parked_only`, only one the queue
    /// parked); returns whether it proved one.
    async fn prove_local(&self, parked_only: bool) -> Result<bool> {
        let next = {
            let mut book = self.book();
            let runnable = |e: &Entry| {
                e.task.is_some()
                    && matches!(e.state, TaskState::Queued | TaskState::Failed { .. })
                    && (!parked_only || e.local)
            };
            let key = book
                .tasks
                .iter()
                .filter(|(_, e)| runnable(e))
                .map(|(k, _)| *k)
                .min_by_key(|(kind, index)| (stage_order(*kind), *index));
            key.and_then(|key| {
                let e = book.tasks.get_mut(&key)?;
                e.state = TaskState::Running;
                e.attempts += 1;
                Some((key, e.task.clone()?, e.attempts))
            })
        };
        let Some((key, task, attempts)) = next else {
            return Ok(false);
        };
        let (kind, index) = key;
        #[cfg(feature = "fault-injection")]
        if matches!(kind, ProofKind::Batch | ProofKind::RecursiveBatch) {
            self.crash(crate::config::CrashPoint::BeforeBatchProof)?;
        }
        let start = Instant::now();
        let backend = self.backend.clone();
        let result = tokio::task::spawn_blocking(move || -> Result<ProofArtifact> {
            let artifact = backend.prove(&task)?;
            if !task.accepts_from(backend.as_ref(), &artifact) {
                return Err(Error::Proof(
                    "the artifact proves other public inputs than the task's, or under another key than the backend's".into(),
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
                #[cfg(feature = "fault-injection")]
                if matches!(kind, ProofKind::Batch | ProofKind::RecursiveBatch) {
                    self.crash(crate::config::CrashPoint::DuringBatchProof)?;
                }
                self.store_artifact(index, &artifact)?;
                self.book().verified.insert(key);
                if let Some(e) = self.book().tasks.get_mut(&key) {
                    e.task = None;
                    e.state = TaskState::Proven;
                    e.proven = Some((Instant::now(), seconds));
                    e.prover = Some(self.backend.name().to_string());
                }
                self.tally(self.backend.name(), false, Some(seconds), None);
                tracing::info!(
                    ?kind,
                    index,
                    seconds,
                    backend = self.backend.name(),
                    "proven"
                );
                metrics::histogram!("operator_prove_seconds", "kind" => kind.name())
                    .record(seconds);
                Ok(true)
            }
            Err(err) => {
                metrics::counter!("operator_prove_failures", "kind" => kind.name()).increment(1);
                tracing::warn!(?kind, index, attempts, error = %err, "proving failed");
                if let Some(e) = self.book().tasks.get_mut(&key) {
                    e.state = TaskState::Failed {
                        attempts,
                        error: err.to_string(),
                    };
                }
                if attempts >= MAX_ATTEMPTS {
                    let what = describe(key);
                    return Err(Error::Proof(format!(
                        "{what}: {attempts} attempts failed, the last with: {err}; if it can never be proven, revert its batch and drop the transaction that breaks it (`operator revert`, docs/operator.md)"
                    )));
                }
                Ok(false)
            }
        }
    }

    /// One round with the proof queue: every runnable task not yet there is enqueued, and every
    /// enqueued task's result, once a worker stored one, is checked as an in-process proof is
    /// (the public inputs its task expects, the backend's current key, a native verification) and
    /// stored, or rejected (the task goes back to the queue, the worker is named). A task the
    /// queue parked is proven in this process instead ([`Coordinator::run_next`]): nothing a
    /// worker does stops the operator. Returns whether a proof was stored.
    async fn run_remote(&self, remote: &Remote) -> Result<bool> {
        let to_send: Vec<(TaskKey, ProofTask)> = self
            .book()
            .tasks
            .iter()
            .filter(|(_, e)| e.remote.is_none() && !e.local && e.state != TaskState::Proven)
            .filter_map(|(k, e)| Some((*k, e.task.clone()?)))
            .collect();
        for (key, task) in to_send {
            let circuit = task.key_in(self.backend.as_ref()).ok_or_else(|| {
                Error::Proof(format!(
                    "{}: the backend holds no key for {:?} proofs",
                    describe(key),
                    key.0
                ))
            })?;
            let id = remote.enqueue(&task, &circuit).await?;
            if remote.shadow() {
                match remote.enqueue_shadow(&task, &circuit).await {
                    Ok(shadow) => {
                        self.book().shadows.insert(
                            shadow,
                            Shadow {
                                key,
                                task: task.clone(),
                                since: Instant::now(),
                            },
                        );
                    }
                    Err(e @ Error::QueueUnreachable(_)) => return Err(e),
                    // Shadows are on trial: nothing of theirs stops the operator.
                    Err(e) => tracing::warn!(error = %e, "a shadow copy was not enqueued"),
                }
            }
            if let Some(e) = self.book().tasks.get_mut(&key) {
                e.remote = Some(id);
                e.state = TaskState::Running;
                e.attempts += 1;
                e.sent = Some(Instant::now());
            }
        }
        match remote.report().await {
            Err(e @ Error::QueueUnreachable(_)) => return Err(e),
            Err(e) => tracing::warn!(error = %e, "the queue's counts were not read"),
            Ok(()) => {}
        }
        let running: Vec<(TaskKey, String, ProofTask)> = self
            .book()
            .tasks
            .iter()
            .filter(|(_, e)| e.state == TaskState::Running)
            .filter_map(|(k, e)| Some((*k, e.remote.clone()?, e.task.clone()?)))
            .collect();
        let mut stored = false;
        let ids: Vec<String> = running.iter().map(|(_, id, _)| id.clone()).collect();
        let mut polled = remote.poll_all(&ids).await?;
        for (key, id, task) in running {
            match polled.remove(&id).unwrap_or(Polled::Missing) {
                Polled::Pending => {
                    let waited = self
                        .book()
                        .tasks
                        .get(&key)
                        .and_then(|e| e.sent)
                        .map(|t| t.elapsed());
                    if waited.is_some_and(|w| w >= self.queue_patience) {
                        metrics::counter!("operator_queue_overdue", "kind" => key.0.name())
                            .increment(1);
                        tracing::error!(
                            task = %id,
                            waited = ?waited,
                            "{}: no worker delivered the task in time: proving it in this process; look at the workers",
                            describe(key)
                        );
                        self.prove_here(key);
                    }
                }
                Polled::Missing => {
                    tracing::warn!(task = %id, "the proof queue lost the task: enqueueing it again");
                    if let Some(e) = self.book().tasks.get_mut(&key) {
                        e.remote = None;
                        e.state = TaskState::Queued;
                    }
                }
                Polled::Parked { attempts, error } => {
                    // Nothing a worker does stops the operator: it proves the task itself (up to
                    // MAX_ATTEMPTS times, as in-process) and says so loudly.
                    metrics::counter!("operator_queue_parked", "kind" => key.0.name()).increment(1);
                    tracing::error!(
                        task = %id,
                        attempts,
                        last_error = %error,
                        "{}: the proof queue parked the task (its workers kept failing, or returned wrong proofs): proving it in this process; look at the workers",
                        describe(key)
                    );
                    self.prove_here(key);
                }
                Polled::Result {
                    artifact,
                    worker,
                    seconds,
                } => {
                    let checked = self.check_result(task, artifact.clone()).await?;
                    match checked {
                        Ok(artifact) => {
                            self.store_artifact(key.1, &artifact)?;
                            self.book().verified.insert(key);
                            if let Some(e) = self.book().tasks.get_mut(&key) {
                                e.task = None;
                                e.state = TaskState::Proven;
                                e.proven = Some((Instant::now(), seconds));
                                e.prover = Some(worker.clone());
                            }
                            tracing::info!(kind = ?key.0, index = key.1, seconds, %worker, "proven by a worker");
                            metrics::histogram!("operator_prove_seconds", "kind" => key.0.name())
                                .record(seconds);
                            metrics::counter!("operator_queue_proofs", "worker" => worker.clone(), "kind" => key.0.name())
                                .increment(1);
                            self.tally(&worker, false, Some(seconds), None);
                            stored = true;
                        }
                        Err(reason) => {
                            tracing::warn!(task = %id, %worker, %reason, "a worker's proof is wrong: rejected, the task is proven again");
                            metrics::counter!("operator_queue_rejections", "worker" => worker.clone())
                                .increment(1);
                            self.tally(&worker, false, None, None);
                            match remote.reject(&id, &worker, &artifact, &reason).await {
                                Err(e @ Error::QueueUnreachable(_)) => return Err(e),
                                Err(e) => {
                                    tracing::warn!(task = %id, error = %e, "the rejection was not recorded")
                                }
                                Ok(()) => {}
                            }
                        }
                    }
                }
            }
        }
        self.check_shadows(remote).await?;
        Ok(stored)
    }

    /// Checks the shadow copies whose shadow result and production proof are both in: a shadow
    /// proof is checked as a production one is, and its time compared with production's; it is
    /// reported (`l2_getProvers`, `operator_shadow_proofs`), never stored.
    async fn check_shadows(&self, remote: &Remote) -> Result<()> {
        let ready: Vec<(String, TaskKey, ProofTask, Instant, f64)> = {
            let mut book = self.book();
            // A copy whose production proof never came (its batch reverted, say) is forgotten too.
            book.shadows
                .retain(|_, s| s.since.elapsed() < SHADOW_PATIENCE * 2);
            book.shadows
                .iter()
                .filter_map(|(id, s)| {
                    let production = book.tasks.get(&s.key)?.proven?.1;
                    Some((id.clone(), s.key, s.task.clone(), s.since, production))
                })
                .collect()
        };
        let ids: Vec<String> = ready.iter().map(|(id, ..)| id.clone()).collect();
        let mut polled = remote.poll_all(&ids).await?;
        for (id, key, task, since, production) in ready {
            match polled.remove(&id).unwrap_or(Polled::Missing) {
                Polled::Pending if since.elapsed() < SHADOW_PATIENCE => continue,
                Polled::Pending | Polled::Missing => {
                    tracing::info!(task = %id, "no shadow worker proved the shadow copy: forgotten");
                }
                Polled::Parked { error, .. } => {
                    tracing::warn!(task = %id, %error, "a shadow copy failed");
                    metrics::counter!("operator_shadow_proofs", "worker" => "?", "outcome" => "failed")
                        .increment(1);
                }
                Polled::Result {
                    artifact,
                    worker,
                    seconds,
                } => {
                    let checked = self.check_result(task, artifact.clone()).await?;
                    let ratio = seconds / production;
                    match checked {
                        Ok(_) => {
                            tracing::info!(kind = ?key.0, index = key.1, %worker, seconds, vs_production = ratio, "a shadow proof is valid");
                            metrics::counter!("operator_shadow_proofs", "worker" => worker.clone(), "outcome" => "valid")
                                .increment(1);
                            metrics::histogram!("operator_shadow_vs_production", "worker" => worker.clone())
                                .record(ratio);
                            self.tally(&worker, true, Some(seconds), Some(ratio));
                        }
                        Err(reason) => {
                            tracing::warn!(kind = ?key.0, index = key.1, %worker, %reason, "a shadow proof is wrong");
                            metrics::counter!("operator_shadow_proofs", "worker" => worker.clone(), "outcome" => "invalid")
                                .increment(1);
                            self.tally(&worker, true, None, None);
                        }
                    }
                }
            }
            self.book().shadows.remove(&id);
        }
        Ok(())
    }

    /// [`check_result`] off the async runtime (a native verification of an aggregation proof takes
    /// a while).
    async fn check_result(
        &self,
        task: ProofTask,
        bytes: Vec<u8>,
    ) -> Result<std::result::Result<ProofArtifact, String>> {
        let backend = self.backend.clone();
        // A result that makes the checks panic is a wrong result, not the operator's failure.
        Ok(
            tokio::task::spawn_blocking(move || check_result(backend.as_ref(), &task, &bytes))
                .await
                .unwrap_or_else(|e| Err(format!("checking it failed: {e}"))),
        )
    }

    /// Takes task `key` back from the queue to prove it in this process ([`Entry::local`]), with
    /// in-process attempts from zero.
    fn prove_here(&self, key: TaskKey) {
        if let Some(e) = self.book().tasks.get_mut(&key) {
            e.remote = None;
            e.local = true;
            e.attempts = 0;
            e.state = TaskState::Queued;
        }
    }

    /// Counts a proof of `prover`: valid with its `seconds` (and a shadow's ratio to production),
    /// or invalid without.
    fn tally(&self, prover: &str, shadow: bool, seconds: Option<f64>, ratio: Option<f64>) {
        let mut book = self.book();
        let t = book
            .provers
            .entry((prover.to_string(), shadow))
            .or_default();
        match seconds {
            Some(s) => {
                t.valid += 1;
                t.seconds.push(s);
            }
            None => t.invalid += 1,
        }
        t.vs_production.extend(ratio);
    }

    /// Every prover whose proofs were checked in this run (`l2_getProvers`).
    pub fn provers(&self) -> Vec<rollup_rpc_api::ProverInfo> {
        self.book()
            .provers
            .iter()
            .map(|((name, shadow), t)| rollup_rpc_api::ProverInfo {
                name: name.clone(),
                shadow: *shadow,
                valid: t.valid,
                invalid: t.invalid,
                median_seconds: median(&t.seconds),
                median_vs_production: median(&t.vs_production),
            })
            .collect()
    }

    fn store_artifact(&self, index: u64, a: &ProofArtifact) -> Result<()> {
        let stored = StoredArtifact::from(a);
        self.store.write(|w| w.put(table(a.kind), index, &stored))
    }

    /// The stored artifact of `kind`'s table at `index` (chunk proofs by chunk, batch proofs by
    /// batch), whatever its kind: callers check it is the one they need.
    pub fn artifact(&self, kind: ProofKind, index: u64) -> Result<Option<ProofArtifact>> {
        self.store
            .get::<Stored>(table(kind), index)?
            .map(decode_artifact)
            .transpose()
    }

    /// `batch`'s stored proof for L1 (of the backend's [`Backend::last_stage`]), once it is stored
    /// and is `batch`'s (the root it starts from, its new root, its binding: the core's values, as
    /// L1 rebuilds them) under the backend's current key.
    pub fn batch_proof(
        &self,
        batch: &Batch,
        binding: &BatchBinding,
        roots: (Fr, Fr),
    ) -> Result<Option<ProofArtifact>> {
        let expected = binding.public_inputs(roots.0, roots.1);
        self.stored_batch_stage(self.backend.last_stage(), batch.index, &expected)
    }

    /// The stored proof of batch stage `kind` for batch `index`, if it is the one with `expected`
    /// after its accumulator, under the backend's current key, and verifies ([`Coordinator::sound`]:
    /// one that does not is removed, and its stage is made again).
    fn stored_batch_stage(
        &self,
        kind: ProofKind,
        index: u64,
        expected: &[Fr; BATCH_INPUTS],
    ) -> Result<Option<ProofArtifact>> {
        self.stored_for(&batch_stage_task(kind, index, *expected))
    }

    /// `task`'s stored artifact, if one is stored that the task accepts under the backend's current
    /// key ([`ProofTask::accepts_from`]) and that verifies ([`Coordinator::sound`]).
    fn stored_for(&self, task: &ProofTask) -> Result<Option<ProofArtifact>> {
        let key = (task.kind(), task.index());
        let Some(a) = self.artifact(key.0, key.1)? else {
            return Ok(None);
        };
        if !task.accepts_from(self.backend.as_ref(), &a) {
            return Ok(None);
        }
        Ok(self.sound(key, &a)?.then_some(a))
    }

    /// When batch `index`'s proof for L1 was made, if in this run.
    pub fn ready_at(&self, index: u64) -> Option<Instant> {
        self.book()
            .tasks
            .get(&(self.backend.last_stage(), index))
            .and_then(|e| e.proven.map(|(t, _)| t))
    }

    /// Who proved `key` in this run: the backend's name in-process, or the queue's worker.
    pub fn prover_of(&self, key: TaskKey) -> Option<String> {
        self.book().tasks.get(&key).and_then(|e| e.prover.clone())
    }

    /// Seconds the proof of `key` took, if proven in this run.
    pub fn prove_seconds(&self, key: TaskKey) -> Option<f64> {
        self.book()
            .tasks
            .get(&key)
            .and_then(|e| e.proven.map(|(_, s)| s))
    }

    /// Where the task `key` is (`None`: not known to this run: not scheduled yet, or proven before
    /// it).
    pub fn state(&self, key: TaskKey) -> Option<TaskState> {
        self.book().tasks.get(&key).map(|e| e.state.clone())
    }

    /// How many tasks are in each state.
    pub fn counts(&self) -> TaskCounts {
        let mut c = TaskCounts::default();
        for e in self.book().tasks.values() {
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

/// A task of batch stage `kind` for batch `index` with `expected` (what [`ProofTask::accepts`]
/// reads of it: its kind and the batch's public inputs after the accumulator).
fn batch_stage_task(kind: ProofKind, index: u64, expected: [Fr; BATCH_INPUTS]) -> ProofTask {
    match kind {
        ProofKind::Compressed => ProofTask::Compress {
            index,
            batch: Box::new(ProofArtifact {
                kind: ProofKind::RecursiveBatch,
                public_inputs: Vec::new(),
                proof: Vec::new(),
                vk_digest: [0; 32],
            }),
            expected,
        },
        _ => ProofTask::Batch {
            index,
            chunks: Vec::new(),
            records: Vec::new(),
            expected,
            recursive: kind == ProofKind::RecursiveBatch,
        },
    }
}

/// What a task is, in words, for errors: `chunk 7`, `batch 3 (batch)`, `batch 3's node 1 of level 2`.
fn describe((kind, index): TaskKey) -> String {
    if kind.is_batch() {
        format!("batch {index} ({})", kind.name())
    } else if kind == ProofKind::Node {
        let (batch, level, position) = rollup_prover::task::node_key_parts(index);
        format!("batch {batch}'s node {position} of level {level}")
    } else {
        format!("chunk {index}")
    }
}

/// A worker's result for `task` (`bytes`, as the queue holds it), if it is a proof of the task
/// under `backend`'s current key that verifies natively; otherwise why not.
fn check_result(
    backend: &dyn Backend,
    task: &ProofTask,
    bytes: &[u8],
) -> std::result::Result<ProofArtifact, String> {
    let artifact = rollup_prover::wire::decode_artifact(bytes).map_err(|e| e.to_string())?;
    if !task.accepts_from(backend, &artifact) {
        return Err(
            "it proves other public inputs than the task's, or is made with another key".into(),
        );
    }
    match backend.verify(&artifact) {
        Ok(true) => Ok(artifact),
        Ok(false) => Err("it does not verify against the key".into()),
        Err(e) => Err(format!("it could not be verified: {e}")),
    }
}

/// The order tasks run in: the last stage first (it finalizes sooner), chunks last.
fn stage_order(kind: ProofKind) -> u8 {
    match kind {
        ProofKind::Compressed => 0,
        ProofKind::Batch | ProofKind::RecursiveBatch => 1,
        ProofKind::Node => 2,
        ProofKind::Chunk | ProofKind::RecursiveChunk => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rollup_protocol::field;

    /// Stored artifacts keep their kind; rows written before kinds were stored are L1 chunk proofs.
    #[test]
    fn a_stored_artifact_keeps_its_kind() -> std::result::Result<(), Box<dyn std::error::Error>> {
        for kind in [
            ProofKind::Chunk,
            ProofKind::RecursiveChunk,
            ProofKind::Batch,
            ProofKind::RecursiveBatch,
            ProofKind::Compressed,
            ProofKind::Node,
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
