//! `--bench-sync N`: the escape client's sync of the devnet's history, through a clean RPC and
//! through a hostile one (the test harness's proxy: 30 % of requests answered 429, `eth_getLogs`
//! capped at 500 blocks), N times each, alternating, into fresh data directories. The history is
//! the devnet's, followed by 5,000 empty blocks so that the cap has pages to cut. Reported as
//! medians and their ratio, the figure `docs/benchmarks.md` quotes.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use alloy::primitives::Address;
use alloy::providers::{Provider, ProviderBuilder};
use eyre::{Result, bail};
use rollup_test_utils::proxy::{Act, Proxy, Script, honest};
use serde_json::{Value, json};

/// Empty blocks mined after the devnet's history before measuring.
const EMPTY_BLOCKS: u64 = 5_000;

/// 30 % of requests rate-limited; log queries over 500 blocks refused as a provider does.
fn hostile() -> Script {
    Arc::new(|call| {
        if call.seen % 10 < 3 {
            Act::TooMany(None)
        } else if call.log_range().is_some_and(|n| n > 500) {
            Act::Error(-32602, "query exceeds max block range 500".into())
        } else {
            Act::Forward
        }
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// One `escape sync` into a fresh `dir` through `rpc`; its wall time and its result.
async fn sync_once(
    escape: &Path,
    rpc: &str,
    rollup: Address,
    l1_chain_id: u64,
    dir: &Path,
) -> Result<(f64, Value)> {
    let _ = std::fs::remove_dir_all(dir);
    let start = Instant::now();
    let out = tokio::process::Command::new(escape)
        .args([
            "sync",
            "--json",
            "--confirmations",
            "0",
            "--rpc-timeout",
            "5",
        ])
        .args(["--l1-chain-id", &l1_chain_id.to_string(), "--rpc-url", rpc])
        .args(["--rollup", &rollup.to_string()])
        .arg("--data-dir")
        .arg(dir)
        .output()
        .await?;
    let seconds = start.elapsed().as_secs_f64();
    if !out.status.success() {
        bail!("escape sync: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok((seconds, serde_json::from_slice(&out.stdout)?))
}

/// Runs the benchmark (see the module's documentation); its figures as JSON.
pub(crate) async fn run(
    anvil: &str,
    rollup: Address,
    l1_chain_id: u64,
    escape: &Path,
    dir: &Path,
    rounds: usize,
) -> Result<Value> {
    let l1 = ProviderBuilder::new().connect_http(anvil.parse()?);
    l1.raw_request::<_, ()>("anvil_mine".into(), (EMPTY_BLOCKS,))
        .await?;
    let blocks = l1.get_block_number().await?;
    let clean_proxy = Proxy::start(anvil, honest())
        .await
        .map_err(|e| eyre::eyre!("{e}"))?;
    let bad_proxy = Proxy::start(anvil, hostile())
        .await
        .map_err(|e| eyre::eyre!("{e}"))?;
    let (mut clean, mut bad) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let (c, clean_result) = sync_once(
            escape,
            &clean_proxy.url,
            rollup,
            l1_chain_id,
            &dir.join("clean"),
        )
        .await?;
        let (b, bad_result) = sync_once(
            escape,
            &bad_proxy.url,
            rollup,
            l1_chain_id,
            &dir.join("bad"),
        )
        .await?;
        if clean_result["stateRoot"] != bad_result["stateRoot"] {
            bail!("round {round}: the hostile RPC's sync reached another root");
        }
        clean.push(c);
        bad.push(b);
    }
    let (c, b) = (median(clean), median(bad));
    Ok(json!({
        "blocks": blocks,
        "rounds": rounds,
        "cleanMedianSeconds": c,
        "hostileMedianSeconds": b,
        "ratio": if c > 0.0 { b / c } else { 0.0 },
        "hostileRequests": bad_proxy.total(),
        "cleanRequests": clean_proxy.total(),
    }))
}
