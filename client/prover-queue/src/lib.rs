//! The proof queue on PostgreSQL: the coordinator enqueues proof tasks, prover workers on any
//! number of machines lease them, prove, and store their results once; the coordinator reads each
//! result, verifies it natively, and accepts or rejects it.
//!
//! A task's life (`migrations/0001_proof_queue.sql`):
//!
//! ```text
//! enqueue ─▶ queued ─lease─▶ leased ─complete─▶ done ─reject─▶ queued (or parked)
//!              ▲               │ heartbeat renews the lease
//!              ├── release ────┤ (a worker stopping: its attempt given back)
//!              ├── fail ───────┤ (attempts left)         fail, no attempts left ─▶ parked
//!              └── lease expired (another worker leases it; none left ─▶ parked)
//! ```
//!
//! - **Leases** are taken with `FOR UPDATE SKIP LOCKED`: two workers never hold one task, and
//!   neither waits for the other. A lease not renewed by [`Queue::heartbeat`] expires, and the
//!   task goes to the next worker that asks; heartbeats renew nothing once a worker has held a
//!   task for [`MAX_HOLD_SECS`] (a prover hung while its heartbeats go on).
//! - **Attempts** count leases. After `max_attempts` failed or expired ones a task is *parked*:
//!   reported ([`Queue::parked`]), never retried until [`Queue::requeue`].
//! - **A result is stored once**, keyed by the task id, only from the worker holding the task's
//!   lease, and only if it was made with the task's circuit (its verifying-key digest): a second
//!   result for the task (a repeated upload) is [`Completion::AlreadyStored`], never a second
//!   row, and one from a worker whose task another took over is [`Completion::NotHolder`]. The
//!   queue does not verify proofs: the coordinator does, before it accepts one, and
//!   [`Queue::reject`]s a wrong one, naming the worker; a rejection counts as an attempt.
//! - **A worker holds one task at a time**: leasing again returns the task it holds.
//! - **A worker's login is not the operator's** (`migrations/0002_worker_access.sql`): the
//!   worker's operations ([`Queue::lease`], [`Queue::heartbeat`], [`Queue::complete`],
//!   [`Queue::fail`], [`Queue::release`]) are functions that a member of the role
//!   `proof_queue_worker` may call and that act only under names prefixed with its login, and
//!   nothing else: the tables, and the coordinator's operations, are the owner's.
//!
//! Every operation is one SQL statement (a transaction of its own), or a check after one, so a
//! crash of a worker, a coordinator or the database between any two leaves the queue consistent;
//! an operation whose connection failed may or may not have happened, and repeating it gives the
//! same outcome (`complete` then says `AlreadyStored`, `fail` and `release` say the worker no
//! longer holds the task).
//!
//! [`cluster::Cluster`] starts a throwaway PostgreSQL server in a temporary directory, for tests
//! and devnets.

pub mod cluster;

use std::sync::Arc;
use std::time::Duration;

use tokio_postgres::{Client, NoTls};

/// What can go wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database refused a statement or the connection failed.
    #[error("PostgreSQL: {0}")]
    Db(#[from] tokio_postgres::Error),
    /// A task with this id is already queued with another kind, circuit or input.
    #[error("proof task {0} is already queued with another kind, circuit or input")]
    Conflict(String),
    /// No task has this id.
    #[error("no proof task {0}")]
    UnknownTask(String),
    /// A result made with another circuit than the task's.
    #[error("task {task} needs a proof for circuit {circuit}, not {vk_digest}")]
    WrongCircuit {
        /// The task.
        task: String,
        /// The task's circuit (verifying-key digest).
        circuit: String,
        /// The digest the result was made with.
        vk_digest: String,
    },
    /// The queue holds a value this version does not know (a newer schema's, say).
    #[error("the proof queue holds {0}, which this version does not know")]
    Unknown(String),
    /// Starting or stopping a throwaway cluster failed.
    #[error("throwaway PostgreSQL cluster: {0}")]
    Cluster(String),
    /// A worker's link found migrations this version needs not applied yet: the operator applies
    /// them when it starts (start or upgrade it first). Waited out, as a lost connection is.
    #[error(
        "the proof queue's schema lacks migrations this worker needs: the operator applies them (start or upgrade it first)"
    )]
    SchemaBehind,
}

impl Error {
    /// Whether the connection is gone or the server cannot serve it for now (it restarted, is
    /// starting up or shutting down, has no connection slot free, or the network failed), or a
    /// statement ran past the session's timeouts: reconnect with [`Queue::connect`] (or
    /// [`Link::get`]) and repeat the operation. [`Error::SchemaBehind`] counts too: a worker
    /// started before the operator waits for it.
    pub fn is_connection(&self) -> bool {
        let e = match self {
            Error::Db(e) => e,
            Error::SchemaBehind => return true,
            _ => return false,
        };
        if e.is_closed() {
            return true;
        }
        match e.code() {
            None => true,
            Some(code) => {
                let code = code.code();
                // Class 08: connection exceptions. 57P01-57P03: administrator shutdown, crash
                // shutdown, cannot connect now (starting up). 53300: too many connections.
                // 57014: a statement cancelled by `statement_timeout`; 55P03: `lock_timeout`.
                code.starts_with("08")
                    || matches!(
                        code,
                        "57P01" | "57P02" | "57P03" | "53300" | "57014" | "55P03"
                    )
            }
        }
    }
}

/// The queue's result type.
pub type Result<T> = std::result::Result<T, Error>;

/// Where a task is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskState {
    /// Waiting for a worker.
    Queued,
    /// A worker holds it.
    Leased,
    /// Its result is stored.
    Done,
    /// Failed too often: waiting for an operator.
    Parked,
}

impl TaskState {
    fn parse(s: &str) -> Result<TaskState> {
        Ok(match s {
            "queued" => TaskState::Queued,
            "leased" => TaskState::Leased,
            "done" => TaskState::Done,
            "parked" => TaskState::Parked,
            other => return Err(Error::Unknown(format!("the task state {other:?}"))),
        })
    }
}

/// A task to enqueue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTask {
    /// Its id: stable across retries and restarts (enqueueing an id twice is a no-op).
    pub id: String,
    /// Its type (`chunk`, `batch`, ...): workers lease only the types they serve.
    pub kind: String,
    /// The digest of the verifying key its result must be made with.
    pub circuit: String,
    /// Its inputs, opaque to the queue.
    pub input: Vec<u8>,
    /// Leases after which a failing task is parked.
    pub max_attempts: u32,
}

/// A task a worker leased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leased {
    /// The task's id.
    pub id: String,
    /// Its type.
    pub kind: String,
    /// The digest of the verifying key to prove with.
    pub circuit: String,
    /// Its inputs.
    pub input: Vec<u8>,
    /// Leases taken so far, this one included.
    pub attempts: u32,
}

/// What a worker asks for when it leases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The worker's name, unique among the workers of a queue (host and process, say).
    pub worker: String,
    /// The task types it serves.
    pub kinds: Vec<String>,
    /// The circuits (verifying-key digests) it holds keys for.
    pub circuits: Vec<String>,
    /// How long a lease lasts without a heartbeat.
    pub duration: Duration,
}

/// What storing a result did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completion {
    /// This result is the task's.
    Stored,
    /// The task already had one: this one was dropped.
    AlreadyStored,
    /// The worker does not hold the task's lease (another worker took it over after this one's
    /// lease expired, or it was never this worker's): this one was dropped.
    NotHolder,
}

/// A stored result.
#[derive(Debug, Clone, PartialEq)]
pub struct ProofResult {
    /// The verifying-key digest it was made with (the task's circuit).
    pub vk_digest: String,
    /// The proof, as the worker's backend wrote it.
    pub proof: Vec<u8>,
    /// The worker that made it.
    pub worker: String,
    /// How long it took the worker, in seconds, as the worker says.
    pub seconds: f64,
    /// From the worker's lease to the stored result, in seconds, by the database's clock: the time
    /// to report and compare (a shadow's against production's), since `seconds` is the worker's
    /// word. `None` for a result of a task leased before `leased_at` was kept.
    pub lease_seconds: Option<f64>,
}

/// A task as the queue holds it, for reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskInfo {
    /// Its id.
    pub id: String,
    /// Its type.
    pub kind: String,
    /// Where it is.
    pub state: TaskState,
    /// Leases taken.
    pub attempts: u32,
    /// The worker holding it, while leased.
    pub lease_holder: Option<String>,
    /// The last failure, expiry or rejection, with the worker it came from.
    pub last_error: Option<String>,
}

/// The queue's counts, for metrics.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    /// Tasks waiting for a worker.
    pub queued: u64,
    /// Tasks a worker holds.
    pub leased: u64,
    /// Tasks with a result.
    pub done: u64,
    /// Tasks parked after too many failures.
    pub parked: u64,
    /// Seconds since the oldest current lease was taken (0 with none).
    pub oldest_lease_seconds: f64,
}

/// The schema's migrations, in order: `(version, SQL)`. Applied once each, under an advisory lock,
/// by [`Queue::migrate`].
const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("../migrations/0001_proof_queue.sql")),
    (2, include_str!("../migrations/0002_worker_access.sql")),
];

/// The advisory lock key that serializes migrations across processes.
const MIGRATION_LOCK: i64 = 0x7072_6f6f_6671;

/// The longest a statement may run (`statement_timeout`).
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest a statement may wait for a lock (`lock_timeout`).
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest lease [`Queue::lease`] and [`Queue::heartbeat`] ask for, whatever the caller
/// asks (seconds): a worker holds a task no longer than this without a heartbeat.
pub const MAX_LEASE_SECS: f64 = 600.0;

/// The longest a worker holds one lease, heartbeats or not (seconds): past it [`Queue::heartbeat`]
/// renews nothing, so a worker whose prover hangs while its heartbeats go on still loses the task
/// within [`MAX_LEASE_SECS`] more, and the next worker takes it (an attempt spent; after the last,
/// the task is parked and the operator proves it itself). An hour: about ten times the longest
/// stage on 2 cores.
pub const MAX_HOLD_SECS: f64 = 3600.0;

/// The proof queue at a URL, connected on first use and again after the connection is lost (a
/// database restart, a network failure): what a long-running coordinator or worker holds.
#[derive(Debug)]
pub struct Link {
    url: String,
    queue: std::sync::Mutex<Option<Arc<Queue>>>,
    /// Whether connecting applies missing migrations (the coordinator's link) or only checks
    /// that none is missing (a worker's).
    migrate: bool,
}

impl Link {
    /// The queue at `url`, for a coordinator: connecting applies the migrations this version has
    /// and the database lacks. Nothing is connected yet.
    pub fn new(url: impl Into<String>) -> Link {
        Link {
            url: url.into(),
            queue: std::sync::Mutex::new(None),
            migrate: true,
        }
    }

    /// The queue at `url`, for a worker: connecting never migrates (a worker's login may not, and
    /// should not own what it would create); until every migration is applied, [`Link::get`]
    /// answers [`Error::SchemaBehind`].
    pub fn worker(url: impl Into<String>) -> Link {
        Link {
            migrate: false,
            ..Link::new(url)
        }
    }

    fn held(&self) -> std::sync::MutexGuard<'_, Option<Arc<Queue>>> {
        // Every update is one assignment: a poisoned lock holds a whole value.
        self.queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The current connection, or a new one (with the migrations applied, or for a worker's link
    /// checked) when there is none or it is closed.
    pub async fn get(&self) -> Result<Arc<Queue>> {
        if let Some(q) = self.held().as_ref()
            && !q.client.is_closed()
        {
            return Ok(q.clone());
        }
        let q = Arc::new(Queue::connect(&self.url).await?);
        if self.migrate {
            q.migrate().await?;
        } else if !q.applied_all().await? {
            return Err(Error::SchemaBehind);
        }
        *self.held() = Some(q.clone());
        Ok(q)
    }

    /// Forgets the connection (after [`Error::is_connection`]): the next [`Link::get`] connects
    /// again.
    pub fn forget(&self) {
        *self.held() = None;
    }
}

/// The task type of shadow copies of `kind`'s tasks: what shadow workers lease, and production
/// workers never do (`shadow:<kind>`).
pub fn shadow_kind(kind: &str) -> String {
    format!("shadow:{kind}")
}

/// A connection to the proof queue.
#[derive(Debug)]
pub struct Queue {
    client: Client,
}

impl Queue {
    /// Connects to the database at `url` (a libpq connection string or URL). The connection is
    /// driven on the current tokio runtime.
    /// Every statement is bounded ([`STATEMENT_TIMEOUT`], [`LOCK_TIMEOUT`]): a client holding a
    /// row or the migration lock cannot block another forever, and an expired statement is an
    /// [`Error::is_connection`] error, repeated after a reconnect.
    pub async fn connect(url: &str) -> Result<Queue> {
        let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(error = %e, "the proof queue's connection ended");
            }
        });
        client
            .batch_execute(&format!(
                "SET statement_timeout = {}; SET lock_timeout = {}",
                STATEMENT_TIMEOUT.as_millis(),
                LOCK_TIMEOUT.as_millis()
            ))
            .await?;
        Ok(Queue { client })
    }

    /// Applies the migrations this version has and the database lacks, each in a transaction,
    /// one process at a time (the others wait, then find them applied). When none is missing,
    /// which is all a worker's login ever finds, it takes no lock: a login holding the migrations'
    /// advisory lock cannot keep anyone from connecting.
    pub async fn migrate(&self) -> Result<()> {
        if self.applied_all().await? {
            return Ok(());
        }
        self.client
            .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        let applied = self.apply_migrations().await;
        let unlocked = self
            .client
            .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
            .await;
        applied?;
        unlocked?;
        Ok(())
    }

    /// Whether the migrations' own table exists.
    async fn has_migrations_table(&self) -> Result<bool> {
        let name: Option<String> = self
            .client
            .query_one("SELECT to_regclass('proof_queue_migrations')::text", &[])
            .await?
            .try_get(0)?;
        Ok(name.is_some())
    }

    /// Whether every migration of this version is applied (read without the lock).
    async fn applied_all(&self) -> Result<bool> {
        if !self.has_migrations_table().await? {
            return Ok(false);
        }
        let versions: Vec<i32> = MIGRATIONS.iter().map(|(v, _)| *v).collect();
        let applied: i64 = self
            .client
            .query_one(
                "SELECT count(*) FROM proof_queue_migrations WHERE version = ANY($1)",
                &[&versions],
            )
            .await?
            .try_get(0)?;
        Ok(applied == versions.len() as i64)
    }

    async fn apply_migrations(&self) -> Result<()> {
        // Created only when missing (under the lock): `IF NOT EXISTS` alone would have the server
        // send a notice on every connection.
        if !self.has_migrations_table().await? {
            self.client
                .batch_execute(
                    "CREATE TABLE proof_queue_migrations (
                         version    INTEGER PRIMARY KEY,
                         applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
                     )",
                )
                .await?;
        }
        for (version, sql) in MIGRATIONS {
            let done = self
                .client
                .query_opt(
                    "SELECT 1 FROM proof_queue_migrations WHERE version = $1",
                    &[version],
                )
                .await?
                .is_some();
            if done {
                continue;
            }
            self.client
                .batch_execute(&format!(
                    "BEGIN;\n{sql}\nINSERT INTO proof_queue_migrations (version) VALUES ({version});\nCOMMIT;"
                ))
                .await?;
            tracing::info!(version, "proof queue migration applied");
        }
        Ok(())
    }

    /// Adds a task; returns whether it was new. A task with its id already there (queued, leased,
    /// done or parked) is left as it is if it is the same task, and is [`Error::Conflict`] if its
    /// kind, circuit or input differ (a task made again under a new key needs a new id).
    pub async fn enqueue(&self, task: &NewTask) -> Result<bool> {
        let max = i32::try_from(task.max_attempts.max(1)).unwrap_or(i32::MAX);
        let n = self
            .client
            .execute(
                "INSERT INTO proof_tasks (id, kind, circuit, input, max_attempts)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (id) DO NOTHING",
                &[&task.id, &task.kind, &task.circuit, &task.input, &max],
            )
            .await?;
        if n == 1 {
            return Ok(true);
        }
        let same = self
            .client
            .query_opt(
                "SELECT 1 FROM proof_tasks
                 WHERE id = $1 AND kind = $2 AND circuit = $3 AND input = $4",
                &[&task.id, &task.kind, &task.circuit, &task.input],
            )
            .await?
            .is_some();
        if same {
            Ok(false)
        } else {
            Err(Error::Conflict(task.id.clone()))
        }
    }

    /// Leases the oldest task of the kinds and circuits `lease` serves, if any is queued or its
    /// lease expired. An expired lease with no attempts left parks its task instead.
    pub async fn lease(&self, lease: &Lease) -> Result<Option<Leased>> {
        // A worker holds one task at a time: asking again (after a lost answer) returns the task it
        // holds rather than a second one, whose lease would lapse and spend an attempt. The
        // statements are migration 2's `proof_queue_lease`, which a worker's login may call.
        let row = self
            .client
            .query_opt(
                "SELECT * FROM proof_queue_lease($1, $2, $3, $4)",
                &[
                    &lease.worker,
                    &lease.kinds,
                    &lease.circuits,
                    &lease.duration.as_secs_f64().min(MAX_LEASE_SECS),
                ],
            )
            .await?;
        row.map(|r| leased(&r)).transpose()
    }

    /// Renews `worker`'s lease of task `id` for `duration`; false when it no longer holds it (it
    /// expired and another worker took it, or the task was released) or has held it for
    /// [`MAX_HOLD_SECS`]: the lease then runs out, and the task goes to the next worker.
    pub async fn heartbeat(&self, worker: &str, id: &str, duration: Duration) -> Result<bool> {
        let row = self
            .client
            .query_one(
                "SELECT proof_queue_heartbeat($1, $2, $3)",
                &[&worker, &id, &duration.as_secs_f64().min(MAX_LEASE_SECS)],
            )
            .await?;
        Ok(row.try_get(0)?)
    }

    /// Stores `worker`'s proof of task `id`, made with verifying key `vk_digest` in `seconds`, if
    /// `worker` holds the task's lease (expired or not: a proof made after its lease lapsed is as
    /// good as any while no other worker took the task over) and the task has no result yet; the
    /// task is then done. A worker that does not hold the task gets [`Completion::NotHolder`] and
    /// nothing changes, so that no worker can pre-empt the one proving a task with a result of its
    /// own; a repeated call (after a lost answer) gets [`Completion::AlreadyStored`].
    pub async fn complete(
        &self,
        worker: &str,
        id: &str,
        vk_digest: &str,
        proof: &[u8],
        seconds: f64,
    ) -> Result<Completion> {
        let row = self
            .client
            .query_opt(
                "SELECT * FROM proof_queue_complete($1, $2, $3, $4, $5)",
                &[&worker, &id, &vk_digest, &proof, &seconds],
            )
            .await?;
        let Some(row) = row else {
            return Err(Error::UnknownTask(id.into()));
        };
        let circuit: String = row.try_get(0)?;
        if circuit != vk_digest {
            return Err(Error::WrongCircuit {
                task: id.into(),
                circuit,
                vk_digest: vk_digest.into(),
            });
        }
        let stored: i64 = row.try_get(1)?;
        // Whether the task was done before this call: the row as locked, so a racing call's
        // committed result counts (a `done` task always has its result; a rejection requeues it).
        let had_result: bool = row.try_get(2)?;
        Ok(if stored == 1 {
            Completion::Stored
        } else if had_result {
            Completion::AlreadyStored
        } else {
            Completion::NotHolder
        })
    }

    /// Records `worker`'s failure of task `id`: queued again, or parked when it has no attempts
    /// left. `None` when the worker no longer holds the task (nothing changed).
    pub async fn fail(&self, worker: &str, id: &str, error: &str) -> Result<Option<TaskState>> {
        let row = self
            .client
            .query_one(
                "SELECT proof_queue_fail($1, $2, $3)",
                &[&worker, &id, &error],
            )
            .await?;
        let state: Option<String> = row.try_get(0)?;
        state.map(|s| TaskState::parse(&s)).transpose()
    }

    /// Gives task `id` back without counting the attempt (a worker stopping, its proof not made);
    /// false when the worker no longer held it.
    pub async fn release(&self, worker: &str, id: &str) -> Result<bool> {
        let row = self
            .client
            .query_one("SELECT proof_queue_release($1, $2)", &[&worker, &id])
            .await?;
        Ok(row.try_get(0)?)
    }

    /// The stored result of task `id`, if any.
    pub async fn result(&self, id: &str) -> Result<Option<ProofResult>> {
        let row = self
            .client
            .query_opt(
                "SELECT r.vk_digest, r.proof, r.worker, r.seconds,
                        extract(epoch FROM r.created_at - t.leased_at)::float8
                 FROM proof_results r JOIN proof_tasks t ON t.id = r.task_id
                 WHERE r.task_id = $1",
                &[&id],
            )
            .await?;
        row.map(|r| {
            Ok(ProofResult {
                vk_digest: r.try_get(0)?,
                proof: r.try_get(1)?,
                worker: r.try_get(2)?,
                seconds: r.try_get(3)?,
                lease_seconds: r.try_get(4)?,
            })
        })
        .transpose()
    }

    /// Tasks `ids` as the queue holds them, each with its result if it has one, in one statement
    /// (what a coordinator polls every tick, however many tasks it waits for); an id the queue does
    /// not hold is absent.
    pub async fn statuses(
        &self,
        ids: &[String],
    ) -> Result<std::collections::HashMap<String, (TaskInfo, Option<ProofResult>)>> {
        let rows = self
            .client
            .query(
                "SELECT t.id, t.kind, t.state, t.attempts, t.lease_holder, t.last_error,
                        r.vk_digest, r.proof, r.worker, r.seconds,
                        extract(epoch FROM r.created_at - t.leased_at)::float8
                 FROM proof_tasks t LEFT JOIN proof_results r ON r.task_id = t.id
                 WHERE t.id = ANY($1)",
                &[&ids],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let task = info(r)?;
                let result = match r.try_get::<_, Option<String>>(6)? {
                    Some(vk_digest) => Some(ProofResult {
                        vk_digest,
                        proof: r.try_get(7)?,
                        worker: r.try_get(8)?,
                        seconds: r.try_get(9)?,
                        lease_seconds: r.try_get(10)?,
                    }),
                    None => None,
                };
                Ok((task.id.clone(), (task, result)))
            })
            .collect()
    }

    /// The coordinator found `worker`'s result `proof` of task `id` wrong (`reason`): it is deleted
    /// and the task queued again, the rejection counted as an attempt (so a worker that keeps
    /// returning wrong proofs gets the task parked, not retried forever). Returns whether that
    /// result was there: a repeated call, or any other result stored since (another worker's, or
    /// the same worker's next one, which a second coordinator has not checked), is left alone.
    pub async fn reject(&self, id: &str, worker: &str, proof: &[u8], reason: &str) -> Result<bool> {
        // The task row is locked first, as `complete` locks it, so the two never wait on each other
        // in opposite orders.
        let row = self
            .client
            .query_opt(
                "WITH task AS (
                     SELECT id FROM proof_tasks WHERE id = $1 FOR UPDATE
                 ), gone AS (
                     DELETE FROM proof_results
                     WHERE task_id = (SELECT id FROM task) AND worker = $2 AND proof = $4
                     RETURNING task_id
                 ), requeued AS (
                     UPDATE proof_tasks
                     SET attempts = attempts + 1,
                         state = CASE WHEN attempts + 1 >= max_attempts THEN 'parked' ELSE 'queued' END,
                         updated_at = now(),
                         last_error = 'the result of ' || $2 || ' was rejected: ' || $3
                     WHERE id IN (SELECT task_id FROM gone)
                     RETURNING id
                 )
                 SELECT (SELECT count(*) FROM requeued) FROM task",
                &[&id, &worker, &reason, &proof],
            )
            .await?;
        let Some(row) = row else {
            return Err(Error::UnknownTask(id.into()));
        };
        Ok(row.try_get::<_, i64>(0)? == 1)
    }

    /// Queues a parked task again with its attempts reset (an operator's decision, after fixing
    /// what made it fail); false when it was not parked.
    pub async fn requeue(&self, id: &str) -> Result<bool> {
        let n = self
            .client
            .execute(
                "UPDATE proof_tasks SET state = 'queued', attempts = 0, updated_at = now()
                 WHERE id = $1 AND state = 'parked'",
                &[&id],
            )
            .await?;
        Ok(n == 1)
    }

    /// Task `id` as the queue holds it.
    pub async fn task(&self, id: &str) -> Result<Option<TaskInfo>> {
        let row = self
            .client
            .query_opt(
                "SELECT id, kind, state, attempts, lease_holder, last_error
                 FROM proof_tasks WHERE id = $1",
                &[&id],
            )
            .await?;
        row.map(|r| info(&r)).transpose()
    }

    /// Every task, oldest first (reports and tests).
    pub async fn tasks(&self) -> Result<Vec<TaskInfo>> {
        let rows = self
            .client
            .query(
                "SELECT id, kind, state, attempts, lease_holder, last_error
                 FROM proof_tasks ORDER BY created_at, id",
                &[],
            )
            .await?;
        rows.iter().map(info).collect()
    }

    /// The parked tasks, oldest first: what an operator must look at.
    pub async fn parked(&self) -> Result<Vec<TaskInfo>> {
        let rows = self
            .client
            .query(
                "SELECT id, kind, state, attempts, lease_holder, last_error
                 FROM proof_tasks WHERE state = 'parked' ORDER BY created_at, id",
                &[],
            )
            .await?;
        rows.iter().map(info).collect()
    }

    /// The counts per state and the oldest lease's age.
    pub async fn stats(&self) -> Result<Stats> {
        let row = self
            .client
            .query_one(
                "SELECT count(*) FILTER (WHERE state = 'queued'),
                        count(*) FILTER (WHERE state = 'leased'),
                        count(*) FILTER (WHERE state = 'done'),
                        count(*) FILTER (WHERE state = 'parked'),
                        coalesce(extract(epoch FROM now() - min(leased_at)
                                         FILTER (WHERE state = 'leased'))::float8, 0)
                 FROM proof_tasks",
                &[],
            )
            .await?;
        let n =
            |i: usize| -> Result<u64> { Ok(u64::try_from(row.try_get::<_, i64>(i)?).unwrap_or(0)) };
        Ok(Stats {
            queued: n(0)?,
            leased: n(1)?,
            done: n(2)?,
            parked: n(3)?,
            oldest_lease_seconds: row.try_get(4)?,
        })
    }
}

fn leased(r: &tokio_postgres::Row) -> Result<Leased> {
    Ok(Leased {
        id: r.try_get(0)?,
        kind: r.try_get(1)?,
        circuit: r.try_get(2)?,
        input: r.try_get(3)?,
        attempts: count(r.try_get(4)?),
    })
}

fn count(n: i32) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

fn info(r: &tokio_postgres::Row) -> Result<TaskInfo> {
    Ok(TaskInfo {
        id: r.try_get(0)?,
        kind: r.try_get(1)?,
        state: TaskState::parse(r.try_get(2)?)?,
        attempts: count(r.try_get(3)?),
        lease_holder: r.try_get(4)?,
        last_error: r.try_get(5)?,
    })
}
