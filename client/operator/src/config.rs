//! The operator's settings: a TOML file, overridden by flags and environment variables in the
//! binary. Every field has a default fit for a local devnet.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use alloy_primitives::Address;
use serde::{Deserialize, Serialize};

/// Where the submitter injects a crash (tests of crash safety only: the `fault-injection` feature,
/// which production builds do not have).
#[cfg(feature = "fault-injection")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CrashPoint {
    /// After the signed transaction is stored, before it is broadcast.
    BeforeSend,
    /// After it is broadcast, before its receipt is seen.
    AfterSend,
    /// After its receipt, before the step is recorded as done.
    AfterReceipt,
    /// The coordinator: every chunk proof of a batch stored, before its batch proof starts.
    BeforeBatchProof,
    /// The coordinator: a batch proof made, before it is stored.
    DuringBatchProof,
}

/// Everything the operator needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// L1 RPC URL.
    pub l1_rpc: String,
    /// The rollup contract.
    pub rollup: Address,
    /// The block the rollup was deployed in (the L1 watcher starts there).
    pub from_block: u64,
    /// Blocks an L1 request must be buried under before it is processed.
    pub confirmations: u64,
    /// Where the L2 JSON-RPC API listens.
    pub rpc_addr: SocketAddr,
    /// The largest request body the RPC accepts, bytes.
    pub rpc_max_request_bytes: u32,
    /// Where Prometheus metrics are served (`None`: not served).
    pub metrics_addr: Option<SocketAddr>,
    /// The database file and proving caches live here.
    pub data_dir: PathBuf,
    /// The L2 chain id transactions are signed for.
    pub chain_id: u64,
    /// Transactions per L2 block at most (the block limit; never more than a chunk holds).
    pub block_limit: usize,
    /// How often a block is built, milliseconds.
    pub block_time_ms: u64,
    /// A chunk that is not full is sealed (padded) after this long, milliseconds.
    pub chunk_timeout_ms: u64,
    /// Chunks per batch at most.
    pub batch_chunks: usize,
    /// A batch is proposed with fewer chunks once its oldest chunk waited this long, milliseconds.
    pub batch_timeout_ms: u64,
    /// How each batch posts its pubdata: `calldata`, `blob` (EIP-4844), or `auto`, the cheaper at
    /// the L1 fees last seen when the batch is proposed (`crate::batches::DataMode`).
    pub data: crate::batches::DataMode,
    /// How often L1 is polled, milliseconds.
    pub poll_ms: u64,
    /// An L1 transaction not mined after this long is resent with higher fees, milliseconds.
    pub bump_after_ms: u64,
    /// The highest fee per gas the submitter pays, wei; it stops and says so beyond.
    pub max_fee_per_gas: u128,
    /// The highest fee per blob gas a blob transaction pays, wei.
    pub max_fee_per_blob_gas: u128,
    /// Confirmations of an L1 transaction before its step counts as done.
    pub l1_confirmations: u64,
    /// A ceremony SRS file (snarkjs `.ptau`, or halo2 `ParamsKZG`; `docs/srs.md`).
    pub srs: Option<PathBuf>,
    /// Prove with the development SRS instead (public seed: anyone can forge proofs for its verifier;
    /// devnets only). One of `srs` and `dev_srs` must be set.
    pub dev_srs: bool,
    /// Where the SRS and proving key are cached (default: `<data_dir>/keys`).
    pub key_cache: Option<PathBuf>,
    /// Which prover proves the chunks (`cpu`: in this process) and checks proofs from workers.
    pub prover: crate::prover::ProverKind,
    /// The proof queue (a PostgreSQL URL): when set, proof tasks go there for prover workers
    /// (`prover-worker`, on this machine or others) instead of being proven in this process, which
    /// still checks every result before accepting it (`crate::queue`). Unset: proven in-process.
    pub queue_url: Option<String>,
    /// With the proof queue: enqueue a shadow copy of every task too, for shadow workers
    /// (`prover-worker --shadow`), whose proofs are checked and timed against production and
    /// reported (`l2_getProvers`, metrics), never used.
    pub queue_shadow: bool,
    /// Compress each batch proof in the thin last stage (`rollup_prover::compress`, k = 22: about
    /// 6 minutes and 12 GB per batch on 2 cores) for a verifier that costs L1 about 100k gas less;
    /// the rollup's verifier must then be the compression circuit's (`verifier-gen --stage
    /// compress solidity`). The operator refuses to start when it is not.
    pub compress: bool,
    /// Levels of aggregation nodes between the chunk proofs and the batch proof
    /// (`rollup_prover::node`, two proofs per node, k = 20: about 6.6 GB each; independent
    /// within a level, so workers can prove them in parallel, though this process runs them one at a
    /// time): 0, the batch circuit verifies the chunk proofs itself. The
    /// deployed verifier's capacity must be a whole number of top-level nodes (`2^tree_depth`
    /// chunks each), and its keys this tree's (`verifier-gen --depth`): the operator refuses to
    /// start otherwise.
    pub tree_depth: u32,
    /// Fault injection for the crash-safety tests: the submitter stops at this point once.
    #[cfg(feature = "fault-injection")]
    pub crash_at: Option<CrashPoint>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            l1_rpc: "http://127.0.0.1:8545".into(),
            rollup: Address::ZERO,
            from_block: 0,
            confirmations: 0,
            rpc_addr: SocketAddr::from(([127, 0, 0, 1], 8645)),
            rpc_max_request_bytes: 64 * 1024,
            metrics_addr: None,
            data_dir: PathBuf::from("operator-data"),
            chain_id: 31337,
            block_limit: 64,
            block_time_ms: 1_000,
            chunk_timeout_ms: 10_000,
            batch_chunks: 4,
            batch_timeout_ms: 30_000,
            data: crate::batches::DataMode::Auto,
            poll_ms: 1_000,
            bump_after_ms: 30_000,
            max_fee_per_gas: 500_000_000_000,
            max_fee_per_blob_gas: 100_000_000_000,
            l1_confirmations: 1,
            srs: None,
            dev_srs: false,
            key_cache: None,
            prover: crate::prover::ProverKind::Cpu,
            queue_url: None,
            queue_shadow: false,
            compress: false,
            tree_depth: 0,
            #[cfg(feature = "fault-injection")]
            crash_at: None,
        }
    }
}

impl Config {
    /// The SRS the settings name: `srs`, or the development SRS when `dev_srs` is set; neither is an
    /// error, never a silent development SRS.
    pub fn srs_source(&self) -> crate::Result<rollup_prover::SrsSource> {
        match (&self.srs, self.dev_srs) {
            (Some(path), _) => Ok(rollup_prover::SrsSource::File(path.clone())),
            (None, true) => Ok(rollup_prover::SrsSource::Development),
            (None, false) => Err(crate::Error::Config(
                "no SRS: set `srs` to a ceremony file (docs/srs.md), or `dev_srs = true` on a devnet (UNSAFE: anyone can forge proofs)".into(),
            )),
        }
    }

    /// Reads a TOML file; fields it leaves out keep their defaults.
    pub fn from_toml(text: &str) -> crate::Result<Config> {
        Ok(toml::from_str(text)?)
    }

    /// Checks the settings against each other.
    pub fn check(&self) -> crate::Result<()> {
        let bad = |m: &str| Err(crate::Error::Config(m.into()));
        if self.rollup == Address::ZERO {
            return bad("no rollup address");
        }
        if self.block_limit == 0 || self.batch_chunks == 0 {
            return bad("block_limit and batch_chunks must be at least 1");
        }
        if self.batch_chunks > rollup_protocol::constants::MAX_CHUNKS_PER_BATCH {
            return bad("batch_chunks is above the rollup's MAX_CHUNKS_PER_BATCH");
        }
        // 2^tree_depth chunks per top node, at most MAX_CHUNKS_PER_BATCH: a deeper tree holds no batch.
        if rollup_prover::node::ARITY
            .checked_pow(self.tree_depth)
            .is_none_or(|n| n > rollup_protocol::constants::MAX_CHUNKS_PER_BATCH)
        {
            return bad("tree_depth is above log2(MAX_CHUNKS_PER_BATCH)");
        }
        // Requests must be processed well before their deadline: leave at least half of it.
        let latency = self.chunk_timeout_ms + self.batch_timeout_ms + self.block_time_ms;
        if Duration::from_millis(latency).as_secs()
            > rollup_protocol::constants::REQUEST_DEADLINE_SECS / 2
        {
            return bad("block, chunk and batch timeouts exceed half the request deadline");
        }
        Ok(())
    }

    /// The database file.
    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("operator.redb")
    }

    /// The SRS and proving-key cache.
    pub fn key_cache(&self) -> PathBuf {
        self.key_cache
            .clone()
            .unwrap_or_else(|| self.data_dir.join("keys"))
    }
}
