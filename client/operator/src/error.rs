//! The operator's errors.

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database failed; the operator stops rather than act on state it cannot record.
    #[error("store: {0}")]
    Store(String),
    /// The core rejected a transaction or chunk.
    #[error(transparent)]
    Protocol(#[from] rollup_protocol::Error),
    /// A transaction the L2 RPC does not take.
    #[error("{0}")]
    Unsupported(String),
    /// The circuit capacity checker refused a transaction.
    #[error("the chunk circuit cannot hold this transaction: {0}")]
    Capacity(String),
    /// The same transaction was submitted before.
    #[error("transaction {0} is already known")]
    Duplicate(String),
    /// L1 could not be reached or read, after retries.
    #[error("L1: {0}")]
    L1(String),
    /// The rollup refuses a call deterministically (its simulation reverts): retrying cannot help.
    #[error("the rollup refuses {step}: {reason}")]
    Refused {
        /// The step (`commit 3`, `finalize 3`, `execute 3`).
        step: String,
        /// The decoded custom error.
        reason: String,
    },
    /// An L1 transaction's fees reached the configured cap.
    #[error(
        "{step}: fees reached the cap of {cap} wei per gas without the transaction being mined"
    )]
    FeeCap {
        /// The step.
        step: String,
        /// The cap.
        cap: u128,
    },
    /// Proving failed.
    #[error("prover: {0}")]
    Prover(String),
    /// The configuration is unusable.
    #[error("configuration: {0}")]
    Config(String),
    /// A fault injected by a test (`crash_at`).
    #[error("injected crash at {0}")]
    Crash(String),
}

/// `Result` with an [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
