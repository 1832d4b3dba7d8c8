//! `operator`: runs the rollup's operator against an L1 RPC until SIGINT or SIGTERM.
//!
//! Settings come from a TOML file (`--config`), overridden by the flags and environment variables
//! below; the key from `OPERATOR_PRIVATE_KEY` or an encrypted `--keystore`. Logs go to stderr
//! (`RUST_LOG` filters them); on start the RPC address is printed to stdout as JSON.

use std::net::SocketAddr;
use std::path::PathBuf;

use alloy::primitives::Address;
use clap::Parser;
use eyre::{Result, WrapErr};
use rollup_operator::config::Config;
use rollup_operator::node::Operator;

#[derive(Parser)]
#[command(
    about = "The rollup operator: L2 RPC, sequencer, chunk proposer, prover, proof submitter"
)]
struct Cli {
    /// A TOML file of settings (see `client/operator/src/config.rs`); flags override it.
    #[arg(long, env = "OPERATOR_CONFIG")]
    config: Option<PathBuf>,
    /// The L1 RPC URL (`ETH_RPC_URL`, as every tool of this project and Foundry's read it).
    #[arg(long = "rpc-url", visible_alias = "l1-rpc", env = "ETH_RPC_URL")]
    l1_rpc: Option<String>,
    /// The rollup contract.
    #[arg(long, env = "OPERATOR_ROLLUP")]
    rollup: Option<Address>,
    /// Where the L2 RPC listens.
    #[arg(long, env = "OPERATOR_RPC_ADDR")]
    rpc_addr: Option<SocketAddr>,
    /// Where Prometheus metrics are served.
    #[arg(long, env = "OPERATOR_METRICS_ADDR")]
    metrics_addr: Option<SocketAddr>,
    /// The database and key cache directory.
    #[arg(long, env = "OPERATOR_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// The sequencer's L1 key (hex).
    #[arg(long, env = "OPERATOR_PRIVATE_KEY", hide_env_values = true)]
    private_key: Option<String>,
    /// An encrypted JSON keystore instead of `--private-key`.
    #[arg(long, env = "OPERATOR_KEYSTORE", conflicts_with = "private_key")]
    keystore: Option<PathBuf>,
    /// A file holding the keystore's password (else `OPERATOR_KEYSTORE_PASSWORD`, else a prompt).
    #[arg(long)]
    password_file: Option<PathBuf>,
    /// The ceremony SRS to prove with (snarkjs `.ptau` or halo2 `ParamsKZG`; `docs/srs.md`).
    #[arg(long, env = "OPERATOR_SRS", conflicts_with = "dev_srs")]
    srs: Option<PathBuf>,
    /// Prove with the development SRS (UNSAFE: anyone can forge proofs for its verifier; devnets only).
    #[arg(long)]
    dev_srs: bool,
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    let mut cfg = match &cli.config {
        Some(path) => Config::from_toml(
            &std::fs::read_to_string(path).wrap_err_with(|| format!("{}", path.display()))?,
        )?,
        None => Config::default(),
    };
    if let Some(v) = cli.l1_rpc.clone() {
        cfg.l1_rpc = v;
    }
    if let Some(v) = cli.rollup {
        cfg.rollup = v;
    }
    if let Some(v) = cli.rpc_addr {
        cfg.rpc_addr = v;
    }
    if let Some(v) = cli.metrics_addr {
        cfg.metrics_addr = Some(v);
    }
    if let Some(v) = cli.data_dir.clone() {
        cfg.data_dir = v;
    }
    if let Some(v) = cli.srs.clone() {
        cfg.srs = Some(v);
        cfg.dev_srs = false;
    }
    if cli.dev_srs {
        cfg.dev_srs = true;
    }
    let signer = rollup_bindings::keys::KeySource {
        private_key: cli.private_key.as_deref(),
        keystore: cli.keystore.as_deref(),
        password_file: cli.password_file.as_deref(),
        env_prefix: "OPERATOR",
    }
    .signer()?;
    let mut operator = Operator::start(cfg, signer).await?;
    println!(
        "{}",
        serde_json::json!({ "rpc": format!("http://{}", operator.rpc_addr) })
    );
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = operator.wait() => return Ok(r?),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: stopping"),
        _ = term.recv() => tracing::info!("SIGTERM: stopping"),
    }
    operator.stop().await?;
    tracing::info!("stopped");
    Ok(())
}
