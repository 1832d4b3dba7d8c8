//! The operator's coordinator and prover workers around a real PostgreSQL proof queue (a throwaway
//! cluster), with real one-slot chunk proofs:
//!
//! - a worker that uploads a wrong proof is caught: the coordinator rejects it (the task goes back
//!   to the queue, the worker named in its last error), and an honest worker's proof is accepted;
//! - two coordinators (two operators' stores) racing for the same task share one task and one
//!   result, and both accept it;
//! - shadow workers get copies of the tasks: their proofs are checked (a wrong one reported) and
//!   timed against production's, and never stored in place of production's;
//! - a task the queue parks, or that no worker delivers in time, is proven by the operator.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rollup_operator::coordinator::Coordinator;
use rollup_operator::queue::Remote;
use rollup_operator::store::Store;
use rollup_prover::{Backend, Pipeline, ProofArtifact, ProofKind, ProofTask, SrsSource};
use rollup_prover_queue::cluster::Cluster;
use rollup_prover_queue::{Link, Queue, TaskState};
use rollup_prover_worker::{Settings, Worker};
use rollup_test_utils::{Result, wait_for};
use tokio::sync::watch;

const CHAIN: u64 = 31_337;

/// The committed verifier's chunk stage (one-slot chunks), from the workspace's shared key cache.
fn chunk_backend() -> rollup_prover::Result<Arc<dyn Backend>> {
    let pipeline = Pipeline {
        slots: 1,
        chain_id: CHAIN,
        capacity: 1,
        tree_depth: 0,
        compress: false,
        srs: SrsSource::Development,
        key_cache: PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("keys"),
    };
    Ok(Arc::new(pipeline.load_chunks(None)?))
}

/// A backend that proves honestly, then flips a byte of every proof: its artifacts claim the
/// right inputs and key but do not verify.
#[derive(Debug)]
struct Liar(Arc<dyn Backend>);

impl Backend for Liar {
    fn name(&self) -> &str {
        "liar"
    }
    fn params_digest(&self) -> [u8; 32] {
        self.0.params_digest()
    }
    fn vk_digest(&self, kind: ProofKind) -> Option<[u8; 32]> {
        self.0.vk_digest(kind)
    }
    fn prove(&self, task: &ProofTask) -> rollup_prover::Result<ProofArtifact> {
        let mut a = self.0.prove(task)?;
        if let Some(b) = a.proof.last_mut() {
            *b ^= 1;
        }
        Ok(a)
    }
    fn verify(&self, a: &ProofArtifact) -> rollup_prover::Result<bool> {
        self.0.verify(a)
    }
}

/// A worker of `backend` named `name`, serving chunk proofs, running until the returned sender
/// says stop.
fn spawn_worker(
    url: &str,
    name: &str,
    backend: Arc<dyn Backend>,
) -> Result<(
    watch::Sender<bool>,
    tokio::task::JoinHandle<rollup_prover_worker::Result<rollup_prover_worker::Summary>>,
)> {
    spawn_worker_as(url, name, backend, false)
}

/// [`spawn_worker`], a shadow worker when `shadow`.
fn spawn_worker_as(
    url: &str,
    name: &str,
    backend: Arc<dyn Backend>,
    shadow: bool,
) -> Result<(
    watch::Sender<bool>,
    tokio::task::JoinHandle<rollup_prover_worker::Result<rollup_prover_worker::Summary>>,
)> {
    let mut settings = Settings::new(name, vec![ProofKind::RecursiveChunk]);
    settings.heartbeat = Duration::from_secs(1);
    settings.idle = Duration::from_millis(100);
    settings.shadow = shadow;
    let worker = Worker::new(Link::worker(url), backend, settings)?;
    let (stop, stopped) = watch::channel(false);
    Ok((stop, tokio::spawn(async move { worker.run(stopped).await })))
}

fn coordinator(dir: &std::path::Path, url: &str, backend: Arc<dyn Backend>) -> Result<Coordinator> {
    std::fs::create_dir_all(dir)?;
    let store = Arc::new(Store::open(&dir.join("operator.redb"))?);
    Ok(Coordinator::new(store, backend).with_queue(Remote::new(url)))
}

/// Runs `c` until it stores the proof of `key`.
async fn until_proven(c: &Coordinator, key: (ProofKind, u64)) -> Result {
    wait_for(
        "the proof accepted",
        Duration::from_secs(300),
        || async move {
            c.run_next().await?;
            Ok(c.artifact(key.0, key.1)?.map(|_| ()))
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_proof_is_rejected_and_racing_coordinators_share_one_result() -> Result {
    let cluster = Cluster::start().await?;
    let url = cluster.url();
    let backend = tokio::task::spawn_blocking(chunk_backend).await??;
    let dir = std::env::temp_dir().join(format!("coordinators-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let chunk = rollup_circuits::sample::full_chunk(1, CHAIN)?;
    let task = ProofTask::RecursiveChunk {
        index: 0,
        chunk: Box::new(chunk),
    };
    let key = (ProofKind::RecursiveChunk, 0);

    // The liar's proof is rejected, the task queued again with the liar named.
    let first = coordinator(&dir.join("first"), &url, backend.clone())?;
    first.submit(task.clone())?;
    first.run_next().await?;
    let q = Queue::connect(&url).await?;
    let tasks = q.tasks().await?;
    let [queued] = tasks.as_slice() else {
        return Err(format!("one task expected: {tasks:?}").into());
    };
    let id = queued.id.clone();
    let (stop_liar, liar) = spawn_worker(&url, "liar", Arc::new(Liar(backend.clone())))?;
    wait_for(
        "the liar's proof rejected",
        Duration::from_secs(300),
        || {
            let (q, first, id) = (&q, &first, &id);
            async move {
                first.run_next().await?;
                let t = q.task(id).await?.ok_or("the task is gone")?;
                Ok(t.last_error
                    .filter(|e| e.contains("liar") && e.contains("rejected"))
                    .map(|_| ()))
            }
        },
    )
    .await?;
    stop_liar.send(true)?;
    let summary = liar.await??;
    assert!(summary.proven >= 1, "{summary:?}");
    assert!(
        first.artifact(key.0, key.1)?.is_none(),
        "a wrong proof was stored"
    );

    // A second coordinator races for the same task: the same id, nothing new in the queue.
    let second = coordinator(&dir.join("second"), &url, backend.clone())?;
    second.submit(task.clone())?;
    second.run_next().await?;
    assert_eq!(
        q.tasks().await?.len(),
        1,
        "the racing coordinator made a second task"
    );

    // An honest worker's proof is accepted by both.
    let (stop_honest, honest) = spawn_worker(&url, "honest", backend.clone())?;
    until_proven(&first, key).await?;
    until_proven(&second, key).await?;
    stop_honest.send(true)?;
    assert_eq!(honest.await??.proven, 1);
    let done = q.task(&id).await?.ok_or("the task is gone")?;
    assert_eq!(done.state, TaskState::Done);
    // The liar's lease, its rejection (which counts as an attempt, so that a lying worker gets a task
    // parked rather than retried forever), the honest worker's lease; a lease the liar took again
    // and gave back when stopped counts for nothing.
    assert_eq!(done.attempts, 3, "{done:?}");
    assert_eq!(q.result(&id).await?.ok_or("no result")?.worker, "honest");
    for c in [&first, &second] {
        let a = c.artifact(key.0, key.1)?.ok_or("not stored")?;
        assert!(backend.verify(&a)?);
        assert!(task.accepts_from(backend.as_ref(), &a));
        assert_eq!(c.prover_of(key).as_deref(), Some("honest"));
    }
    cluster.stop()?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shadow_proofs_are_checked_and_timed_never_used() -> Result {
    let cluster = Cluster::start().await?;
    let url = cluster.url();
    let backend = tokio::task::spawn_blocking(chunk_backend).await??;
    let dir = std::env::temp_dir().join(format!("shadows-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let store = Arc::new(Store::open(&dir.join("operator.redb"))?);
    let c = Coordinator::new(store, backend.clone()).with_queue(Remote::new(&url).with_shadow());
    let chunk = rollup_circuits::sample::full_chunk(1, CHAIN)?;
    let task = |index| ProofTask::RecursiveChunk {
        index,
        chunk: Box::new(chunk.clone()),
    };
    let shadow =
        |c: &Coordinator, name: &str| c.provers().into_iter().find(|p| p.shadow && p.name == name);

    // Task 0: production proves it, a lying shadow worker's copy is reported invalid.
    let (stop_prod, prod) = spawn_worker(&url, "prod", backend.clone())?;
    let (stop_liar, liar) =
        spawn_worker_as(&url, "shadow-liar", Arc::new(Liar(backend.clone())), true)?;
    c.submit(task(0))?;
    until_proven(&c, (ProofKind::RecursiveChunk, 0)).await?;
    let report = wait_for(
        "the lying shadow reported",
        Duration::from_secs(300),
        || {
            let c = &c;
            async move {
                c.run_next().await?;
                Ok(shadow(c, "shadow-liar"))
            }
        },
    )
    .await?;
    assert_eq!((report.valid, report.invalid), (0, 1), "{report:?}");
    stop_liar.send(true)?;
    liar.await??;

    // Task 1: an honest shadow worker's copy is valid, and timed against production's.
    let (stop_honest, honest) = spawn_worker_as(&url, "shadow-honest", backend.clone(), true)?;
    c.submit(task(1))?;
    until_proven(&c, (ProofKind::RecursiveChunk, 1)).await?;
    let report = wait_for(
        "the honest shadow reported",
        Duration::from_secs(300),
        || {
            let c = &c;
            async move {
                c.run_next().await?;
                Ok(shadow(c, "shadow-honest"))
            }
        },
    )
    .await?;
    assert_eq!((report.valid, report.invalid), (1, 0), "{report:?}");
    let ratio = report
        .median_vs_production
        .ok_or("no ratio to production")?;
    assert!(ratio > 0.0 && ratio.is_finite(), "{ratio}");
    stop_honest.send(true)?;
    honest.await??;
    stop_prod.send(true)?;
    prod.await??;

    // What is stored is production's, each time; the shadow results stay in the queue, unused.
    for index in [0, 1] {
        let key = (ProofKind::RecursiveChunk, index);
        assert_eq!(c.prover_of(key).as_deref(), Some("prod"));
        let a = c.artifact(key.0, key.1)?.ok_or("not stored")?;
        assert!(backend.verify(&a)?);
    }
    let prod_report = c
        .provers()
        .into_iter()
        .find(|p| !p.shadow && p.name == "prod")
        .ok_or("no production report")?;
    assert_eq!((prod_report.valid, prod_report.invalid), (2, 0));
    let q = Queue::connect(&url).await?;
    let mut shadow_workers = Vec::new();
    for t in q.tasks().await? {
        let r = q.result(&t.id).await?.ok_or("a task without a result")?;
        if t.kind.starts_with("shadow:") {
            shadow_workers.push(r.worker);
        } else {
            assert_eq!(r.worker, "prod", "{t:?}");
        }
    }
    shadow_workers.sort();
    assert_eq!(shadow_workers, ["shadow-honest", "shadow-liar"]);
    cluster.stop()?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_its_workers_keep_failing_is_proven_by_the_operator() -> Result {
    let cluster = Cluster::start().await?;
    let url = cluster.url();
    let backend = tokio::task::spawn_blocking(chunk_backend).await??;
    let dir = std::env::temp_dir().join(format!("parked-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let c = coordinator(&dir, &url, backend.clone())?;
    let chunk = rollup_circuits::sample::full_chunk(1, CHAIN)?;
    let task = ProofTask::RecursiveChunk {
        index: 0,
        chunk: Box::new(chunk),
    };
    let key = (ProofKind::RecursiveChunk, 0);
    c.submit(task.clone())?;
    // Only a liar serves the queue: its proofs are rejected until the queue parks the task, and
    // the operator proves it itself instead of stopping.
    let (stop_liar, liar) = spawn_worker(&url, "liar", Arc::new(Liar(backend.clone())))?;
    until_proven(&c, key).await?;
    stop_liar.send(true)?;
    liar.await??;
    assert_eq!(c.prover_of(key).as_deref(), Some(backend.name()));
    let a = c.artifact(key.0, key.1)?.ok_or("not stored")?;
    assert!(backend.verify(&a)? && task.accepts_from(backend.as_ref(), &a));
    let q = Queue::connect(&url).await?;
    let tasks = q.tasks().await?;
    let [parked] = tasks.as_slice() else {
        return Err(format!("one task expected: {tasks:?}").into());
    };
    assert_eq!(parked.state, TaskState::Parked, "{parked:?}");
    assert!(
        parked
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("liar")),
        "{parked:?}"
    );
    let liar_report = c
        .provers()
        .into_iter()
        .find(|p| p.name == "liar")
        .ok_or("no report of the liar")?;
    assert_eq!(liar_report.valid, 0);
    assert!(liar_report.invalid >= 2, "{liar_report:?}");
    cluster.stop()?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_no_worker_delivers_in_time_is_proven_by_the_operator() -> Result {
    let cluster = Cluster::start().await?;
    let url = cluster.url();
    let backend = tokio::task::spawn_blocking(chunk_backend).await??;
    let dir = std::env::temp_dir().join(format!("overdue-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let c = coordinator(&dir, &url, backend.clone())?.with_queue_patience(Duration::from_secs(2));
    let task = ProofTask::RecursiveChunk {
        index: 0,
        chunk: Box::new(rollup_circuits::sample::full_chunk(1, CHAIN)?),
    };
    let key = (ProofKind::RecursiveChunk, 0);
    c.submit(task)?;
    // A worker holds the task and heartbeats, but never delivers (a hung prover, or a hostile
    // one): past its patience the operator proves the task itself.
    let q = Queue::connect(&url).await?;
    let holder = rollup_prover_queue::Lease {
        worker: "hung".into(),
        kinds: vec![ProofKind::RecursiveChunk.name().into()],
        circuits: vec![rollup_prover_worker::circuit_name(
            &backend
                .vk_digest(ProofKind::RecursiveChunk)
                .ok_or("no chunk key")?,
        )],
        duration: Duration::from_secs(60),
    };
    c.run_next().await?;
    let held = q.lease(&holder).await?.ok_or("the task was not enqueued")?;
    until_proven(&c, key).await?;
    assert_eq!(c.prover_of(key).as_deref(), Some(backend.name()));
    let info = q.task(&held.id).await?.ok_or("no task")?;
    assert_eq!(info.state, TaskState::Leased);
    assert_eq!(info.lease_holder.as_deref(), Some("hung"));
    cluster.stop()?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
