//! `operator`: runs the rollup's operator against an L1 RPC until SIGINT or SIGTERM;
//! `operator revert --to N` reverts the batches above batch `N` that can never finalize, on L1 and
//! in the stopped operator's store (`rollup_operator::revert`).
//!
//! Settings come from a TOML file (`--config`), overridden by the flags and environment variables
//! below; the key from `OPERATOR_PRIVATE_KEY` or an encrypted `--keystore` (the owner's, for a
//! revert, from `OWNER_PRIVATE_KEY` or `--owner-keystore`). Logs go to stderr (`RUST_LOG` filters
//! them); on start the RPC address is printed to stdout as JSON, and a revert's result likewise.
//!
//! Exit status of `revert`: 0 done; 1 refused or failed (nothing changed that a rerun would not
//! finish); 3 the owner must send the printed call first, then run the command again.

use std::net::SocketAddr;
use std::path::PathBuf;

use alloy::primitives::Address;
use clap::{Parser, Subcommand};
use eyre::{Result, WrapErr};
use rollup_operator::config::Config;
use rollup_operator::node::Operator;
use rollup_operator::revert::{Outcome, Request};

#[derive(Parser)]
#[command(
    about = "The rollup operator: L2 RPC, sequencer, chunk proposer, prover, proof submitter"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// A TOML file of settings (see `client/operator/src/config.rs`); flags override it.
    #[arg(long, global = true, env = "OPERATOR_CONFIG")]
    config: Option<PathBuf>,
    /// The L1 RPC URL (`ETH_RPC_URL`, as every tool of this project and Foundry's read it).
    #[arg(
        long = "rpc-url",
        visible_alias = "l1-rpc",
        global = true,
        env = "ETH_RPC_URL"
    )]
    l1_rpc: Option<String>,
    /// The rollup contract.
    #[arg(long, global = true, env = "OPERATOR_ROLLUP")]
    rollup: Option<Address>,
    /// Where the L2 RPC listens.
    #[arg(long, global = true, env = "OPERATOR_RPC_ADDR")]
    rpc_addr: Option<SocketAddr>,
    /// Where Prometheus metrics are served.
    #[arg(long, global = true, env = "OPERATOR_METRICS_ADDR")]
    metrics_addr: Option<SocketAddr>,
    /// The database and key cache directory.
    #[arg(long, global = true, env = "OPERATOR_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// The proof queue (PostgreSQL URL): proof tasks go there for `prover-worker`s.
    #[arg(
        long,
        global = true,
        env = "OPERATOR_QUEUE_URL",
        hide_env_values = true
    )]
    queue_url: Option<String>,
    /// The sequencer's L1 key (hex).
    #[arg(
        long,
        global = true,
        env = "OPERATOR_PRIVATE_KEY",
        hide_env_values = true
    )]
    private_key: Option<String>,
    /// An encrypted JSON keystore instead of `--private-key`.
    #[arg(
        long,
        global = true,
        env = "OPERATOR_KEYSTORE",
        conflicts_with = "private_key"
    )]
    keystore: Option<PathBuf>,
    /// A file holding the keystore's password (else `OPERATOR_KEYSTORE_PASSWORD`, else a prompt).
    #[arg(long, global = true)]
    password_file: Option<PathBuf>,
    /// The ceremony SRS to prove with (snarkjs `.ptau` or halo2 `ParamsKZG`; `docs/srs.md`).
    #[arg(long, global = true, env = "OPERATOR_SRS", conflicts_with = "dev_srs")]
    srs: Option<PathBuf>,
    /// Prove with the development SRS (UNSAFE: anyone can forge proofs for its verifier; devnets only).
    #[arg(long, global = true)]
    dev_srs: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Reverts every batch above `--to` that L1 has not finalized (a batch that can never finalize
    /// blocks all later ones), on L1 from the owner's key and in the store of the stopped operator;
    /// their transactions are sealed and committed again when it starts, without those `--drop`
    /// names. Without the owner's key, prints the call for the owner to send, then exits 3.
    Revert {
        /// The last batch kept (at least L1's last finalized batch).
        #[arg(long)]
        to: u64,
        /// An L2 transaction to leave out (its id, as `l2_sendTransaction` returned it); repeatable.
        #[arg(long = "drop")]
        drop: Vec<String>,
        /// A sealed chunk whose L2 transactions are all left out (the chunk whose proof failed, as
        /// the operator's error names it); repeatable. Its L1 requests stay.
        #[arg(long = "drop-chunk")]
        drop_chunks: Vec<u64>,
        /// Gives up a revert that was started and not finished, if L1 did not revert anything, so
        /// that the operator starts again as it was.
        #[arg(long, conflicts_with_all = ["drop", "drop_chunks"])]
        cancel: bool,
        /// The rollup owner's L1 key (hex).
        #[arg(long, env = "OWNER_PRIVATE_KEY", hide_env_values = true)]
        owner_key: Option<String>,
        /// An encrypted JSON keystore of the owner's key instead (password from `--password-file`,
        /// `OWNER_KEYSTORE_PASSWORD` or a prompt).
        #[arg(long, env = "OWNER_KEYSTORE", conflicts_with = "owner_key")]
        owner_keystore: Option<PathBuf>,
    },
}

fn main() -> Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    let result = runtime.block_on(run());
    // A proof in progress when the operator stops runs on a blocking thread that cannot be
    // interrupted (minutes for a batch proof); it is not stored and is made again after a restart,
    // so the process does not wait for it.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    result
}

async fn run() -> Result<()> {
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
    if let Some(v) = cli.queue_url.clone() {
        cfg.queue_url = Some(v);
    }
    if let Some(v) = cli.srs.clone() {
        cfg.srs = Some(v);
        cfg.dev_srs = false;
    }
    if cli.dev_srs {
        cfg.dev_srs = true;
    }
    if let Some(Command::Revert {
        to,
        drop,
        drop_chunks,
        cancel,
        owner_key,
        owner_keystore,
    }) = &cli.command
    {
        if *cancel {
            rollup_operator::revert::cancel(&cfg, *to).await?;
            eprintln!("the revert to batch {to} is cancelled: the operator may start");
            return Ok(());
        }
        let owner = match (owner_key, owner_keystore) {
            (None, None) => None,
            (key, keystore) => Some(
                rollup_bindings::keys::KeySource {
                    private_key: key.as_deref(),
                    keystore: keystore.as_deref(),
                    password_file: cli.password_file.as_deref(),
                    env_prefix: "OWNER",
                }
                .signer()?,
            ),
        };
        let request = Request {
            keep: *to,
            drop: drop.clone(),
            drop_chunks: drop_chunks.clone(),
        };
        return revert(&cfg, &request, owner).await;
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

/// `operator revert`: the result (or the owner's call) on stdout as JSON.
async fn revert(
    cfg: &Config,
    request: &Request,
    owner: Option<alloy::signers::local::PrivateKeySigner>,
) -> Result<()> {
    let to = request.keep;
    match rollup_operator::revert::revert(cfg, request, owner).await? {
        Outcome::Done(done) => {
            println!("{}", serde_json::to_string(&done)?);
            Ok(())
        }
        Outcome::OwnerCall { rollup, calldata } => {
            println!(
                "{}",
                serde_json::json!({ "to": rollup, "data": calldata, "ownerCall": true })
            );
            eprintln!(
                "L1 still holds batches above {to}: the rollup's owner must send this call to {rollup}; \
                 once it is mined, run `operator revert --to {to}` again to rewind the store \
                 (the operator refuses to start until then)"
            );
            std::process::exit(3);
        }
    }
}
