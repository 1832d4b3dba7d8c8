//! Criterion benchmarks of the protocol core: Poseidon, tree updates, signatures
//! and transition throughput. Run with `cargo bench -p rollup-protocol`; the
//! figures, as medians, go to `docs/benchmarks.md`.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use alloy_primitives::Address;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use rollup_protocol::eddsa::{self, SecretKey};
use rollup_protocol::poseidon::{hash2, permute, permute_reference};
use rollup_protocol::smt::SparseMerkleTree;
use rollup_protocol::state::account_tree_defaults;
use rollup_protocol::tx::{Deposit, Transfer};
use rollup_protocol::{Config, Fr, State, Tx};

const CHAIN: u64 = 1;
const USERS: u32 = 64;

fn keys() -> Vec<SecretKey> {
    (0..USERS)
        .map(|i| SecretKey::from_seed(&i.to_be_bytes()))
        .collect()
}

/// Fee account 0 plus `USERS` funded accounts (ids 1..=USERS).
fn funded_state(keys: &[SecretKey], slots: usize) -> State {
    let mut s = State::new(Config {
        chain_id: CHAIN,
        chunk_slots: slots,
    });
    let op = SecretKey::from_seed(b"op");
    s.apply_tx(&Tx::Deposit(Deposit {
        account_id: 0,
        owner: Address::repeat_byte(1),
        token: 0,
        amount: 0,
        pubkey: op.public(),
    }))
    .unwrap();
    for (i, k) in keys.iter().enumerate() {
        let id = i as u32 + 1;
        let owner = Address::left_padding_from(&id.to_be_bytes());
        s.apply_tx(&Tx::Deposit(Deposit {
            account_id: id,
            owner,
            token: 0,
            amount: 1 << 100,
            pubkey: k.public(),
        }))
        .unwrap();
    }
    s
}

/// `n` valid transfers, round-robin between the users, signed in advance.
fn transfers(keys: &[SecretKey], n: usize) -> Vec<Tx> {
    let mut nonces = vec![0u32; keys.len()];
    (0..n)
        .map(|i| {
            let from = i % keys.len();
            let to = (i * 7 + 3) % keys.len();
            let t = Transfer {
                from: from as u32 + 1,
                to: to as u32 + 1,
                token: 0,
                amount: 1000,
                fee: 1,
                nonce: nonces[from],
            };
            nonces[from] += 1;
            t.sign(&keys[from], CHAIN)
        })
        .collect()
}

fn poseidon(c: &mut Criterion) {
    let mut g = c.benchmark_group("poseidon");
    g.throughput(Throughput::Elements(1));
    g.bench_function("permute", |b| {
        let mut s = [Fr::from(1u64), Fr::from(2u64), Fr::from(3u64)];
        b.iter(|| {
            permute(black_box(&mut s));
        })
    });
    // The baseline every other figure is divided by in docs/benchmarks.md.
    g.bench_function("permute_reference", |b| {
        let mut s = [Fr::from(1u64), Fr::from(2u64), Fr::from(3u64)];
        b.iter(|| {
            permute_reference(black_box(&mut s));
        })
    });
    g.bench_function("hash2", |b| {
        b.iter(|| hash2(1, black_box(Fr::from(5u64)), black_box(Fr::from(6u64))))
    });
    g.finish();
}

fn trees(c: &mut Criterion) {
    let mut g = c.benchmark_group("tree");
    g.throughput(Throughput::Elements(1));
    g.bench_function("set leaf (depth 20)", |b| {
        let mut t = SparseMerkleTree::new(account_tree_defaults());
        let mut i = 0u64;
        b.iter(|| {
            i = (i * 6364136223846793005 + 1442695040888963407) % (1 << 20);
            t.set(i, Fr::from(i)).unwrap();
        })
    });
    g.bench_function("balance update (deposit: depth 8 + 20)", |b| {
        let keys = keys();
        let mut s = funded_state(&keys, 4);
        let mut n = 0u32;
        b.iter(|| {
            n = n.wrapping_add(1);
            let id = n % USERS + 1;
            let owner = Address::left_padding_from(&id.to_be_bytes());
            let d = Deposit {
                account_id: id,
                owner,
                token: (n % 7) as u8,
                amount: 1,
                pubkey: keys[0].public(),
            };
            s.apply_tx(&Tx::Deposit(d)).unwrap();
        })
    });
    g.finish();
}

fn signatures(c: &mut Criterion) {
    let mut g = c.benchmark_group("eddsa");
    g.throughput(Throughput::Elements(1));
    let k = SecretKey::from_seed(b"bench");
    let pk = k.public();
    let msg = Fr::from(77u64);
    let sig = k.sign(msg);
    g.bench_function("sign", |b| b.iter(|| k.sign(black_box(msg))));
    g.bench_function("verify", |b| {
        b.iter(|| assert!(eddsa::verify(&pk, black_box(msg), &sig)))
    });
    g.finish();
}

fn transition(c: &mut Criterion) {
    const N: usize = 128;
    let keys = keys();
    let base = funded_state(&keys, N);
    let txs = transfers(&keys, N);
    let mut g = c.benchmark_group("transition");
    g.throughput(Throughput::Elements(N as u64));
    g.sample_size(10);
    g.bench_function("transfers (signature checked, witness built)", |b| {
        b.iter_batched(
            || base.clone(),
            |mut s| {
                for t in &txs {
                    s.apply_tx(t).unwrap();
                }
                s
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("chunk of 128 transfers (with commitment)", |b| {
        b.iter_batched(
            || base.clone(),
            |mut s| s.apply_chunk(&txs).unwrap(),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = poseidon, trees, signatures, transition
}
criterion_main!(benches);
