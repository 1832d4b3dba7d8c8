//! The L1 watcher: it reads the rollup's `RequestQueued` events (deposits, forced exits, key
//! changes) once they are `confirmations` blocks deep and hands them to the sequencer in queue
//! order. The block it read up to is stored with the requests, in the same write, so a restart
//! neither skips nor repeats a request.

use alloy::primitives::Address;
use alloy::providers::Provider;
use rollup_l1::{LogReader, REQUEST_QUEUED, Retry, decode_request};
use tokio::sync::Mutex;

use crate::error::{Error, Result};
use crate::sequencer::Sequencer;
use crate::store::Store;

/// Blocks per log query.
const PAGE: u64 = 1_000;

/// Reads the requests queued since the last call; returns how many were ingested.
pub async fn poll<P: Provider>(
    provider: &P,
    rollup: Address,
    start_block: u64,
    confirmations: u64,
    store: &Store,
    sequencer: &Mutex<Sequencer>,
) -> Result<usize> {
    // One attempt per call: the operator's loop retries with its own backoff.
    let reader = LogReader::new(provider, rollup)
        .page(PAGE)
        .retry(Retry::ONCE);
    let head = reader
        .head()
        .await
        .map_err(|e| Error::l1("reading the head block", e))?;
    let Some(safe) = head.checked_sub(confirmations) else {
        return Ok(0);
    };
    let mut next = store.meta("next_l1_block")?.max(start_block);
    let mut ingested = 0;
    while next <= safe {
        let end = safe.min(next + PAGE - 1);
        let logs = reader
            .logs(&[REQUEST_QUEUED], next, end)
            .await
            .map_err(|e| Error::l1("reading the request logs", e))?;
        let mut requests = Vec::with_capacity(logs.len());
        for log in logs {
            let request = decode_request(&log).map_err(|e| Error::l1("a RequestQueued log", e))?;
            let tx = request
                .tx()
                .map_err(|e| Error::l1(format!("request {} does not decode", request.index), e))?;
            requests.push((request.index, tx));
        }
        ingested += requests.len();
        if !requests.is_empty() {
            tracing::info!(
                requests = requests.len(),
                from = next,
                to = end,
                "L1 requests ingested"
            );
            metrics::counter!("operator_l1_requests").increment(requests.len() as u64);
        }
        sequencer.lock().await.ingest(store, requests, end + 1)?;
        next = end + 1;
    }
    Ok(ingested)
}
