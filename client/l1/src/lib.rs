//! L1 access shared by the operator and the escape client, so that each rule of reading L1 is
//! written once: one RPC transport that times out, classifies and retries every request
//! ([`rpc`]), the rollup's logs read in pages that
//! shrink when a provider refuses a range ([`LogReader`]), and the `RequestQueued` event decoded
//! into the request it queues ([`decode_request`]); and the L1 transaction manager ([`tx`]): own
//! nonces, every signed transaction stored before it is broadcast, fee bumps, receipts with
//! confirmations; and blobs ([`blob`]): versioned hashes recomputed locally, sidecars built. The
//! contract bindings and their custom-error decoding are `rollup-bindings`'.

use std::future::Future;
use std::time::Duration;

use alloy::primitives::{Address, B256};
use alloy::providers::Provider;
use alloy::rpc::types::{Filter, Log};
use alloy::sol_types::SolEvent;
use rollup_bindings::irollup::IRollup;
use rollup_protocol::Tx;

pub mod blob;
pub mod rpc;
pub mod tx;

pub use rpc::{Fault, RpcPolicy};
pub use tx::{Outbox, Pending, TxError, TxManager, TxPolicy};

/// Why L1 could not be read.
#[derive(Debug, thiserror::Error)]
pub enum L1Error {
    /// The RPC failed on every attempt.
    #[error(
        "L1 RPC: {what}: {source} (after {attempts} attempts); check the URL, or use a node with a higher rate limit"
    )]
    Rpc {
        /// What was being read.
        what: String,
        /// Attempts made.
        attempts: u32,
        /// The last attempt's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An RPC URL that is not one.
    #[error("the RPC URL {url:?} is not valid: {reason}")]
    Url {
        /// The URL given.
        url: String,
        /// Why it is not valid.
        reason: String,
    },
    /// A log or transaction is not what the rollup emits.
    #[error("{}: {what}", at_block(.block))]
    Malformed {
        /// The block, when the log names one.
        block: Option<u64>,
        /// What is wrong.
        what: String,
    },
}

/// Where a malformed log is: its block, or a plain word that it names none (never "block 0").
fn at_block(block: &Option<u64>) -> String {
    match block {
        Some(b) => format!("block {b}"),
        None => "a log without a block number".into(),
    }
}

/// `Result` with an [`L1Error`].
pub type Result<T> = std::result::Result<T, L1Error>;

/// How often and how patiently a call is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Attempts in all (at least one).
    pub attempts: u32,
    /// The wait after the first failure; it doubles after each further one.
    pub first_delay: Duration,
}

impl Retry {
    /// One attempt: the transport ([`rpc::RobustTransport`]) retries what is worth retrying.
    pub const ONCE: Retry = Retry {
        attempts: 1,
        first_delay: Duration::ZERO,
    };
}

/// Runs `call` under `policy`; `what` names it in the error. A failure that the transport
/// classifies as [`Fault::Final`] or [`Fault::RangeTooLarge`] is returned at once: retrying it
/// would change nothing.
pub async fn retry<T, E, F>(policy: Retry, what: &str, mut call: impl FnMut() -> F) -> Result<T>
where
    E: std::error::Error + Send + Sync + 'static,
    F: Future<Output = std::result::Result<T, E>>,
{
    let attempts = policy.attempts.max(1);
    let mut delay = policy.first_delay;
    let mut n = 0;
    loop {
        n += 1;
        match call().await {
            Ok(v) => return Ok(v),
            Err(e) if n >= attempts || !worth_retrying(&e) => {
                return Err(L1Error::Rpc {
                    what: what.into(),
                    attempts: n,
                    source: Box::new(e),
                });
            }
            Err(_) => {
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
        }
    }
}

fn worth_retrying(e: &(dyn std::error::Error + 'static)) -> bool {
    e.downcast_ref::<alloy::transports::TransportError>()
        .is_none_or(|t| matches!(rpc::classify(t), Fault::RateLimited | Fault::Transient))
}

/// Whether a provider refused a log query for its size (block range or result count): the page
/// is halved and the range read again.
fn range_too_large(e: &L1Error) -> bool {
    let L1Error::Rpc { source, .. } = e else {
        return false;
    };
    match source.downcast_ref::<alloy::transports::TransportError>() {
        Some(t) => rpc::classify(t) == Fault::RangeTooLarge,
        None => {
            rpc::classify_payload(&alloy::rpc::json_rpc::ErrorPayload {
                code: 0,
                message: source.to_string().into(),
                data: None,
            }) == Fault::RangeTooLarge
        }
    }
}

/// Reads the rollup's logs through one provider, in pages of blocks.
#[derive(Debug, Clone)]
pub struct LogReader<P> {
    provider: P,
    rollup: Address,
    /// Blocks per query: shrinks when a provider refuses a range, and stays shrunk for the
    /// reader's later calls (shared by its clones), so a cap is found once, not once per call.
    page: std::sync::Arc<std::sync::atomic::AtomicU64>,
    retry: Retry,
}

impl<P: Provider> LogReader<P> {
    /// A reader of `rollup`'s logs: pages of 1,000 blocks, each call made once (the transport,
    /// [`rpc::RobustTransport`], retries what is worth retrying; [`LogReader::retry`] adds
    /// retries over another provider).
    pub fn new(provider: P, rollup: Address) -> Self {
        LogReader {
            provider,
            rollup,
            page: std::sync::Arc::new(std::sync::atomic::AtomicU64::new(1_000)),
            retry: Retry::ONCE,
        }
    }

    /// Blocks per `eth_getLogs` query at most (at least 1).
    pub fn page(self, blocks: u64) -> Self {
        self.page
            .store(blocks.max(1), std::sync::atomic::Ordering::Relaxed);
        self
    }

    /// How calls are retried.
    pub fn retry(mut self, policy: Retry) -> Self {
        self.retry = policy;
        self
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> Retry {
        self.retry
    }

    /// The provider.
    pub fn provider(&self) -> &P {
        &self.provider
    }

    /// The rollup's logs of `events` in blocks `from..=to`, in order. A page the provider refuses
    /// as too large is halved (down to one block) and read again.
    pub async fn logs(&self, events: &[B256], from: u64, to: u64) -> Result<Vec<Log>> {
        let mut out = Vec::new();
        let mut page = self.page.load(std::sync::atomic::Ordering::Relaxed).max(1);
        let mut start = from;
        while start <= to {
            let end = to.min(start.saturating_add(page - 1));
            let filter = Filter::new()
                .address(self.rollup)
                .event_signature(events.to_vec())
                .from_block(start)
                .to_block(end);
            let what = format!("logs of blocks {start}..={end}");
            match retry(self.retry, &what, || self.provider.get_logs(&filter)).await {
                Ok(logs) => {
                    out.extend(logs);
                    start = end + 1;
                }
                Err(e) if page > 1 && range_too_large(&e) => {
                    page = (page / 2).max(1);
                    self.page.store(page, std::sync::atomic::Ordering::Relaxed);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// The latest block number.
    pub async fn head(&self) -> Result<u64> {
        retry(self.retry, "the head block", || {
            self.provider.get_block_number()
        })
        .await
    }
}

/// A request the rollup queued, as its `RequestQueued` log carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedRequest {
    /// Its index in the queue.
    pub index: u64,
    /// Its record bytes (what the queue stores the hash of).
    pub record: Vec<u8>,
}

impl QueuedRequest {
    /// The transaction that processes it, decoded by the core.
    pub fn tx(&self) -> std::result::Result<Tx, rollup_protocol::Error> {
        Tx::decode(&self.record)
    }
}

/// Decodes a `RequestQueued` log.
pub fn decode_request(log: &Log) -> Result<QueuedRequest> {
    let malformed = |what: String| L1Error::Malformed {
        block: log.block_number,
        what,
    };
    let event = IRollup::RequestQueued::decode_log(&log.inner)
        .map_err(|e| malformed(format!("RequestQueued: {e}")))?;
    let index = u64::try_from(event.requestIndex)
        .map_err(|_| malformed("RequestQueued: a request index above 2^64".into()))?;
    Ok(QueuedRequest {
        index,
        record: event.record.to_vec(),
    })
}

/// The `RequestQueued` event's topic, for [`LogReader::logs`].
pub const REQUEST_QUEUED: B256 = IRollup::RequestQueued::SIGNATURE_HASH;

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("{0}")]
    struct Fails(String);

    #[test]
    fn a_malformed_log_names_its_block_or_says_it_has_none() {
        let at = |block| {
            L1Error::Malformed {
                block,
                what: "BatchCommitted: bad data".into(),
            }
            .to_string()
        };
        assert_eq!(at(Some(7)), "block 7: BatchCommitted: bad data");
        assert_eq!(
            at(None),
            "a log without a block number: BatchCommitted: bad data"
        );
    }

    #[tokio::test]
    async fn retry_gives_up_after_its_attempts_and_says_why() {
        let mut calls = 0;
        let policy = Retry {
            attempts: 3,
            first_delay: Duration::from_millis(1),
        };
        let r: Result<()> = retry(policy, "the head block", || {
            calls += 1;
            async { Err(Fails("rate limited".into())) }
        })
        .await;
        assert_eq!(calls, 3);
        let msg = r.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            msg.contains("the head block: rate limited (after 3 attempts)"),
            "{msg}"
        );
    }

    #[tokio::test]
    async fn retry_returns_the_first_success() {
        let mut calls = 0;
        let policy = Retry {
            attempts: 5,
            first_delay: Duration::from_millis(1),
        };
        let r = retry(policy, "x", || {
            calls += 1;
            let n = calls;
            async move {
                if n < 2 {
                    Err(Fails("flaky".into()))
                } else {
                    Ok(n)
                }
            }
        })
        .await;
        assert_eq!(r.ok(), Some(2));
    }

    #[test]
    fn a_refused_range_is_recognised() {
        let refused = |text: &str| L1Error::Rpc {
            what: "logs".into(),
            attempts: 1,
            source: Box::new(Fails(text.into())),
        };
        assert!(range_too_large(&refused(
            "query exceeds max block range 10"
        )));
        assert!(range_too_large(&refused("Log response size exceeded")));
        assert!(!range_too_large(&refused("connection refused")));
    }
}
