//! The operator's errors, with their sources.
//!
//! [`Error::L1`] is the one transient kind: the loops retry it with backoff. Every other error
//! stops the operator, which resumes from its store when restarted.

/// A boxed error from another crate, kept as the source of an [`Error`].
pub type Source = Box<dyn std::error::Error + Send + Sync>;

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database failed; the operator stops rather than act on state it cannot record.
    #[error("store: {0}")]
    Database(#[source] Box<redb::Error>),
    /// A stored value does not encode or decode.
    #[error("store: a value does not (de)serialize: {0}")]
    Encoding(#[from] serde_json::Error),
    /// The L1 transaction manager could not read or write a step's outbox entry.
    #[error("store: the outbox entry of {step}: {source}")]
    Outbox {
        /// The step.
        step: String,
        /// The store's error.
        #[source]
        source: Source,
    },
    /// The store lacks something it must hold, or holds something malformed.
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
    /// A revert dropped this transaction (no proof could be made of it); it is refused for good.
    #[error(
        "transaction {0} was dropped by an operator revert (it could not be proven) and is refused"
    )]
    Dropped(String),
    /// The same transaction was submitted before.
    #[error("transaction {0} is already known")]
    Duplicate(String),
    /// L1 could not be reached or read (retried by the loops).
    #[error("L1: {context}{}", source.as_ref().map(|s| format!(": {s}")).unwrap_or_default())]
    L1 {
        /// What was being done.
        context: String,
        /// The transport's or the contract call's error, when there is one.
        #[source]
        source: Option<Source>,
    },
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
        "{step}: fees reached the cap of {cap} wei per {unit} without the transaction being mined"
    )]
    FeeCap {
        /// The step.
        step: String,
        /// The cap.
        cap: u128,
        /// What it caps: `gas`, or `blob gas`.
        unit: &'static str,
    },
    /// The prover failed.
    #[error("prover: {0}")]
    Prover(#[source] Box<rollup_prover::ProverError>),
    /// A proof was refused by the coordinator's checks, or proving kept failing.
    #[error("proof: {0}")]
    Proof(String),
    /// The proof queue refused an operation (`crate::queue`).
    #[error("proof queue: {0}")]
    Queue(String),
    /// The proof queue cannot be reached (its database restarted, the network): waited out.
    #[error("proof queue unreachable: {0}")]
    QueueUnreachable(String),
    /// A blocking task (proving, restoring) panicked or was cancelled.
    #[error("a background task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// A request the operator took from L1 (and may have sequenced, proven or committed) is no
    /// longer on L1 after a reorg: the operator stops before proving anything L1 never asked for.
    #[error(
        "L1 request {index} that the operator took is gone after a reorg ({detail}): stopping before proving anything L1 never asked for; restart once L1 holds it again, or revert the batches that include it (docs/operator.md)"
    )]
    RequestGone {
        /// The request's index.
        index: u64,
        /// What L1 holds now.
        detail: String,
    },
    /// A revert (`crate::revert`) cannot go ahead as asked; nothing was changed.
    #[error("revert: {0}")]
    Revert(String),
    /// The configuration is unusable.
    #[error("configuration: {0}")]
    Config(String),
    /// The configuration file does not parse.
    #[error("configuration: {0}")]
    ConfigFile(#[from] toml::de::Error),
    /// The L2 RPC server could not start.
    #[error("L2 RPC: {0}")]
    Rpc(String),
    /// A fault injected by a test (`crash_at`).
    #[cfg(feature = "fault-injection")]
    #[error("injected crash at {0}")]
    Crash(String),
}

impl Error {
    /// An L1 error: `context` says what was being done, `source` why it failed.
    pub fn l1(context: impl Into<String>, source: impl Into<Source>) -> Error {
        Error::L1 {
            context: context.into(),
            source: Some(source.into()),
        }
    }

    /// An L1 error without an underlying error (the chain said something unexpected).
    pub fn l1_msg(context: impl Into<String>) -> Error {
        Error::L1 {
            context: context.into(),
            source: None,
        }
    }
}

// Boxed: they are large, and every `Result` of the crate would carry their size.
impl From<redb::Error> for Error {
    fn from(e: redb::Error) -> Error {
        Error::Database(Box::new(e))
    }
}

impl From<rollup_prover::ProverError> for Error {
    fn from(e: rollup_prover::ProverError) -> Error {
        Error::Prover(Box::new(e))
    }
}

/// `Result` with an [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
