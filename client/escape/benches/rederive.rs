//! Re-derivation throughput: finalized batches of a synthetic L1 history of 100k transfers
//! replayed with every root checked, as `sync` does once it has read the L1 data. Run with
//! `cargo bench -p rollup-escape`; the medians go to `docs/benchmarks.md`.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use rollup_escape::derive::{Base, Checkpoint, Derivation, FinalizedBatch};
use rollup_escape::synthetic::{Shape, history};
use rollup_protocol::{Config, State};

const CHAIN: u64 = 31337;

/// 100k under `cargo bench` (which passes `--bench`); `cargo test --all-targets` runs each
/// benchmark once as a smoke test, on a small history.
fn transfers() -> usize {
    if std::env::args().any(|a| a == "--bench") {
        100_000
    } else {
        2_000
    }
}

/// The history most benchmarks read: 1,000 accounts, batches of 1,024 transfers in 64-slot chunks.
fn typical(transfers: usize) -> (Shape, Config) {
    let shape = Shape {
        accounts: 1_000,
        transfers,
        batch: 1_024,
        chunk_slots: 64,
    };
    let config = Config {
        chain_id: CHAIN,
        chunk_slots: shape.chunk_slots,
    };
    (shape, config)
}

/// The baseline the throughput is quoted against: one Merkle node hash (one Poseidon permutation).
fn baseline(c: &mut Criterion) {
    use rollup_protocol::Fr;
    let (l, r) = (Fr::from(1u64), Fr::from(2u64));
    c.bench_function("rederive/baseline: one node hash", |b| {
        b.iter(|| rollup_protocol::smt::node_hash(std::hint::black_box(l), r))
    });
}

fn rederive(c: &mut Criterion) {
    let mut g = c.benchmark_group("rederive");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(60))
        .warm_up_time(Duration::from_secs(1));
    let transfers = transfers();
    for (accounts, batch) in [(1_000, 1_024), (1_000, 4_096), (1_000, 64), (10_000, 1_024)] {
        let shape = Shape {
            accounts,
            transfers,
            batch,
            chunk_slots: 64.min(batch),
        };
        let batches = history(shape, CHAIN).unwrap();
        let config = Config {
            chain_id: CHAIN,
            chunk_slots: shape.chunk_slots,
        };
        g.throughput(Throughput::Elements(
            (transfers + accounts as usize + 1) as u64,
        ));
        g.bench_function(
            format!(
                "{}k transfers, {accounts} accounts, {batch} per batch",
                transfers / 1000
            ),
            |b| {
                b.iter_batched(
                    || batches.clone(),
                    |batches| {
                        let mut d = Derivation::new(config);
                        for batch in batches {
                            d.apply(batch).unwrap();
                        }
                        d
                    },
                    BatchSize::PerIteration,
                )
            },
        );
    }
    g.finish();
}

/// Loading a synced state: replaying every batch (as every command did before the data directory
/// kept its latest state) against rebuilding the trees from that state, for the same history.
fn load(c: &mut Criterion) {
    let mut g = c.benchmark_group("load");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(30))
        .warm_up_time(Duration::from_secs(1));
    let transfers = transfers();
    let (shape, config) = typical(transfers);
    let cp = Checkpoint {
        chunk_slots: shape.chunk_slots,
        chain_id: CHAIN,
        base: 0,
        batches: history(shape, CHAIN).unwrap(),
    };
    let accounts = Derivation::from_checkpoint(cp.clone())
        .unwrap()
        .state()
        .accounts();
    let name = |how: &str| format!("{}k transfers, {how}", transfers / 1000);
    g.bench_function(name("replayed"), |b| {
        b.iter_batched(
            || cp.clone(),
            |cp| Derivation::from_checkpoint(cp).unwrap(),
            BatchSize::PerIteration,
        )
    });
    g.bench_function(name("from the latest state"), |b| {
        b.iter_batched(
            || cp.clone(),
            |cp| {
                let state = State::from_accounts(config, &accounts).unwrap();
                Derivation::resume(Base::genesis(config), cp, state).unwrap()
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

/// What reading a blob costs the client besides the network: checking it against its versioned
/// hash (its KZG commitment recomputed: an MSM of 4,096 points) and decoding it (an inverse FFT of
/// 4,096 elements) into the pubdata it carries.
fn blob(c: &mut Criterion) {
    let mut g = c.benchmark_group("blob");
    g.sample_size(20);
    let pubdata: Vec<u8> = (0..rollup_protocol::blob::BLOB_DATA_BYTES)
        .map(|i| (i % 251) as u8)
        .collect();
    let blob = rollup_protocol::blob::blob_of_pubdata(&pubdata).unwrap();
    g.throughput(Throughput::Bytes(blob.len() as u64));
    g.bench_function("check against its versioned hash", |b| {
        b.iter(|| rollup_l1::blob::versioned_hash(std::hint::black_box(&blob)).unwrap())
    });
    g.bench_function("decode to pubdata", |b| {
        b.iter(|| rollup_protocol::blob::pubdata_of_blob(std::hint::black_box(&blob)).unwrap())
    });
    g.finish();
}

/// A sync that starts from a snapshot and reads the batches after it from blobs, as `escape sync
/// --snapshot` does once the network has served the data: the snapshot's trees rebuilt from its
/// accounts and its root checked, then for each batch its blob checked against its versioned hash,
/// decoded, cut into chunks (`split_blob_chunks`) and applied with its root checked. The history is
/// the `rederive` one's (1,000 accounts, 1,024 transfers per batch); the snapshot is at its middle.
fn snapshot_and_blobs(c: &mut Criterion) {
    let mut g = c.benchmark_group("sync");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(60))
        .warm_up_time(Duration::from_secs(1));
    let (shape, config) = typical(transfers());
    let mut batches = history(shape, CHAIN).unwrap();
    let after = batches.split_off(batches.len() / 2);
    let mut before = Derivation::new(config);
    for b in batches {
        before.apply(b).unwrap();
    }
    let base = Base {
        batch: before.last_batch(),
        root: before.state().root(),
        committed_at: 0,
        finalized_at: 0,
        accounts: before.state().accounts(),
    };
    // What L1 and the beacon chain hold for each later batch: its blob, its versioned hash, its root.
    let blobs: Vec<(Vec<u8>, alloy::primitives::B256, FinalizedBatch)> = after
        .into_iter()
        .map(|b| {
            let blob = rollup_protocol::blob::blob_of_pubdata(&b.chunks.concat()).unwrap();
            let hash = rollup_l1::blob::versioned_hash(&blob).unwrap();
            (blob, hash, b)
        })
        .collect();
    let replayed: usize = blobs
        .iter()
        .map(|(_, _, b)| b.chunks.iter().map(|c| c.len()).sum::<usize>())
        .sum();
    g.throughput(Throughput::Elements(blobs.len() as u64));
    g.bench_function(
        format!(
            "from a snapshot of {} accounts plus {} blobs ({} bytes of records)",
            base.accounts.len(),
            blobs.len(),
            replayed
        ),
        |b| {
            b.iter(|| {
                let state = State::from_accounts(config, &base.accounts).unwrap();
                assert_eq!(state.root(), base.root);
                let mut d = Derivation::from_base(config, base.clone(), state);
                for (blob, hash, batch) in &blobs {
                    assert_eq!(rollup_l1::blob::versioned_hash(blob).unwrap(), *hash);
                    let data = rollup_protocol::blob::pubdata_of_blob(blob).unwrap();
                    let chunks =
                        rollup_protocol::codec::split_blob_chunks(&data, config.chunk_slots)
                            .unwrap();
                    d.apply(FinalizedBatch {
                        chunks,
                        ..batch.clone()
                    })
                    .unwrap();
                }
                d
            })
        },
    );
    g.finish();
}

criterion_group!(benches, baseline, rederive, load, blob, snapshot_and_blobs);
criterion_main!(benches);
