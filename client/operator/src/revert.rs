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
use crate::store::{BATCHES, L1_MARKS, PROOFS, Store};

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

/// Reverts every batch above `keep`, on L1 (sent from `owner` when given) and in the store of the
/// stopped operator `cfg` describes, dropping the L2 transactions `drop` names (ids as the L2 RPC
/// returned them). See the module docs.
pub async fn revert(
    cfg: &Config,
    keep: u64,
    drop: &[String],
    owner: Option<PrivateKeySigner>,
) -> Result<Outcome> {
    cfg.check()?;
    let store = match Store::open(&cfg.db_path()) {
        Err(Error::Database(e)) if matches!(*e, redb::Error::DatabaseAlreadyOpen) => {
            return Err(Error::Revert(format!(
                "{} is in use: stop the operator first",
                cfg.db_path().display()
            )));
        }
        r => r?,
    };
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
    in_flight(&store, &provider, &rollup, keep).await?;
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
    let unsealed = unseal(&store, core, first_chunk, drop, gone)?;
    if keep == last && unsealed.chunks.is_empty() && drop.is_empty() && gone.is_none() {
        return Err(Error::Revert(format!(
            "the operator's last batch is {last} and nothing follows it: there is nothing above batch {keep} to revert"
        )));
    }

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
                confirmations: cfg.l1_confirmations,
                gas_margin_tenths: 12,
            },
        );
        let key = revert_key(keep);
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
    let marks: Vec<u64> = if gone.is_some() {
        store
            .all::<B256>(L1_MARKS)?
            .into_iter()
            .map(|(n, _)| n)
            .collect()
    } else {
        Vec::new()
    };
    store.write(|w| {
        for n in &marks {
            w.remove(L1_MARKS, *n)?;
        }
        for i in &removed {
            w.remove(BATCHES, *i)?;
        }
        for c in &unsealed.chunks {
            w.remove(PROOFS, *c)?;
        }
        for k in &outbox {
            w.remove_outbox(k)?;
        }
        unsealed.write(w, next_seq)
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
/// transaction would land on top of the revert (a commit would become a new batch).
async fn in_flight<P: Provider>(
    store: &Store,
    provider: &P,
    rollup: &Rollup::RollupInstance<&P>,
    keep: u64,
) -> Result<()> {
    let sequencer = rollup.sequencer().call().await.map_err(l1("sequencer"))?;
    let mined = provider
        .get_transaction_count(sequencer)
        .latest()
        .await
        .map_err(l1("the sequencer's nonce"))?;
    for key in store.outbox_keys()? {
        if step_batch(&key).is_none_or(|i| i <= keep) {
            continue;
        }
        let Some(tx) = store.outbox::<rollup_l1::Pending>(&key)? else {
            continue;
        };
        if tx.nonce >= mined {
            return Err(Error::Revert(format!(
                "the submitter's transaction for {key} (nonce {}) is not mined yet and would land on top of the revert: \
                 start the operator until it is mined, then run the revert again",
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
