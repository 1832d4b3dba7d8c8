//! `prover-worker`: serves the proof queue on PostgreSQL until SIGINT or SIGTERM, proving the
//! tasks of the kinds it is given with the keys of the pipeline it is given (the operator's:
//! the same chunk size, chain, capacity, tree depth, compression and SRS; `docs/operator.md`,
//! "Prover workers"). It needs no L1 access.
//!
//! Keys come from `--key-cache` (a shared path, or made there on first use: minutes for the
//! aggregation stages). A worker serving only `recursive_chunk` loads the chunk stage alone. On
//! start it prints one JSON line to stdout, `{"worker", "backend", "kinds", "circuits"}` (`backend`:
//! `cuda` for a build with the `cuda` feature, the GPU prover; else `cpu`), once its keys are
//! loaded; on exit, its summary as another. Logs go to stderr (`RUST_LOG` filters them).
//!
//! Exit status: 0 stopped by a signal (its task, if any, given back); 1 refused to start or failed.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Parser;
use eyre::{Result, WrapErr, bail};
use rollup_prover::{Backend, Pipeline, ProofKind, SrsSource};
use rollup_prover_worker::{Settings, Worker};

#[derive(Parser)]
#[command(
    about = "A prover worker: leases proof tasks from the PostgreSQL proof queue and proves them"
)]
struct Cli {
    /// The proof queue: a PostgreSQL URL or libpq connection string.
    #[arg(long, env = "PROVER_QUEUE_URL", hide_env_values = true)]
    queue_url: String,
    /// Its name in the queue, unique among the queue's workers (default: host, process id and 8
    /// random hex digits, so that two containers' pid 1 on hosts of one name still differ).
    #[arg(long, env = "PROVER_WORKER_NAME")]
    name: Option<String>,
    /// The kinds of proof it serves, comma-separated (`recursive_chunk`, `node`, `batch`,
    /// `recursive_batch`, `compressed`; default: every stage of the pipeline).
    #[arg(long, value_delimiter = ',')]
    kinds: Vec<String>,
    /// Slots per chunk (the deployed chunk size).
    #[arg(long)]
    slots: usize,
    /// The L2 chain id.
    #[arg(long)]
    chain_id: u64,
    /// Chunk proofs per batch proof (the deployed verifier's capacity).
    #[arg(long, default_value_t = 1)]
    capacity: usize,
    /// Levels of aggregation nodes.
    #[arg(long, default_value_t = 0)]
    tree_depth: u32,
    /// Batch proofs are compressed.
    #[arg(long)]
    compress: bool,
    /// A ceremony SRS file (docs/srs.md).
    #[arg(long, env = "PROVER_SRS")]
    srs: Option<PathBuf>,
    /// Prove with the development SRS (public seed: devnets only).
    #[arg(long)]
    dev_srs: bool,
    /// Where SRS and proving keys are read from, or made and cached.
    #[arg(long, env = "PROVER_KEY_CACHE")]
    key_cache: PathBuf,
    /// The parameters digest the deployed verifier records (hex): others are refused at start.
    #[arg(long)]
    params_digest: Option<String>,
    /// Seconds a lease lasts without a heartbeat.
    #[arg(long, default_value_t = 60)]
    lease_secs: u64,
    /// Seconds between heartbeats while proving.
    #[arg(long, default_value_t = 10)]
    heartbeat_secs: u64,
    /// A shadow worker: it proves copies of the tasks (when the operator makes them, `queue_shadow`),
    /// which the operator checks and times against production and never uses.
    #[arg(long)]
    shadow: bool,
    /// Where Prometheus metrics are served.
    #[arg(long, env = "PROVER_METRICS_ADDR")]
    metrics_addr: Option<SocketAddr>,
}

fn kind_named(name: &str) -> Result<ProofKind> {
    Ok(match name {
        "recursive_chunk" => ProofKind::RecursiveChunk,
        "chunk" => ProofKind::Chunk,
        "node" => ProofKind::Node,
        "batch" => ProofKind::Batch,
        "recursive_batch" => ProofKind::RecursiveBatch,
        "compressed" => ProofKind::Compressed,
        other => bail!("no proof kind {other:?}"),
    })
}

fn default_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "worker".into());
    // The kernel's random UUID (Linux); without it, the name is the host's and the pid alone.
    let nonce = std::fs::read_to_string("/proc/sys/kernel/random/uuid")
        .map(|u| format!("-{}", u.trim().chars().take(8).collect::<String>()))
        .unwrap_or_default();
    format!("{host}-{}{nonce}", std::process::id())
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
    let srs = match (&cli.srs, cli.dev_srs) {
        (Some(path), _) => SrsSource::File(path.clone()),
        (None, true) => SrsSource::Development,
        (None, false) => bail!(
            "no SRS: pass --srs with the ceremony file the verifier was generated from, or --dev-srs on a devnet"
        ),
    };
    let pipeline = Pipeline {
        slots: cli.slots,
        chain_id: cli.chain_id,
        capacity: cli.capacity,
        tree_depth: cli.tree_depth,
        compress: cli.compress,
        srs,
        key_cache: cli.key_cache.clone(),
    };
    pipeline.check()?;
    let kinds = if cli.kinds.is_empty() {
        pipeline.kinds()
    } else {
        cli.kinds
            .iter()
            .map(|k| kind_named(k))
            .collect::<Result<Vec<_>>>()?
    };
    let expected = cli
        .params_digest
        .as_deref()
        .map(|h| -> Result<[u8; 32]> {
            alloy_primitives::hex::decode(h)
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| eyre::eyre!("--params-digest is 32 bytes of hex"))
        })
        .transpose()?;
    if let Some(addr) = cli.metrics_addr {
        metrics_exporter_prometheus::PrometheusBuilder::new()
            .with_http_listener(addr)
            .install()
            .wrap_err("serving metrics")?;
    }
    let chunks_only = kinds
        .iter()
        .all(|k| matches!(k, ProofKind::Chunk | ProofKind::RecursiveChunk));
    let backend: Arc<dyn Backend> = Arc::new(
        tokio::task::spawn_blocking(move || {
            if chunks_only {
                pipeline.load_chunks(expected)
            } else {
                pipeline.load(expected)
            }
        })
        .await??,
    );
    let mut settings = Settings::new(cli.name.unwrap_or_else(default_name), kinds);
    settings.lease = std::time::Duration::from_secs(cli.lease_secs);
    settings.heartbeat = std::time::Duration::from_secs(cli.heartbeat_secs);
    settings.shadow = cli.shadow;
    if settings.heartbeat >= settings.lease {
        bail!("--heartbeat-secs must be below --lease-secs");
    }
    let worker = Worker::new(
        rollup_prover_queue::Link::worker(cli.queue_url),
        backend,
        settings,
    )?;
    println!(
        "{}",
        serde_json::json!({
            "worker": worker.lease().worker,
            "backend": rollup_prover::BACKEND,
            "kinds": worker.lease().kinds,
            "circuits": worker.lease().circuits,
        })
    );
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::spawn(async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: stopping"),
            _ = term.recv() => tracing::info!("SIGTERM: stopping"),
        }
        let _ = stop.send(true);
    });
    let summary = worker.run(stopped).await?;
    println!(
        "{}",
        serde_json::json!({
            "proven": summary.proven,
            "failed": summary.failed,
            "released": summary.released,
        })
    );
    // A proof abandoned on a blocking thread must not hold the process.
    std::process::exit(0);
}
