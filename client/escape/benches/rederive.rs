//! Re-derivation throughput: finalized batches of a synthetic L1 history of 100k transfers
//! replayed with every root checked, as `sync` does once it has read the L1 data. Run with
//! `cargo bench -p rollup-escape`; the medians go to `docs/benchmarks.md`.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use rollup_escape::derive::Derivation;
use rollup_escape::synthetic::{Shape, history};
use rollup_protocol::Config;

const TRANSFERS: usize = 100_000;
const CHAIN: u64 = 31337;

fn rederive(c: &mut Criterion) {
    let mut g = c.benchmark_group("rederive");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(60))
        .warm_up_time(Duration::from_secs(1));
    for (accounts, batch) in [(1_000, 1_024), (1_000, 4_096), (1_000, 64), (10_000, 1_024)] {
        let shape = Shape {
            accounts,
            transfers: TRANSFERS,
            batch,
            chunk_slots: 64.min(batch),
        };
        let batches = history(shape, CHAIN).unwrap();
        let config = Config {
            chain_id: CHAIN,
            chunk_slots: shape.chunk_slots,
        };
        g.throughput(Throughput::Elements(
            (TRANSFERS + accounts as usize + 1) as u64,
        ));
        g.bench_function(
            format!("100k transfers, {accounts} accounts, {batch} per batch"),
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

criterion_group!(benches, rederive);
criterion_main!(benches);
