//! The operator on anvil with its proofs made by `prover-worker` processes through a real
//! PostgreSQL proof queue (a throwaway cluster), the real contracts and the committed verifier:
//!
//! 1. worker `a1` (chunk proofs only, short leases) leases the batch's chunk task and is killed
//!    mid-proof;
//! 2. worker `a2` (chunk proofs) takes the task once `a1`'s lease expires and proves it, once;
//!    worker `b` (batch proofs) proves the batch;
//! 3. the database is restarted while `b` proves: the worker and the operator wait for it, and
//!    the proof is uploaded when it is back;
//! 4. the operator checks each proof, and L1 finalizes and executes the batch;
//! 5. SIGTERM stops each worker cleanly (exit 0, its summary on stdout).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use alloy::providers::ProviderBuilder;
use rollup_bindings::rollup::Rollup;
use rollup_operator::config::Config;
use rollup_operator::node::Operator;
use rollup_prover_queue::cluster::Cluster;
use rollup_prover_queue::{Queue, TaskState};
use rollup_rpc_api::{BatchStatus, L2ApiClient};
use rollup_test_utils::{Result, deploy_rollup, deposit_eth, keys, wait_for};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStderr, Command};

/// The key cache every test of the workspace shares (`target/tmp/keys`).
fn key_cache() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("keys")
}

/// A worker process and its log.
struct Worker {
    child: Child,
    log: Lines<BufReader<ChildStderr>>,
}

impl Worker {
    /// Starts worker `name` serving `kinds` for the committed verifier's pipeline (one-slot chunks,
    /// one per batch proof), and waits for its ready line.
    async fn start(
        url: &str,
        name: &str,
        kinds: &str,
        lease: u64,
        chain_id: u64,
    ) -> Result<Worker> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_prover-worker"))
            .args(["--queue-url", url, "--name", name, "--kinds", kinds])
            .args(["--slots", "1", "--capacity", "1", "--dev-srs"])
            .args(["--chain-id", &chain_id.to_string()])
            .arg("--key-cache")
            .arg(key_cache())
            .args(["--lease-secs", &lease.to_string(), "--heartbeat-secs", "1"])
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let stderr = child.stderr.take().ok_or("no stderr")?;
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(Duration::from_secs(600), lines.next_line())
            .await??
            .ok_or("the worker exited before it was ready")?;
        let ready: serde_json::Value = serde_json::from_str(&ready)?;
        assert_eq!(ready["worker"], name, "{ready}");
        // Its summary comes on stdout at the end: keep the pipe open and drained.
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                eprintln!("[stdout] {line}");
            }
        });
        Ok(Worker {
            child,
            log: BufReader::new(stderr).lines(),
        })
    }

    /// Reads its log until a line contains `what`.
    async fn wait_log(&mut self, what: &str, limit: Duration) -> Result<String> {
        tokio::time::timeout(limit, async {
            while let Some(line) = self.log.next_line().await? {
                eprintln!("[worker] {line}");
                if line.contains(what) {
                    return Ok(line);
                }
            }
            Err::<String, Box<dyn std::error::Error>>(
                format!("the worker exited before {what:?}").into(),
            )
        })
        .await?
    }

    /// Sends SIGTERM and waits for a clean exit.
    async fn terminate(mut self) -> Result {
        let pid = self.child.id().ok_or("already exited")?;
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()?;
        assert!(status.success());
        // Keep its log drained while it stops.
        tokio::spawn(async move {
            while let Ok(Some(line)) = self.log.next_line().await {
                eprintln!("[worker] {line}");
            }
        });
        let exit = tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await??;
        assert!(exit.success(), "the worker exited with {exit}");
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_prove_a_batch_through_the_queue_despite_a_killed_worker_and_a_database_restart()
-> Result {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter("rollup_operator=info,rollup_prover_queue=info")
        .try_init();
    let mut cluster = Cluster::start().await?;
    let url = cluster.url();
    let anvil = rollup_test_utils::anvil()?;
    let keys = keys(&anvil);
    let rollup = deploy_rollup(&anvil)?;
    let data = tempdir("queue-e2e")?;
    let cfg = Config {
        l1_rpc: anvil.endpoint(),
        rollup,
        rpc_addr: "127.0.0.1:0".parse()?,
        data_dir: data.clone(),
        key_cache: Some(key_cache()),
        dev_srs: true,
        chain_id: anvil.chain_id(),
        block_time_ms: 100,
        chunk_timeout_ms: 300,
        batch_chunks: 1,
        batch_timeout_ms: 1_000,
        poll_ms: 200,
        queue_url: Some(url.clone()),
        ..Config::default()
    };
    // The operator checks proofs with the pipeline's keys (made in the cache if it is cold, before
    // any worker reads it).
    let backend = {
        let cfg = cfg.clone();
        tokio::task::spawn_blocking(move || rollup_operator::prover::load_backend(&cfg, 1, 1, None))
            .await??
    };
    let chain = anvil.chain_id();
    let mut a1 = Worker::start(&url, "a1", "recursive_chunk", 4, chain).await?;
    let operator = Operator::start_with(cfg, keys[0].clone(), backend).await?;
    let rpc = rollup_rpc_api::http_client(&format!("http://{}", operator.rpc_addr))?;
    deposit_eth(&anvil, rollup, &keys[1], 1_000_000).await?;

    // a1 takes the chunk task and dies mid-proof; its lease runs out, and a2 proves the chunk.
    a1.wait_log("proving", Duration::from_secs(120)).await?;
    a1.child.start_kill()?;
    a1.child.wait().await?;
    let a2 = Worker::start(&url, "a2", "recursive_chunk", 4, chain).await?;
    let mut b = Worker::start(&url, "b", "batch", 60, chain).await?;
    wait_for(
        "a2's chunk proof accepted",
        Duration::from_secs(180),
        || {
            let rpc = rpc.clone();
            async move {
                let chunks = rpc.get_chunks().await?;
                Ok(chunks.first().and_then(|c| c.prover.clone()))
            }
        },
    )
    .await
    .map(|prover| assert_eq!(prover, "a2"))?;

    // b proves the batch; the database goes down and comes back meanwhile.
    b.wait_log("proving", Duration::from_secs(120)).await?;
    cluster.halt()?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    cluster.restart().await?;

    let l1 = ProviderBuilder::new().connect_http(anvil.endpoint_url());
    let rollup_l1 = Rollup::new(rollup, &l1);
    wait_for(
        "the batch executed on L1",
        Duration::from_secs(1_200),
        || {
            let (rpc, rollup_l1) = (rpc.clone(), rollup_l1.clone());
            async move {
                let s = rpc.status().await?;
                let executed = !s.batches.is_empty()
                    && s.batches.iter().all(|b| b.status == BatchStatus::Executed);
                let requests = rollup_l1.finalizedRequests().call().await?
                    == rollup_l1.totalRequests().call().await?;
                Ok((executed && requests).then_some(()))
            }
        },
    )
    .await?;

    // The queue holds one result per task: the chunk's (leased twice, a1's lease expired) by a2,
    // the batch's by b.
    let q = Queue::connect(&url).await?;
    let tasks = q.tasks().await?;
    let chunk = tasks
        .iter()
        .find(|t| t.kind == "recursive_chunk")
        .ok_or("no chunk task")?;
    assert_eq!(chunk.state, TaskState::Done);
    assert_eq!(chunk.attempts, 2, "{chunk:?}");
    assert!(
        chunk
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("a1")),
        "{chunk:?}"
    );
    assert_eq!(
        q.result(&chunk.id).await?.ok_or("no chunk result")?.worker,
        "a2"
    );
    let batch = tasks
        .iter()
        .find(|t| t.kind == "batch")
        .ok_or("no batch task")?;
    assert_eq!(batch.state, TaskState::Done);
    assert_eq!(
        q.result(&batch.id).await?.ok_or("no batch result")?.worker,
        "b"
    );

    a2.terminate().await?;
    b.terminate().await?;
    operator.stop().await?;
    cluster.stop()?;
    std::fs::remove_dir_all(&data)?;
    Ok(())
}

fn tempdir(name: &str) -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
