//! A steady load on a local devnet, to measure what the operator's benchmarks cannot: how full
//! its chunks are under a given arrival rate, and how long a batch takes from its last proof being
//! ready to its finalization on L1.
//!
//! ```sh
//! cargo run --release -p rollup-devnet --example load -- --slots 4 --rate 1 --seconds 60
//! ```
//!
//! It starts anvil, generates and deploys the verifier for `--slots`, starts the operator, has
//! eight users deposit, then sends `--rate` transfers per second through the L2 RPC for
//! `--seconds`, waits until every batch is executed on L1, and prints a JSON summary on stdout.

use std::path::Path;
use std::time::{Duration, Instant};

use alloy::network::EthereumWallet;
use alloy::node_bindings::Anvil;
use alloy::primitives::U256;
use alloy::providers::ProviderBuilder;
use alloy::signers::local::PrivateKeySigner;
use clap::Parser;
use eyre::{Result, eyre};
use rollup_bindings::rollup::Rollup;
use rollup_operator::config::Config;
use rollup_operator::node::Operator;

use rollup_protocol::eddsa::SecretKey;
use rollup_protocol::field::to_u256;
use rollup_protocol::tx::Transfer;
use rollup_rpc_api::{BatchStatus, L2ApiClient};
use serde_json::json;

#[derive(Parser)]
struct Args {
    /// Slots per chunk.
    #[arg(long, default_value_t = 4)]
    slots: usize,
    /// Transfers per second.
    #[arg(long, default_value_t = 1.0)]
    rate: f64,
    /// How long the load lasts.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// The operator's chunk timeout.
    #[arg(long, default_value_t = 4_000)]
    chunk_timeout_ms: u64,
}

const USERS: usize = 8;

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    if xs.is_empty() {
        return f64::NAN;
    }
    let m = xs.len() / 2;
    if xs.len() % 2 == 1 {
        xs[m]
    } else {
        (xs[m - 1] + xs[m]) / 2.0
    }
}

fn l2_key(k: &PrivateKeySigner) -> Result<SecretKey> {
    Ok(rollup_bindings::keys::l2_key(k)?)
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let work = root.join("target/operator-load");
    let anvil = Anvil::at(root.join("tools/bin/anvil")).try_spawn()?;
    let chain = anvil.chain_id();
    let keys: Vec<PrivateKeySigner> = anvil.keys().iter().cloned().map(Into::into).collect();

    // The verifier for this chunk size, from the same cached key the operator will prove with.
    let cache = root.join("target/verifier-gen");
    let verifier = rollup_devnet::batch_verifier(&root, &cache, args.slots, 1, chain)?;
    std::fs::create_dir_all(&work)?;
    let key_hex = format!("0x{}", alloy::hex::encode(keys[0].to_bytes()));
    let deployed = rollup_bindings::deploy::deploy(
        &root,
        &anvil.endpoint(),
        &key_hex,
        chain,
        &verifier.params(),
    )?;
    let rollup = deployed
        .address("Rollup")
        .ok_or_else(|| eyre!("no Rollup"))?;
    let data = work.join(format!("data-{}", std::process::id()));
    let operator = Operator::start(
        Config {
            l1_rpc: anvil.endpoint(),
            rollup,
            rpc_addr: "127.0.0.1:0".parse()?,
            data_dir: data.clone(),
            key_cache: Some(cache),
            dev_srs: true,
            chain_id: chain,
            block_time_ms: 250,
            chunk_timeout_ms: args.chunk_timeout_ms,
            batch_chunks: 4,
            batch_timeout_ms: 4 * args.chunk_timeout_ms,
            poll_ms: 250,
            ..Config::default()
        },
        keys[0].clone(),
    )
    .await?;
    let rpc = rollup_rpc_api::http_client(&format!("http://{}", operator.rpc_addr))?;

    let users: Vec<(PrivateKeySigner, SecretKey)> = keys[1..=USERS]
        .iter()
        .map(|k| Ok((k.clone(), l2_key(k)?)))
        .collect::<Result<_>>()?;
    for (l1_key, l2) in &users {
        let l1 = ProviderBuilder::new()
            .wallet(EthereumWallet::from(l1_key.clone()))
            .connect_http(anvil.endpoint_url());
        let r = Rollup::new(rollup, &l1);
        let pk = l2.public();
        let fee = r.requestFee(l1_key.address()).call().await?;
        r.depositEth(to_u256(&pk.x), to_u256(&pk.y))
            .value(U256::from(10u64).pow(U256::from(18u64)) + fee)
            .send()
            .await?
            .get_receipt()
            .await?;
    }
    while rpc.get_balance(USERS as u32, 0).await? == "0" {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The deposits' chunks are sealed before the load starts; the load's chunks follow.
    let first_load_chunk = loop {
        let s = rpc.status().await?;
        if s.queued == 0 && s.in_open_chunk == 0 {
            break s.sealed_chunks as u64;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    eprintln!(
        "deposits in; {} transfers/s for {} s",
        args.rate, args.seconds
    );

    let period = Duration::from_secs_f64(1.0 / args.rate);
    let start = Instant::now();
    let mut nonces = [0u32; USERS];
    let mut sent = 0usize;
    while start.elapsed() < Duration::from_secs(args.seconds) {
        let from = sent % USERS;
        let to = (from + 1) % USERS;
        let tx = Transfer {
            from: from as u32 + 1,
            to: to as u32 + 1,
            token: 0,
            amount: 1_000,
            fee: 1,
            nonce: nonces[from],
        }
        .sign(&users[from].1, chain);
        rpc.send_transaction(tx).await?;
        nonces[from] += 1;
        sent += 1;
        let next = period * sent as u32;
        if let Some(wait) = next.checked_sub(start.elapsed()) {
            tokio::time::sleep(wait).await;
        }
    }
    let load_secs = start.elapsed().as_secs_f64();
    eprintln!("{sent} sent; waiting for every batch to be executed");
    let status = loop {
        let s = rpc.status().await?;
        if s.queued == 0
            && s.in_open_chunk == 0
            && !s.batches.is_empty()
            && s.batches.iter().all(|b| b.status == BatchStatus::Executed)
        {
            break s;
        }
        if operator.stopped() {
            return Err(eyre!("the operator stopped"));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let fills: Vec<f64> = rpc
        .get_chunks()
        .await?
        .iter()
        .filter(|c| c.index >= first_load_chunk)
        .map(|c| c.fill_ratio)
        .collect();
    let latencies: Vec<f64> = status
        .batches
        .iter()
        .filter_map(|b| b.finalize_latency_ms.map(|ms| ms as f64))
        .collect();
    println!(
        "{}",
        json!({
            "slots": args.slots,
            "rate": args.rate,
            "chunkTimeoutMs": args.chunk_timeout_ms,
            "sent": sent,
            "sentPerSecond": sent as f64 / load_secs,
            "chunks": fills.len(),
            "fillRatioMedian": median(fills.clone()),
            "fillRatios": fills,
            "batches": latencies.len(),
            "proofReadyToFinalizedMsMedian": median(latencies.clone()),
            "proofReadyToFinalizedMs": latencies,
        })
    );
    operator.stop().await?;
    std::fs::remove_dir_all(&data)?;
    Ok(())
}
