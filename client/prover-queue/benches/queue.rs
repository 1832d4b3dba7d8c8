//! What the proof queue costs per task, apart from proving: one task's round trip through a real
//! PostgreSQL server (a throwaway cluster on this machine, over its Unix socket) as a coordinator
//! and a worker make it: enqueue, lease, complete, read the result. With a chunk task's input and a
//! proof's size (wire JSON: about 40 KB and 12 KB for a one-slot chunk), and with a few bytes, to
//! separate the statements' cost from the bytes'. Run with `cargo bench -p rollup-prover-queue`;
//! the medians go to `docs/benchmarks.md` (the scaling model of prover workers).

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use rollup_prover_queue::cluster::Cluster;
use rollup_prover_queue::{Lease, NewTask, Queue};

static NEXT: AtomicU64 = AtomicU64::new(0);

async fn round_trip(q: &Queue, lease: &Lease, input: &[u8], proof: &[u8]) {
    let id = format!("t{}", NEXT.fetch_add(1, Ordering::Relaxed));
    let task = NewTask {
        id: id.clone(),
        kind: "recursive_chunk".into(),
        circuit: "c".into(),
        input: input.to_vec(),
        max_attempts: 3,
    };
    assert!(q.enqueue(&task).await.unwrap());
    let leased = q.lease(lease).await.unwrap().expect("a task");
    assert_eq!(leased.id, id);
    q.complete(&lease.worker, &id, "c", proof, 1.0)
        .await
        .unwrap();
    let result = q.result(&id).await.unwrap().expect("a result");
    assert_eq!(result.proof.len(), proof.len());
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let cluster = rt.block_on(Cluster::start()).unwrap();
    let q = rt.block_on(Queue::connect(&cluster.url())).unwrap();
    rt.block_on(q.migrate()).unwrap();
    let lease = Lease {
        worker: "bench".into(),
        kinds: vec!["recursive_chunk".into()],
        circuits: vec!["c".into()],
        duration: Duration::from_secs(60),
    };
    let mut g = c.benchmark_group("queue");
    g.sample_size(50);
    for (name, input, proof) in [
        ("round_trip_small", vec![1u8; 16], vec![2u8; 16]),
        (
            "round_trip_chunk_task",
            vec![1u8; 40_000],
            vec![2u8; 12_000],
        ),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| rt.block_on(round_trip(&q, &lease, &input, &proof)))
        });
    }
    g.finish();
    // Finished tasks stay in the table (a few thousand by the end): a lease scans only the partial
    // index of queued and leased tasks, so they do not slow it down.
    drop(q);
    cluster.stop().unwrap();
}

criterion_group!(benches, bench);
criterion_main!(benches);
