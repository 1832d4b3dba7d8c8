//! The `operator` binary: started from flags and environment, it prints its RPC address, serves
//! Prometheus metrics, and stops cleanly on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rollup_test_utils::{self as support, Result, deploy_rollup, deposit_eth, hex_key, keys};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_metrics_and_stops_on_sigterm() -> Result {
    let anvil = support::anvil()?;
    let ks = keys(&anvil);
    let rollup = deploy_rollup(&anvil)?;
    let data = std::env::temp_dir().join(format!("operator-bin-{}", std::process::id()));
    // A free port for the metrics endpoint.
    let metrics = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let config = data.join("operator.toml");
    std::fs::create_dir_all(&data)?;
    std::fs::write(
        &config,
        format!(
            "chain_id = {}\npoll_ms = 200\nblock_time_ms = 100\ndev_srs = true\nkey_cache = {:?}\n",
            anvil.chain_id(),
            std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("keys")
        ),
    )?;
    let mut child = Command::new(env!("CARGO_BIN_EXE_operator"))
        .args(["--config"])
        .arg(&config)
        .args([
            "--rpc-url",
            &anvil.endpoint(),
            "--rollup",
            &rollup.to_string(),
        ])
        .args([
            "--rpc-addr",
            "127.0.0.1:0",
            "--metrics-addr",
            &metrics.to_string(),
        ])
        .arg("--data-dir")
        .arg(&data)
        .env("OPERATOR_PRIVATE_KEY", hex_key(&ks[0]))
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(data.join("stderr.log"))?)
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    // Its first line on stdout is the start JSON, whatever ran before it (key generation on a
    // clean cache included).
    let started: serde_json::Value = serde_json::from_str(&line).map_err(|e| {
        let log = std::fs::read_to_string(data.join("stderr.log")).unwrap_or_default();
        let from = log.char_indices().rev().nth(4000).map_or(0, |(i, _)| i);
        let tail = &log[from..];
        format!("stdout's first line {line:?} is not the start JSON ({e}); stderr ends:\n{tail}")
    })?;
    assert!(
        started["rpc"]
            .as_str()
            .is_some_and(|u| u.starts_with("http://127.0.0.1:"))
    );

    // A deposit reaches the watcher; its counter shows on the metrics endpoint.
    deposit_eth(&anvil, rollup, &ks[1], 1_000).await?;
    let url = format!("http://{metrics}/metrics");
    let http = alloy::transports::http::reqwest::Client::new();
    let start = Instant::now();
    loop {
        let text = http.get(&url).send().await?.text().await?;
        if text.contains("operator_l1_requests") && text.contains("operator_chunks_sealed") {
            break;
        }
        if start.elapsed() > Duration::from_secs(60) {
            return Err(format!("metrics never showed the deposit:\n{text}").into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()?;
    assert!(term.success());
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break s;
        }
        if start.elapsed() > Duration::from_secs(30) {
            child.kill()?;
            return Err("no exit 30 s after SIGTERM".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.success(), "{status}");
    std::fs::remove_dir_all(&data)?;
    Ok(())
}

/// `operator revert` takes the shared flags after the subcommand and refuses, with exit status 1
/// and the reason on stderr, when the store holds no batch above the one to keep.
#[test]
fn revert_with_nothing_above_the_kept_batch_is_refused() -> Result {
    let data = std::env::temp_dir().join(format!("operator-bin-revert-{}", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_operator"))
        .args(["revert", "--to", "0", "--rollup"])
        .arg(alloy::primitives::Address::repeat_byte(1).to_string())
        .arg("--data-dir")
        .arg(&data)
        .env_remove("OWNER_PRIVATE_KEY")
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("there is nothing above batch 0 to revert"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
    std::fs::remove_dir_all(&data)?;
    Ok(())
}
