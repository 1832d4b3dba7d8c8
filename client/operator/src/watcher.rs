//! The L1 watcher: it reads the rollup's `RequestQueued` events (deposits, forced exits, key
//! changes) once they are `confirmations` blocks deep and hands them to the sequencer in queue
//! order. Where each page ended (block number and hash) and the keccak hash of each request's
//! record are stored with the requests, in the same write, so a restart neither skips nor repeats
//! a request.
//!
//! Reorgs deeper than `confirmations`: each page is read between two reads of its last block's
//! hash, and every poll first checks that the block the last page ended at is still L1's. When it
//! is not, every request the operator took and L1 has not finalized must still be on L1 with the
//! same record (else the operator stops, [`Error::RequestGone`], before proving anything L1 never
//! asked for), and reading resumes after the newest stored page end still on L1; requests already
//! taken are not taken again.

use alloy::eips::BlockNumberOrTag;
use alloy::primitives::{Address, B256, U256, keccak256};
use alloy::providers::Provider;
use rollup_bindings::irollup::IRollup;
use rollup_l1::{LogReader, REQUEST_QUEUED, decode_request};
use tokio::sync::Mutex;

use crate::error::{Error, Result};
use crate::sequencer::{L1Page, Sequencer};
use crate::store::{L1_MARKS, REQUESTS, Store};

/// Blocks per log query.
const PAGE: u64 = 1_000;

/// Page ends kept (the newest).
const MARKS: usize = 64;

/// The hash of block `number`, `None` if the chain is shorter.
async fn block_hash<P: Provider>(provider: &P, number: u64) -> Result<Option<B256>> {
    Ok(provider
        .get_block_by_number(BlockNumberOrTag::Number(number))
        .await
        .map_err(|e| Error::l1(format!("reading block {number}"), e))?
        .map(|b| b.header.hash))
}

/// Reads the requests queued since the last call; returns how many were ingested.
pub async fn poll<P: Provider>(
    provider: &P,
    rollup: Address,
    start_block: u64,
    confirmations: u64,
    store: &Store,
    sequencer: &Mutex<Sequencer>,
) -> Result<usize> {
    // The transport retries each call a little; the operator's loop retries the poll.
    let reader = LogReader::new(provider, rollup).page(PAGE);
    let head = reader
        .head()
        .await
        .map_err(|e| Error::l1("reading the head block", e))?;
    let Some(safe) = head.checked_sub(confirmations) else {
        return Ok(0);
    };
    let mut marks: Vec<(u64, B256)> = store.all(L1_MARKS)?;
    if let Some(&(number, hash)) = marks.last() {
        match block_hash(provider, number).await? {
            Some(h) if h == hash => {}
            Some(_) => marks = reorged(provider, rollup, store, sequencer, marks, safe).await?,
            // A node behind the one that served the page (a load-balanced RPC): not a reorg.
            None => {
                return Err(Error::l1_msg(format!(
                    "the RPC has no block {number}, which the watcher read before: it is behind; waiting"
                )));
            }
        }
    }
    let mut next = store.meta("next_l1_block")?.max(start_block);
    let mut ingested = 0;
    while next <= safe {
        let end = safe.min(next + PAGE - 1);
        let before = block_hash(provider, end).await?;
        let logs = reader
            .logs(&[REQUEST_QUEUED], next, end)
            .await
            .map_err(|e| Error::l1("reading the request logs", e))?;
        let Some(hash) = block_hash(provider, end)
            .await?
            .filter(|h| Some(*h) == before)
        else {
            return Err(Error::l1_msg(format!(
                "L1 reorganised while blocks {next}..={end} were read; reading them again"
            )));
        };
        // Linked to the page before: the block it ended with is still L1's. With `end`'s hash
        // unchanged over the read, this page's logs and every page before it are of one chain.
        if let Some(&(last, last_hash)) = marks.last() {
            match block_hash(provider, last).await? {
                Some(h) if h == last_hash => {}
                Some(_) => {
                    return Err(Error::l1_msg(format!(
                        "L1 reorganised below blocks {next}..={end} while they were read; checking again"
                    )));
                }
                None => {
                    return Err(Error::l1_msg(format!(
                        "the RPC has no block {last}, which the watcher read before: it is behind; waiting"
                    )));
                }
            }
        }
        let taken = sequencer.lock().await.next_request();
        let mut requests = Vec::with_capacity(logs.len());
        for log in logs {
            let request = decode_request(&log).map_err(|e| Error::l1("a RequestQueued log", e))?;
            if request.index < taken {
                // Read again after a reorg: it must be the record the operator took (a store
                // older than the request hashes has none to compare).
                let ours: Option<B256> = store.get(REQUESTS, request.index)?;
                let theirs = keccak256(&request.record);
                if ours.is_some_and(|h| h != theirs) {
                    return Err(Error::RequestGone {
                        index: request.index,
                        detail: format!("L1's log now carries a record with hash {theirs}"),
                    });
                }
                continue;
            }
            let tx = request
                .tx()
                .map_err(|e| Error::l1(format!("request {} does not decode", request.index), e))?;
            requests.push((request.index, tx, keccak256(&request.record)));
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
        marks.push((end, hash));
        let excess = marks.len().saturating_sub(MARKS);
        let prune = marks.drain(..excess).map(|(n, _)| n).collect();
        let page = L1Page { end, hash, prune };
        sequencer.lock().await.ingest(store, requests, &page)?;
        next = end + 1;
    }
    Ok(ingested)
}

/// L1 no longer has the block the last page ended at. Every request taken and not finalized must
/// still be on L1, unchanged; reading then resumes after the newest page end still on L1. Returns
/// the marks kept.
async fn reorged<P: Provider>(
    provider: &P,
    rollup: Address,
    store: &Store,
    sequencer: &Mutex<Sequencer>,
    mut marks: Vec<(u64, B256)>,
    safe: u64,
) -> Result<Vec<(u64, B256)>> {
    // L1's state at the block the watcher treats as settled: a request back only in newer
    // blocks may be reorganised away again.
    let taken = sequencer.lock().await.next_request();
    let at = alloy::eips::BlockId::number(safe);
    if let Some((index, detail)) = first_gone(provider, rollup, store, at, taken).await? {
        return Err(Error::RequestGone { index, detail });
    }
    let mut resume = None;
    while let Some(&(number, hash)) = marks.last() {
        if block_hash(provider, number).await? == Some(hash) {
            resume = Some(number + 1);
            break;
        }
        marks.pop();
    }
    let dropped: Vec<u64> = store
        .all::<B256>(L1_MARKS)?
        .into_iter()
        .map(|(n, _)| n)
        .filter(|n| !marks.iter().any(|(m, _)| m == n))
        .collect();
    let resume = resume.unwrap_or(0);
    tracing::warn!(
        resume,
        requests_taken = taken,
        "L1 reorganised below the blocks the watcher read; every request taken is still on L1; reading again"
    );
    metrics::counter!("operator_l1_reorgs").increment(1);
    store.write(|w| {
        for n in &dropped {
            w.remove(L1_MARKS, *n)?;
        }
        w.set_meta("next_l1_block", resume)
    })?;
    Ok(marks)
}

/// The first request, from L1's finalized ones up to `taken`, that L1 at block `at` no longer
/// holds with the record the operator took, with what L1 holds there now; `None` when L1 holds
/// every one.
pub(crate) async fn first_gone<P: Provider>(
    provider: &P,
    rollup: Address,
    store: &Store,
    at: alloy::eips::BlockId,
    taken: u64,
) -> Result<Option<(u64, String)>> {
    let r = IRollup::new(rollup, provider);
    let call = |what: &'static str| move |e| Error::l1(format!("reading {what}"), e);
    let finalized = r
        .finalizedRequests()
        .block(at)
        .call()
        .await
        .map_err(call("finalizedRequests"))?;
    let total = r
        .totalRequests()
        .block(at)
        .call()
        .await
        .map_err(call("totalRequests"))?;
    for index in u64::try_from(finalized).unwrap_or(u64::MAX)..taken {
        let ours: Option<B256> = store.get(REQUESTS, index)?;
        let on_l1 = if U256::from(index) < total {
            Some(
                r.request(U256::from(index))
                    .block(at)
                    .call()
                    .await
                    .map_err(call("a request"))?
                    .recordHash,
            )
        } else {
            None
        };
        // A store older than the request hashes has none to compare: not evidence of a reorg.
        if ours.is_some() && on_l1 != ours {
            let detail = match on_l1 {
                None => format!("L1 now has {total} requests"),
                Some(h) => format!("L1 now holds another record there (hash {h})"),
            };
            return Ok(Some((index, detail)));
        }
    }
    Ok(None)
}
