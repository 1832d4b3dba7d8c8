//! Proofs per minute through the PostgreSQL proof queue with 1 and with 2 `prover-worker`
//! processes on this machine: each iteration enqueues a round of one-slot chunk proofs for
//! aggregation (the committed verifier's chunk size, real proofs) and waits until every one has its
//! result. Workers are started once per configuration, their keys loaded before timing starts.
//! Run with `cargo bench -p prover-worker`; the medians go to `docs/benchmarks.md`, where
//! proofs per minute is `ROUND / median × 60`.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use rollup_prover::ProofTask;
use rollup_prover_queue::cluster::Cluster;
use rollup_prover_queue::{NewTask, Queue};
use tokio::io::AsyncBufReadExt;
use tokio::process::{Child, Command};

/// Chunk proofs per iteration.
const ROUND: u64 = 4;
const CHAIN: u64 = 31_337;

async fn start_worker(url: &str, name: &str) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_prover-worker"))
        .args([
            "--queue-url",
            url,
            "--name",
            name,
            "--kinds",
            "recursive_chunk",
        ])
        .args(["--slots", "1", "--capacity", "1", "--dev-srs"])
        .args(["--chain-id", &CHAIN.to_string()])
        .arg("--key-cache")
        .arg(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("keys"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    lines.next_line().await.unwrap().expect("ready line");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    child
}

async fn round(
    q: &Queue,
    circuit: &str,
    next: &mut u64,
    chunk: &rollup_protocol::Chunk,
) -> Duration {
    let ids: Vec<String> = (0..ROUND).map(|i| format!("bench-{}", *next + i)).collect();
    let start = Instant::now();
    for (i, id) in (*next..).zip(&ids) {
        let task = ProofTask::RecursiveChunk {
            index: i,
            chunk: Box::new(chunk.clone()),
        };
        let new = NewTask {
            id: id.clone(),
            kind: "recursive_chunk".into(),
            circuit: circuit.into(),
            input: rollup_prover::wire::encode_task(&task).unwrap(),
            max_attempts: 3,
        };
        q.enqueue(&new).await.unwrap();
    }
    *next += ROUND;
    for id in &ids {
        while q.result(id).await.unwrap().is_none() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    start.elapsed()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let cluster = rt.block_on(Cluster::start()).unwrap();
    let url = cluster.url();
    let q = rt.block_on(Queue::connect(&url)).unwrap();
    rt.block_on(q.migrate()).unwrap();
    let chunk = rollup_circuits::sample::full_chunk(1, CHAIN).unwrap();
    let mut next = 0;
    let mut g = c.benchmark_group("queue_throughput");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(60));
    for workers in [1usize, 2] {
        let children: Vec<Child> = rt.block_on(async {
            let mut v = Vec::new();
            for i in 0..workers {
                v.push(start_worker(&url, &format!("w{i}")).await);
            }
            v
        });
        let circuit = rt.block_on(async {
            // The chunk key digest the workers declare, which the tasks name.
            let backend = rollup_prover::Pipeline {
                slots: 1,
                chain_id: CHAIN,
                capacity: 1,
                tree_depth: 0,
                compress: false,
                srs: rollup_prover::SrsSource::Development,
                key_cache: PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("keys"),
            }
            .load_chunks(None)
            .unwrap();
            use rollup_prover::Backend;
            alloy_primitives::hex::encode(
                backend
                    .vk_digest(rollup_prover::ProofKind::RecursiveChunk)
                    .unwrap(),
            )
        });
        g.bench_function(format!("{ROUND}_chunk_proofs_{workers}_workers"), |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        total += round(&q, &circuit, &mut next, &chunk).await;
                    }
                    total
                })
            })
        });
        drop(children);
    }
    g.finish();
    drop(q);
    cluster.stop().unwrap();
}

criterion_group!(benches, bench);
criterion_main!(benches);
