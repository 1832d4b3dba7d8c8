//! The L1 watcher: it reads the rollup's `RequestQueued` events (deposits, forced exits, key
//! changes) once they are `confirmations` blocks deep and hands them to the sequencer in queue
//! order. The block it read up to is stored with the requests, in the same write, so a restart
//! neither skips nor repeats a request.

use alloy::primitives::Address;
use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use rollup_bindings::irollup::IRollup;
use rollup_protocol::Tx;
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
    let head = provider
        .get_block_number()
        .await
        .map_err(|e| Error::L1(e.to_string()))?;
    let Some(safe) = head.checked_sub(confirmations) else {
        return Ok(0);
    };
    let mut next = store.meta("next_l1_block")?.max(start_block);
    let mut ingested = 0;
    while next <= safe {
        let end = safe.min(next + PAGE - 1);
        let filter = Filter::new()
            .address(rollup)
            .event_signature(IRollup::RequestQueued::SIGNATURE_HASH)
            .from_block(next)
            .to_block(end);
        let logs = provider
            .get_logs(&filter)
            .await
            .map_err(|e| Error::L1(e.to_string()))?;
        let mut requests = Vec::with_capacity(logs.len());
        for log in logs {
            let event = IRollup::RequestQueued::decode_log(&log.inner)
                .map_err(|e| Error::L1(format!("RequestQueued: {e}")))?;
            let index = u64::try_from(event.requestIndex)
                .map_err(|_| Error::L1("request index out of range".into()))?;
            let tx = Tx::decode(&event.record)
                .map_err(|e| Error::L1(format!("request {index} does not decode: {e}")))?;
            requests.push((index, tx));
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
