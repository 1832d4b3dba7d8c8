//! Reverting batches that can never finalize (`operator revert`).
//!
//! A committed batch whose chunks cannot be proven (a transaction the circuit refuses, a prover
//! bug) blocks every later batch, and its L1 requests keep running towards their deadline. The
//! way out is the rollup's `revertBatches(lastKept)` (owner only: it discards the unfinalized
//! batches above `lastKept` and puts their L1 requests back in the queue) together with the same
//! step in the operator's store: every chunk sealed after batch `lastKept` is taken apart and its
//! transactions go back to the front of the queue, without the ones named to be dropped, so the
//! operator seals, proves and commits them again when it starts.
//!
//! It runs with the operator stopped (the store is locked while the operator runs), in this order,
//! and can be run again after any failure:
//! 1. L1 is read: nothing at or below the last finalized batch can be reverted, and no step the
//!    submitter sent for a reverted batch may still be waiting to be mined (it would land on top of
//!    the revert).
//! 2. If L1 holds batches above `lastKept`, `revertBatches` is sent from the owner's key through the
//!    L1 transaction manager (stored in the outbox before it is broadcast, so a rerun resumes it),
//!    and confirmed `l1_confirmations` deep. Without the owner's key the call is returned for the
//!    owner (a multisig, say) to send; then the command is run again.
//! 3. Once L1 shows no batch above `lastKept` at that depth, the store is rewound in one write:
//!    the batches above it, their chunks, proofs and outbox entries removed, the transactions
//!    queued again.

use std::time::Duration;

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use rollup_bindings::irollup::IRollup;
use rollup_bindings::rollup::Rollup;
use rollup_l1::{RpcPolicy, TxManager, TxPolicy};
use serde::Serialize;

use crate::batches::Batch;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::sequencer::unseal;
use crate::store::{
    BATCH_PROOFS, BATCHES, COMPRESSED_PROOFS, L1_MARKS, NODE_PROOFS, PROOFS,
    RECURSIVE_BATCH_PROOFS, Store,
};

/// How long the L1 side of a revert may take, sending and confirming included.
const BUDGET: Duration = Duration::from_secs(600);

/// What a revert did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reverted {
    /// The last batch kept.
    pub kept_batch: u64,
    /// The `revertBatches` transaction this run sent, if L1 needed one and this run sent it.
    pub l1_transaction: Option<B256>,
    /// The operator's batches removed (committed on L1 or not).
    pub batches_removed: Vec<u64>,
    /// The sealed chunks taken apart.
    pub chunks_unsealed: Vec<u64>,
    /// Transactions queued again (L1 requests included).
    pub requeued: usize,
    /// The transactions dropped as asked.
    pub dropped: Vec<String>,
    /// L2 transactions that no longer apply without the dropped ones: `(id, reason)`.
    pub rejected: Vec<(String, String)>,
    /// L1 requests the operator took that L1 no longer holds (a reorg): left out, and taken
    /// again from L1 if it ever holds them again.
    pub requests_gone: Vec<u64>,
}

/// The outcome of [`revert`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// L1 still holds batches above the kept one and no owner key was given: the owner must
    /// send `calldata` to `rollup`; then run the revert again. Nothing was changed.
    OwnerCall {
        /// The rollup.
        rollup: Address,
        /// `revertBatches(lastKept)`.
        calldata: Bytes,
    },
    /// Done, on L1 and in the store.
    Done(Reverted),
}

fn l1<E: Into<crate::error::Source>>(what: &'static str) -> impl Fn(E) -> Error {
    move |e| Error::l1(format!("reading {what}"), e)
}

/// What to revert.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// The last batch kept.
    pub keep: u64,
    /// L2 transactions to leave out (ids as the L2 RPC returned them).
    pub drop: Vec<String>,
    /// Sealed chunks whose L2 transactions are all left out (the chunk a proof failed for).
    pub drop_chunks: Vec<u64>,
}

/// The store of the stopped operator `cfg` describes.
fn open_store(cfg: &Config) -> Result<Store> {
    match Store::open(&cfg.db_path()) {
        Err(Error::Database(e)) if matches!(*e, redb::Error::DatabaseAlreadyOpen) => {
            Err(Error::Revert(format!(
                "{} is in use: stop the operator first",
                cfg.db_path().display()
            )))
        }
        r => r,
    }
}

/// The store's key for a revert that was started and not finished: the kept batch plus one (0:
/// none). While it is set the operator refuses to start ([`check_not_reverting`]), so that its
/// submitter never commits again what L1 reverted, or is about to.
pub(crate) const REVERTING: &str = "reverting_to";

/// Refuses to run an operator whose store has a revert started and not finished.
pub(crate) fn check_not_reverting(store: &Store) -> Result<()> {
    match store.meta(REVERTING)? {
        0 => Ok(()),
        k => Err(Error::Revert(format!(
            "a revert to batch {} was started and not finished: run `operator revert --to {}` again \
             (or `operator revert --to {} --cancel` if L1 did not revert anything) before starting the operator",
            k - 1,
            k - 1,
            k - 1
        ))),
    }
}

/// Gives up a revert that was started and not finished, if L1 did not revert anything: the operator
/// may start again as it was.
pub async fn cancel(cfg: &Config, keep: u64) -> Result<()> {
    cfg.check()?;
    let store = open_store(cfg)?;
    let last = store.keys(BATCHES)?.last().copied().unwrap_or(0);
    if last > keep {
        let client = rollup_l1::rpc::client(&cfg.l1_rpc, RpcPolicy::command(BUDGET))
            .map_err(|e| Error::l1(format!("connecting to {}", cfg.l1_rpc), e))?;
        let provider = ProviderBuilder::new().connect_client(client);
        let rollup = Rollup::new(cfg.rollup, &provider);
        let committed = rollup
            .lastCommittedBatch()
            .call()
            .await
            .map_err(l1("lastCommittedBatch"))?;
        let book_committed = store
            .all::<Batch>(BATCHES)?
            .iter()
            .filter(|(_, b)| b.status != crate::batches::BatchStatus::Proposed)
            .map(|(i, _)| *i)
            .max()
            .unwrap_or(0);
        if committed < U256::from(book_committed) && committed <= U256::from(keep) {
            return Err(Error::Revert(format!(
                "L1 shows {committed} batches committed, the operator {book_committed}: L1 reverted them; \
                 finish with `operator revert --to {keep}`"
            )));
        }
    }
    store.write(|w| w.set_meta(REVERTING, 0))?;
    Ok(())
}

/// Reverts every batch above `request.keep`, on L1 (sent from `owner` when given) and in the store
/// of the stopped operator `cfg` describes, leaving out the L2 transactions the request names. See
/// the module docs.
pub async fn revert(
    cfg: &Config,
    request: &Request,
    owner: Option<PrivateKeySigner>,
) -> Result<Outcome> {
    cfg.check()?;
    let (keep, drop, drop_chunks) = (request.keep, &request.drop[..], &request.drop_chunks[..]);
    let store = open_store(cfg)?;
    let book: Vec<Batch> = store
        .all::<Batch>(BATCHES)?
        .into_iter()
        .map(|(_, b)| b)
        .collect();
    let last = book.last().map_or(0, |b| b.index);
    if keep > last {
        return Err(Error::Revert(format!(
            "the operator's last batch is {last}: there is nothing above batch {keep} to revert"
        )));
    }
    let first_chunk = match keep {
        0 => 0,
        k => book
            .iter()
            .find(|b| b.index == k)
            .map(|b| b.first_chunk + b.chunks)
            .ok_or_else(|| Error::Store(format!("no batch {k} in the book")))?,
    };
    let nothing_sealed = store
        .keys(crate::store::CHUNKS)?
        .last()
        .is_none_or(|c| *c < first_chunk);
    if keep == last
        && nothing_sealed
        && store.keys(crate::store::QUEUE)?.is_empty()
        && store.meta(REVERTING)? == 0
    {
        return Err(Error::Revert(format!(
            "the operator's last batch is {last} and nothing follows it: there is nothing above batch {keep} to revert"
        )));
    }

    let client = rollup_l1::rpc::client(&cfg.l1_rpc, RpcPolicy::command(BUDGET))
        .map_err(|e| Error::l1(format!("connecting to {}", cfg.l1_rpc), e))?;
    let provider = ProviderBuilder::new().connect_client(client);
    let rollup = Rollup::new(cfg.rollup, &provider);
    let finalized = rollup
        .lastFinalizedBatch()
        .call()
        .await
        .map_err(l1("lastFinalizedBatch"))?;
    if U256::from(keep) < finalized {
        return Err(Error::Revert(format!(
            "L1 has finalized batch {finalized}: no batch at or below it can be reverted"
        )));
    }
    in_flight(&store, &provider, keep, cfg.l1_confirmations).await?;
    // What the store will become, checked before anything is sent (the store cannot change
    // meanwhile: it is this process's alone).
    let slots = rollup
        .CHUNK_SLOTS()
        .call()
        .await
        .map_err(l1("CHUNK_SLOTS"))?;
    let core = rollup_protocol::Config {
        chain_id: cfg.chain_id,
        chunk_slots: usize::try_from(slots).map_err(|_| Error::Config("CHUNK_SLOTS".into()))?,
    };
    // Requests the operator took that L1 no longer holds (a reorg), at the block the watcher
    // treats as settled.
    let head = provider
        .get_block_number()
        .await
        .map_err(l1("the head block"))?;
    let at = alloy::eips::BlockId::number(head.saturating_sub(cfg.confirmations));
    let taken = store.meta("next_request")?;
    let gone = crate::watcher::first_gone(&provider, cfg.rollup, &store, at, taken)
        .await?
        .map(|(index, _)| index);
    let unsealed = unseal(&store, core, first_chunk, drop, drop_chunks, gone)?;
    if keep == last
        && unsealed.chunks.is_empty()
        && unsealed.dropped.is_empty()
        && gone.is_none()
        && store.meta(REVERTING)? == 0
    {
        return Err(Error::Revert(format!(
            "the operator's last batch is {last} and nothing follows it: there is nothing above batch {keep} to revert"
        )));
    }
    // From here on the operator refuses to start until the revert is finished (or cancelled).
    store.write(|w| w.set_meta(REVERTING, keep + 1))?;

    let committed = rollup
        .lastCommittedBatch()
        .call()
        .await
        .map_err(l1("lastCommittedBatch"))?;
    let calldata: Bytes = IRollup::revertBatchesCall {
        lastKeptBatch: U256::from(keep),
    }
    .abi_encode()
    .into();
    let mut l1_transaction = None;
    if committed > U256::from(keep) {
        let Some(owner) = owner else {
            return Ok(Outcome::OwnerCall {
                rollup: cfg.rollup,
                calldata,
            });
        };
        let chain_id = provider.get_chain_id().await.map_err(l1("the chain id"))?;
        let manager = TxManager::new(
            &provider,
            EthereumWallet::from(owner),
            TxPolicy {
                chain_id,
                poll: Duration::from_millis(cfg.poll_ms),
                bump_after: Duration::from_millis(cfg.bump_after_ms),
                max_fee_per_gas: cfg.max_fee_per_gas,
                max_fee_per_blob_gas: cfg.max_fee_per_blob_gas,
                confirmations: cfg.l1_confirmations,
                gas_margin_tenths: 12,
            },
        );
        let key = revert_key(keep);
        // A revert this command sent before, mined, and undone since (by a reorg, or by commits
        // sent after it): it cannot land again; a new one is sent.
        if let Some(old) = store.outbox::<rollup_l1::Pending>(&key)? {
            let mined = provider
                .get_transaction_count(manager.from())
                .latest()
                .await
                .map_err(l1("the owner's nonce"))?;
            if old.nonce < mined {
                tracing::warn!(
                    nonce = old.nonce,
                    "the revert sent before was mined and L1 no longer shows it: sending it again"
                );
                store.write(|w| w.remove_outbox(&key))?;
            }
        }
        let receipt = manager
            .send(&store, &key, cfg.rollup, calldata)
            .await
            .map_err(|e| crate::submitter::step_error(&key, e))?;
        tracing::warn!(
            kept = keep,
            transaction = %receipt.transaction_hash,
            "batches reverted on L1"
        );
        l1_transaction = Some(receipt.transaction_hash);
    }
    // L1 must show the revert as deep as the submitter's own steps count.
    let head = provider
        .get_block_number()
        .await
        .map_err(l1("the head block"))?;
    let deep = head.saturating_sub(cfg.l1_confirmations.saturating_sub(1));
    let settled = rollup
        .lastCommittedBatch()
        .block(alloy::eips::BlockId::number(deep))
        .call()
        .await
        .map_err(l1("lastCommittedBatch"))?;
    if settled > U256::from(keep) {
        return Err(Error::l1_msg(format!(
            "L1 shows {settled} batches committed at block {deep}: the revert is not {} blocks deep yet; run again",
            cfg.l1_confirmations
        )));
    }

    let removed: Vec<u64> = book.iter().map(|b| b.index).filter(|i| *i > keep).collect();
    let outbox: Vec<String> = store
        .outbox_keys()?
        .into_iter()
        .filter(|k| k.starts_with("revert:") || step_batch(k).is_some_and(|i| i > keep))
        .collect();
    let next_seq = store.meta("next_seq")?;
    // Requests L1 no longer holds: the watcher reads again from the rollup's deployment, taking
    // them if L1 ever holds them again (those it still holds are checked against their hashes).
    let (marks, reread_from) = if gone.is_some() {
        let deployed = rollup
            .DEPLOYMENT_BLOCK()
            .call()
            .await
            .map_err(l1("DEPLOYMENT_BLOCK"))?;
        (
            store.keys(L1_MARKS)?,
            Some(u64::try_from(deployed).unwrap_or(0)),
        )
    } else {
        (Vec::new(), None)
    };
    store.write(|w| {
        for n in &marks {
            w.remove(L1_MARKS, *n)?;
        }
        if let Some(block) = reread_from {
            w.set_meta("next_l1_block", block)?;
        }
        w.set_meta(REVERTING, 0)?;
        for i in &removed {
            w.remove(BATCHES, *i)?;
            for table in [BATCH_PROOFS, RECURSIVE_BATCH_PROOFS, COMPRESSED_PROOFS] {
                w.remove(table, *i)?;
            }
            w.remove_range(
                NODE_PROOFS,
                rollup_prover::task::node_key(*i, 0, 0)
                    ..rollup_prover::task::node_key(*i + 1, 0, 0),
            )?;
        }
        for c in &unsealed.chunks {
            w.remove(PROOFS, *c)?;
        }
        for k in &outbox {
            w.remove_outbox(k)?;
        }
        unsealed.write(w, next_seq, keep)
    })?;
    let done = Reverted {
        kept_batch: keep,
        l1_transaction,
        batches_removed: removed,
        chunks_unsealed: unsealed.chunks,
        requeued: unsealed.requeue.len(),
        dropped: unsealed.dropped,
        rejected: unsealed.rejected,
        requests_gone: unsealed.requests_gone,
    };
    tracing::warn!(
        kept = keep,
        batches = done.batches_removed.len(),
        chunks = done.chunks_unsealed.len(),
        requeued = done.requeued,
        dropped = done.dropped.len(),
        rejected = done.rejected.len(),
        "the store is rewound: the transactions go back to the queue when the operator starts"
    );
    Ok(Outcome::Done(done))
}

/// The outbox key of the revert to `keep`.
fn revert_key(keep: u64) -> String {
    format!("revert:{keep}")
}

/// The batch of a submitter step's outbox key (`commit:3` → 3).
fn step_batch(key: &str) -> Option<u64> {
    let (step, index) = key.split_once(':')?;
    matches!(step, "commit" | "finalize" | "execute")
        .then(|| index.parse().ok())
        .flatten()
}

/// Refuses while a step the submitter sent for a batch above `keep` may still be mined: its
/// transaction would land on top of the revert (a commit would become a new batch). A step's
/// transaction is out of the way once its sender's nonce is used `confirmations` deep.
async fn in_flight<P: Provider>(
    store: &Store,
    provider: &P,
    keep: u64,
    confirmations: u64,
) -> Result<()> {
    let head = provider
        .get_block_number()
        .await
        .map_err(l1("the head block"))?;
    let deep = alloy::eips::BlockId::number(head.saturating_sub(confirmations.saturating_sub(1)));
    for key in store.outbox_keys()? {
        if step_batch(&key).is_none_or(|i| i <= keep) {
            continue;
        }
        let Some(tx) = store.outbox::<rollup_l1::Pending>(&key)? else {
            continue;
        };
        let sender = tx
            .sender()
            .map_err(|e| Error::Store(format!("the outbox entry of {key} does not decode: {e}")))?;
        let mined = provider
            .get_transaction_count(sender)
            .block_id(deep)
            .await
            .map_err(l1("the submitter's nonce"))?;
        if tx.nonce >= mined {
            return Err(Error::Revert(format!(
                "the submitter's transaction for {key} (nonce {}) is not mined {confirmations} blocks deep \
                 and would land on top of the revert: wait until it is (or until another transaction of \
                 {sender} takes its nonce), then run the revert again",
                tx.nonce
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_submitter_steps_name_a_batch() {
        assert_eq!(step_batch("commit:3"), Some(3));
        assert_eq!(step_batch("finalize:12"), Some(12));
        assert_eq!(step_batch("execute:1"), Some(1));
        assert_eq!(step_batch("revert:3"), None);
        assert_eq!(step_batch("commit:x"), None);
        assert_eq!(step_batch("commit"), None);
        assert_eq!(revert_key(4), "revert:4");
    }
}
