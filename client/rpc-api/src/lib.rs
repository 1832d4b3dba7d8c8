//! The operator's L2 JSON-RPC API, defined once: one jsonrpsee trait, from which come
//! [`L2ApiServer`] (the operator implements it; its method names are `l2_<name>`) and
//! [`L2ApiClient`] (the calls of [`L2Client`], the typed client the devnet, the load generator and
//! the tests use: [`http_client`]), and the types of every answer.
//!
//! | method | params | result |
//! | --- | --- | --- |
//! | `l2_sendTransaction` | a transaction as the core's JSON (`{"type": "transfer", "tx": …, "sig": …}`) | its id |
//! | `l2_sendRawTransaction` | the core's wire encoding, hex | its id |
//! | `l2_getTransactionStatus` | id | [`TxStatus`] |
//! | `l2_getAccount` | account id | [`AccountInfo`] or `null` |
//! | `l2_getBalance` | account id, token id | the balance (decimal string) |
//! | `l2_getNonce` | account id | the next nonce |
//! | `l2_getProof` | account id, token id | the balance proof against the current root |
//! | `l2_getChunks` | | [`ChunkInfo`] of every sealed chunk |
//! | `l2_getProvers` | | [`ProverInfo`] of every prover whose proofs the coordinator saw in this run |
//! | `l2_status` | | [`Status`] |
//!
//! Rejections are JSON-RPC errors with the codes in [`codes`] and a message that says why.

use std::collections::BTreeMap;

use jsonrpsee::core::RpcResult;
use jsonrpsee::proc_macros::rpc;
use rollup_protocol::Tx;
use rollup_protocol::state::BalanceProof;
use serde::{Deserialize, Serialize};

/// The error codes of the API (beside JSON-RPC's own, `-32602` for malformed parameters).
pub mod codes {
    /// The transaction was rejected by the core.
    pub const REJECTED: i32 = -32000;
    /// The circuit capacity checker refused it.
    pub const OVER_CAPACITY: i32 = -32001;
    /// Not an L2 transaction.
    pub const UNSUPPORTED: i32 = -32002;
    /// Submitted before.
    pub const DUPLICATE: i32 = -32003;
    /// Unknown transaction or account.
    pub const NOT_FOUND: i32 = -32004;
    /// The operator failed to record it.
    pub const INTERNAL: i32 = -32603;
}

/// Where a batch is on L1, in the order it gets there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchStatus {
    /// Proposed, not committed yet.
    Proposed,
    /// Committed.
    Committed,
    /// Finalized with its proofs.
    Finalized,
    /// Its withdrawals credited (or it had none).
    Executed,
}

/// A batch: consecutive sealed chunks (also the operator's stored record of it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    /// Its index, as on L1 (from 1).
    pub index: u64,
    /// Its first chunk.
    pub first_chunk: u64,
    /// Its number of chunks.
    pub chunks: u64,
    /// How far it got.
    pub status: BatchStatus,
    /// Milliseconds from its last chunk proof being ready to its finalization on L1 (when both
    /// happened in this run of the operator).
    #[serde(default)]
    pub finalize_latency_ms: Option<u64>,
    /// The versioned hash of the blob its pubdata is posted in (`None`: posted as calldata). Chosen
    /// when the batch is proposed, since the batch's challenge, and so its proofs, depend on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blob: Option<alloy::primitives::B256>,
}

/// Where a transaction is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TxState {
    /// Accepted, waiting for a block.
    Queued,
    /// In a block of the open chunk.
    InBlock,
    /// In a sealed chunk no batch holds yet.
    Sealed,
    /// In a proposed batch.
    Proposed,
    /// In a committed batch.
    Committed,
    /// In a finalized batch.
    Finalized,
    /// In an executed batch.
    Executed,
}

impl From<BatchStatus> for TxState {
    fn from(s: BatchStatus) -> TxState {
        match s {
            BatchStatus::Proposed => TxState::Proposed,
            BatchStatus::Committed => TxState::Committed,
            BatchStatus::Finalized => TxState::Finalized,
            BatchStatus::Executed => TxState::Executed,
        }
    }
}

/// `l2_getTransactionStatus`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxStatus {
    /// Where it is.
    pub status: TxState,
    /// Its sealed chunk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk: Option<u64>,
    /// Its batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<u64>,
}

/// `l2_getAccount`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountInfo {
    /// Its L1 owner.
    pub owner: alloy::primitives::Address,
    /// Its next nonce.
    pub nonce: u32,
    /// Its key's `x` (hex).
    pub pubkey_x: String,
    /// Its key's `y` (hex).
    pub pubkey_y: String,
    /// Its balances by token id (decimal strings).
    pub balances: BTreeMap<String, String>,
}

/// One prover, in `l2_getProvers`: this process's backend, or a worker of the proof queue (a shadow
/// worker's proofs are checked and timed, never used).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProverInfo {
    /// Its name (`cpu` in-process, or the worker's).
    pub name: String,
    /// Whether it proves shadow copies of tasks.
    pub shadow: bool,
    /// Proofs that passed the coordinator's checks (accepted, or for a shadow worker, valid).
    pub valid: u64,
    /// Proofs that failed them (rejected; for a shadow worker, reported only).
    pub invalid: u64,
    /// The median of its valid proofs' times, seconds.
    pub median_seconds: Option<f64>,
    /// For a shadow worker: the median of its time over the production proof's, task by task
    /// (below 1: faster than production).
    pub median_vs_production: Option<f64>,
}

/// One sealed chunk, in `l2_getChunks`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChunkInfo {
    /// Its index.
    pub index: u64,
    /// Transactions in it.
    pub transactions: usize,
    /// Its slots.
    pub slots: usize,
    /// Transactions over slots.
    pub fill_ratio: f64,
    /// The batch holding it, once proposed.
    pub batch: Option<u64>,
    /// Seconds its proof took (when proven in this run of the operator).
    pub prove_seconds: Option<f64>,
    /// Who proved it (when proven in this run): `cpu` in the operator's process, or the name of
    /// the prover worker whose proof was accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prover: Option<String>,
}

/// `l2_status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// The state root after every accepted transaction (hex).
    pub root: String,
    /// Accepted transactions waiting for a block.
    pub queued: usize,
    /// Transactions in the open chunk.
    pub in_open_chunk: usize,
    /// Blocks built in this run.
    pub blocks: u64,
    /// Sealed chunks.
    pub sealed_chunks: usize,
    /// Sealed chunks without a stored proof.
    pub unproven_chunks: usize,
    /// Every batch.
    pub batches: Vec<Batch>,
    /// The next L1 request index expected.
    #[serde(rename = "nextL1Request")]
    pub next_l1_request: u64,
}

/// The L2 API, served by the operator (`rollup_operator::rpc`).
#[rpc(server, client, namespace = "l2")]
pub trait L2Api {
    /// Accepts a transaction in the core's JSON form; its id.
    #[method(name = "sendTransaction")]
    async fn send_transaction(&self, tx: Tx) -> RpcResult<String>;
    /// Accepts a transaction in the core's wire encoding (hex); its id.
    #[method(name = "sendRawTransaction")]
    async fn send_raw_transaction(&self, raw: String) -> RpcResult<String>;
    /// Where a transaction is.
    #[method(name = "getTransactionStatus")]
    async fn get_transaction_status(&self, id: String) -> RpcResult<TxStatus>;
    /// An account, in the state after every accepted transaction.
    #[method(name = "getAccount")]
    async fn get_account(&self, id: u32) -> RpcResult<Option<AccountInfo>>;
    /// A balance (decimal string), in the state after every accepted transaction.
    #[method(name = "getBalance")]
    async fn get_balance(&self, id: u32, token: u8) -> RpcResult<String>;
    /// An account's next nonce.
    #[method(name = "getNonce")]
    async fn get_nonce(&self, id: u32) -> RpcResult<u32>;
    /// A balance proof against the current root.
    #[method(name = "getProof")]
    async fn get_proof(&self, id: u32, token: u8) -> RpcResult<BalanceProof>;
    /// Every sealed chunk.
    #[method(name = "getChunks")]
    async fn get_chunks(&self) -> RpcResult<Vec<ChunkInfo>>;
    /// Every prover whose proofs the coordinator checked in this run, shadow workers included.
    #[method(name = "getProvers")]
    async fn get_provers(&self) -> RpcResult<Vec<ProverInfo>>;
    /// The queue, chunks, batches and the current root.
    #[method(name = "status")]
    async fn status(&self) -> RpcResult<Status>;
}

/// The typed client: jsonrpsee's HTTP client, whose calls are the [`L2ApiClient`] methods generated
/// from the same trait the server implements (so a method's name, parameters and answer are written
/// once).
pub type L2Client = jsonrpsee::http_client::HttpClient;

/// A failed call: the transport's error or the server's JSON-RPC error (code and message).
pub type ClientError = jsonrpsee::core::ClientError;

/// A client of the operator at `url` (`http://host:port`); answers up to the server's 16 MiB.
pub fn http_client(url: &str) -> Result<L2Client, ClientError> {
    jsonrpsee::http_client::HttpClientBuilder::default()
        .max_response_size(16 * 1024 * 1024)
        .build(url)
}
