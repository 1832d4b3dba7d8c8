//! How fast the operator accepts L2 transactions: signed transfers sent one after another to the
//! L2 RPC (HTTP, JSON), to the sequencer directly (the core's checks plus the store write), and
//! the baseline beside them, the core's `apply_tx` alone. Run with `cargo bench -p
//! rollup-operator`; the medians go to `docs/benchmarks.md`.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy_primitives::Address;
use criterion::{Criterion, criterion_group, criterion_main};
use rollup_operator::sequencer::{Limits, Sequencer};
use rollup_operator::store::Store;
use rollup_protocol::eddsa::SecretKey;
use rollup_protocol::tx::{Deposit, Transfer};
use rollup_protocol::{Config, State, Tx};
use rollup_rpc_api::L2ApiClient;

#[path = "../tests/common/ingest.rs"]
mod ingest;
use ingest::{hashed, page};

const CHAIN: u64 = 1;
const USERS: u32 = 64;

fn core() -> Config {
    Config {
        chain_id: CHAIN,
        chunk_slots: 64,
    }
}

fn deposits(keys: &[SecretKey]) -> Vec<(u64, Tx)> {
    (0..=USERS)
        .map(|id| {
            let pubkey = keys[id as usize].public();
            (
                u64::from(id),
                Tx::Deposit(Deposit {
                    account_id: id,
                    owner: Address::left_padding_from(&(id + 1).to_be_bytes()),
                    token: 0,
                    amount: 1 << 100,
                    pubkey,
                }),
            )
        })
        .collect()
}

/// Signs `n` transfers continuing from `nonces`, round robin between the users.
fn sign(keys: &[SecretKey], nonces: &mut [u32], start: &mut usize, n: usize) -> Vec<Tx> {
    (0..n)
        .map(|_| {
            let from = (*start % USERS as usize) + 1;
            *start += 1;
            let tx = Transfer {
                from: from as u32,
                to: ((from * 7) % USERS as usize) as u32 + 1,
                token: 0,
                amount: 1_000,
                fee: 1,
                nonce: nonces[from],
            }
            .sign(&keys[from], CHAIN);
            nonces[from] += 1;
            tx
        })
        .collect()
}

fn accept(c: &mut Criterion) {
    let keys: Vec<SecretKey> = (0..=USERS)
        .map(|i| SecretKey::from_seed(&i.to_be_bytes()))
        .collect();
    let limits = Limits {
        block_limit: 64,
        chunk_timeout: Duration::from_secs(3600),
    };
    let dir = std::env::temp_dir().join(format!("operator-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut g = c.benchmark_group("accept");
    g.sample_size(10).measurement_time(Duration::from_secs(20));

    // Baseline: the core alone.
    let mut state = State::new(core());
    for (_, d) in deposits(&keys) {
        state.apply_tx(&d).unwrap();
    }
    let (mut nonces, mut start) = (vec![0u32; keys.len()], 0usize);
    g.bench_function("baseline: State::apply_tx of a transfer", |b| {
        b.iter_custom(|iters| {
            let txs = sign(&keys, &mut nonces, &mut start, iters as usize);
            let t = Instant::now();
            for tx in &txs {
                state.apply_tx(tx).unwrap();
            }
            t.elapsed()
        })
    });

    // The sequencer: core checks, then the transaction written to the store.
    let store = Arc::new(Store::open(&dir.join("direct.redb")).unwrap());
    let mut seq = Sequencer::restore(&store, core(), limits, &mut |_, _| Ok(())).unwrap();
    seq.ingest(&store, hashed(deposits(&keys)), &page(1))
        .unwrap();
    let (mut nonces, mut start) = (vec![0u32; keys.len()], 0usize);
    g.bench_function("Sequencer::submit of a transfer", |b| {
        b.iter_custom(|iters| {
            let txs = sign(&keys, &mut nonces, &mut start, iters as usize);
            let t = Instant::now();
            for tx in txs {
                seq.submit(&store, tx).unwrap();
            }
            t.elapsed()
        })
    });

    // The L2 RPC over HTTP, one request at a time.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = Arc::new(Store::open(&dir.join("rpc.redb")).unwrap());
    let mut seq = Sequencer::restore(&store, core(), limits, &mut |_, _| Ok(())).unwrap();
    seq.ingest(&store, hashed(deposits(&keys)), &page(1))
        .unwrap();
    let seq = Arc::new(tokio::sync::Mutex::new(seq));
    let (addr, _server) = rt
        .block_on(rollup_operator::rpc::serve(
            "127.0.0.1:0".parse().unwrap(),
            64 * 1024,
            store.clone(),
            seq,
            Arc::new(
                rollup_operator::batches::Batches::restore(
                    &store,
                    core().chunk_slots,
                    rollup_operator::batches::BatchLimits {
                        batch_chunks: 4,
                        batch_timeout: Duration::from_secs(3600),
                        data: rollup_operator::batches::DataMode::Calldata,
                    },
                )
                .unwrap(),
            ),
            Arc::new(rollup_operator::coordinator::Coordinator::new(
                store.clone(),
                Arc::new(rollup_test_utils::FakeBackend),
            )),
        ))
        .unwrap();
    let client = rollup_rpc_api::http_client(&format!("http://{addr}")).unwrap();
    let (mut nonces, mut start) = (vec![0u32; keys.len()], 0usize);
    g.bench_function("l2_sendTransaction over HTTP", |b| {
        b.iter_custom(|iters| {
            let txs = sign(&keys, &mut nonces, &mut start, iters as usize);
            rt.block_on(async {
                let t = Instant::now();
                for tx in txs {
                    client.send_transaction(tx).await.unwrap();
                }
                t.elapsed()
            })
        })
    });
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, accept);
criterion_main!(benches);
