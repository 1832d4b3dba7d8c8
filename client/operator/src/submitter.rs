//! The proof submitter: it takes each batch through `commitBatch`, `finalizeBatch` (once every
//! chunk is proven) and `executeBatch` (when it has withdrawals), one L1 transaction at a time,
//! and never sends a step twice or loses one, whenever it is stopped.
//!
//! For each step:
//! 1. L1 is read first: a step L1 already shows done (a transaction that landed just before a
//!    crash) is recorded as done and nothing is sent.
//! 2. Otherwise the step's transaction goes through the L1 transaction manager
//!    ([`rollup_l1::TxManager`]) under the key `<step>:<batch>`: simulated (a revert is decoded into
//!    the rollup's custom error and is fatal: retrying a deterministic revert cannot help), signed
//!    with the submitter's own nonce, **stored in the outbox before it is broadcast**, bumped when
//!    not mined, confirmed `l1_confirmations` deep. After a restart the stored transaction is
//!    resumed, never re-created with a new nonce.
//! 3. The step is recorded as done in the batch book and the outbox entry removed, in one write.
//!
//! `finalizeBatch` and `executeBatch` are permissionless: anyone may land the same step first, and the
//! submitter's own simulation or transaction then reverts. After any refusal L1 is read again: a step
//! that L1 shows done, by whoever did it, is recorded as done (logged, never fatal); only a refusal of a
//! step L1 does not show done is [`Error::Refused`].
//!
//! Transport errors surface as [`Error::L1`]: the caller waits and calls again, which resumes
//! from the outbox.

use std::time::Instant;

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, Bytes, U256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionReceipt;
use alloy::sol_types::SolCall;
use rollup_bindings::irollup::IRollup;
use rollup_l1::{TxError, TxManager, TxPolicy};

use crate::batches::{Batch, BatchStatus, Batches};
#[cfg(feature = "fault-injection")]
use crate::config::CrashPoint;
use crate::coordinator::Coordinator;
use crate::error::{Error, Result};
use crate::store::Store;
use rollup_protocol::constants::BLOB_FINALIZE_WINDOW_SECS;
use rollup_protocol::field::to_u256;

/// The submitter's settings.
#[derive(Debug, Clone)]
pub struct SubmitterConfig {
    /// The rollup.
    pub rollup: Address,
    /// How its transactions are sent (chain id, fees, bumps, confirmations).
    pub tx: TxPolicy,
    /// Fault injection (tests, `fault-injection` feature).
    #[cfg(feature = "fault-injection")]
    pub crash_at: Option<CrashPoint>,
}

/// The submitter.
pub struct Submitter<P> {
    l1: TxManager<P>,
    cfg: SubmitterConfig,
    /// L1's (committed, finalized) counts when they were last seen behind the book: a step is
    /// sent again only when the next reading agrees (one lagging node is not a reorg).
    behind: Option<(U256, U256)>,
    /// The step whose stored transaction's nonce was last found used by another transaction: a
    /// second finding in a row (not a receipt that lags its block) drops it for a new one.
    nonce_taken: Option<(String, u64)>,
    /// The blob batch whose closing finalization window was last warned about, and when.
    window_warned: Option<(u64, Instant)>,
    #[cfg(feature = "fault-injection")]
    crashed: bool,
}

/// A finalization of a blob batch is not sent within this many seconds of its window's end: it
/// might land after it (fee bumps, a full mempool) and revert.
const WINDOW_MARGIN_SECS: u64 = 3_600;

fn l1(e: impl Into<crate::error::Source>) -> Error {
    Error::l1("an L1 call", e)
}

/// The rollup's custom error in revert data, decoded.
fn revert_reason(data: &[u8]) -> String {
    match rollup_bindings::decode_rollup_error(data) {
        Some(e) => format!("{e:?}"),
        None => format!("revert 0x{}", alloy::hex::encode(data)),
    }
}

/// The operator's error for a transaction manager's error in step `key`.
pub(crate) fn step_error(key: &str, e: TxError) -> Error {
    match e {
        TxError::Reverted { data } => Error::Refused {
            step: key.into(),
            reason: revert_reason(&data),
        },
        TxError::RevertedOnChain { hash } => Error::Refused {
            step: key.into(),
            reason: format!("transaction {hash} reverted on chain"),
        },
        TxError::FeeCap { cap, .. } => Error::FeeCap {
            step: key.into(),
            cap,
            unit: "gas",
        },
        TxError::BlobFeeCap { cap, .. } => Error::FeeCap {
            step: key.into(),
            cap,
            unit: "blob gas",
        },
        TxError::Blob(reason) => Error::Refused {
            step: key.into(),
            reason,
        },
        TxError::Outbox(source) => Error::Outbox {
            step: key.into(),
            source,
        },
        e @ (TxError::Rpc { .. } | TxError::NonceTaken { .. }) => Error::l1(key.to_string(), e),
    }
}

impl<P: Provider> Submitter<P> {
    /// A submitter sending from `wallet`'s default signer through `provider`.
    pub fn new(provider: P, wallet: EthereumWallet, cfg: SubmitterConfig) -> Self {
        Submitter {
            l1: TxManager::new(provider, wallet, cfg.tx),
            cfg,
            behind: None,
            nonce_taken: None,
            window_warned: None,
            #[cfg(feature = "fault-injection")]
            crashed: false,
        }
    }

    /// Stops here once if the configuration says so (crash-safety tests).
    #[cfg(feature = "fault-injection")]
    fn crash(&mut self, at: CrashPoint) -> Result<()> {
        if self.cfg.crash_at == Some(at) && !self.crashed {
            self.crashed = true;
            return Err(Error::Crash(format!("{at:?}")));
        }
        Ok(())
    }

    /// Moves the oldest unfinished batch one step forward, if it can move; returns whether it did.
    /// The batch and its chunks come from `batches`, its proofs from `coordinator`.
    pub async fn advance(
        &mut self,
        store: &Store,
        batches: &Batches,
        coordinator: &Coordinator,
    ) -> Result<bool> {
        self.reconcile(store, batches).await?;
        let Some(batch) = batches.unfinished() else {
            return Ok(false);
        };
        let rollup = IRollup::new(self.cfg.rollup, self.l1.provider());
        let index = U256::from(batch.index);
        let done = |step, status| Step {
            batch: &batch,
            step,
            status,
        };
        let (step, input) = match batch.status {
            BatchStatus::Proposed => {
                let step = done("commit", BatchStatus::Committed);
                let head = self.head().await?;
                if self.committed_at(&batch, batches, head).await? {
                    return self.done(store, batches, coordinator, step);
                }
                let (input, blob) = commit_input(batches, &batch)?;
                (step, Send { input, blob })
            }
            BatchStatus::Committed => {
                let step = done("finalize", BatchStatus::Finalized);
                if rollup.lastFinalizedBatch().call().await.map_err(l1)? >= index {
                    return self.done(store, batches, coordinator, step);
                }
                // Checked whether or not the proof is ready: a stalled prover is what runs a
                // blob batch out of its window.
                self.check_blob_window(&batch).await?;
                match finalize_input(batches, coordinator, &batch)? {
                    Some(input) => (step, Send { input, blob: None }),
                    None => return Ok(false),
                }
            }
            BatchStatus::Finalized => {
                let step = done("execute", BatchStatus::Executed);
                let input = execute_input(batches, &batch)?;
                let executed = rollup.batch(index).call().await.map_err(l1)?.executed;
                match input {
                    Some(input) if !executed => (step, Send { input, blob: None }),
                    _ => return self.done(store, batches, coordinator, step),
                }
            }
            BatchStatus::Executed => return Ok(false),
        };
        let start = Instant::now();
        let receipt = match self.send(store, &step.key(), input).await {
            Ok(r) => r,
            Err(refused @ Error::Refused { .. }) => {
                // Someone else may have landed this step first (finalize and execute are open to
                // anyone): that is success, not a reason to stop.
                if self.landed(step.step, &batch, batches).await? {
                    tracing::info!(
                        batch = batch.index,
                        step = step.step,
                        "the step was done on L1 by another sender; recorded as done"
                    );
                    metrics::counter!("operator_l1_steps_done_by_others", "step" => step.step)
                        .increment(1);
                    return self.done(store, batches, coordinator, step);
                }
                return Err(refused);
            }
            Err(e) => return Err(e),
        };
        tracing::info!(
            batch = batch.index,
            step = step.step,
            transaction = %receipt.transaction_hash,
            gas = receipt.gas_used,
            seconds = start.elapsed().as_secs_f64(),
            "L1 step done"
        );
        metrics::histogram!("operator_l1_step_seconds", "step" => step.step)
            .record(start.elapsed().as_secs_f64());
        #[cfg(feature = "fault-injection")]
        self.crash(CrashPoint::AfterReceipt)?;
        self.done(store, batches, coordinator, step)
    }

    /// A reorg deeper than the confirmations may take back a commit or a finalization the book
    /// records as done: L1's counts are read, and any such batch goes back to the step L1 shows,
    /// for the submitter to send again.
    async fn reconcile(&mut self, store: &Store, batches: &Batches) -> Result<()> {
        let Some(last) = batches.all().last().map(|b| b.index) else {
            return Ok(());
        };
        let rollup = IRollup::new(self.cfg.rollup, self.l1.provider());
        // Both counts at one block, by its hash.
        let (head_number, head_hash) = self.head().await?;
        let at = alloy::eips::BlockId::hash(head_hash);
        let committed = rollup
            .lastCommittedBatch()
            .block(at)
            .call()
            .await
            .map_err(l1)?;
        let finalized = rollup
            .lastFinalizedBatch()
            .block(at)
            .call()
            .await
            .map_err(l1)?;
        let count = |v: U256| u64::try_from(v).unwrap_or(u64::MAX);
        if count(finalized) >= last {
            self.behind = None;
            return Ok(());
        }
        let behind = batches.all().iter().any(|b| {
            (b.index > count(committed) && b.status != BatchStatus::Proposed)
                || (b.index > count(finalized)
                    && matches!(b.status, BatchStatus::Finalized | BatchStatus::Executed))
        });
        if !behind {
            self.behind = None;
            return Ok(());
        }
        if self.behind != Some((committed, finalized)) {
            // Seen once: read again on the next call before acting.
            self.behind = Some((committed, finalized));
            return Err(Error::l1_msg(format!(
                "L1 at block {} shows {committed} batches committed and {finalized} finalized, behind the book: reading again before sending anything",
                head_number
            )));
        }
        self.behind = None;
        for (index, was) in batches.rewind_to_l1(store, count(committed), count(finalized))? {
            tracing::warn!(
                batch = index,
                was = ?was,
                l1_committed = %committed,
                l1_finalized = %finalized,
                "L1 no longer shows this batch's step (a reorg): sending it again"
            );
            metrics::counter!("operator_l1_steps_reorged").increment(1);
        }
        Ok(())
    }

    /// Sends step `key`'s transaction through the transaction manager (resuming the stored one if
    /// there is one) and waits for its receipt.
    async fn send(&mut self, store: &Store, key: &str, send: Send) -> Result<TransactionReceipt> {
        let (tx, resumed) = self
            .l1
            .stage_with_blob(store, key, self.cfg.rollup, send.input, send.blob)
            .await
            .map_err(|e| step_error(key, e))?;
        #[cfg(feature = "fault-injection")]
        if !resumed {
            self.crash(CrashPoint::BeforeSend)?;
        }
        #[cfg(not(feature = "fault-injection"))]
        let _ = resumed;
        self.l1
            .broadcast(&tx)
            .await
            .map_err(|e| step_error(key, e))?;
        #[cfg(feature = "fault-injection")]
        self.crash(CrashPoint::AfterSend)?;
        match self.l1.confirm(store, key, tx).await {
            Err(e @ TxError::NonceTaken { nonce, .. }) => {
                let seen = (key.to_string(), nonce);
                if self.nonce_taken.as_ref() == Some(&seen) {
                    // No version can land any more: the step, which L1 does not show done, is
                    // signed again from the next call on (one sent twice lands once: a commit
                    // names its index, and a finalize or execute done is recorded as done).
                    tracing::warn!(
                        key,
                        error = %e,
                        "another transaction used the stored transaction's nonce: it is dropped and the step signed again"
                    );
                    store.write(|w| w.remove_outbox(key))?;
                    self.nonce_taken = None;
                } else {
                    self.nonce_taken = Some(seen);
                }
                Err(step_error(key, e))
            }
            other => {
                self.nonce_taken = None;
                other.map_err(|e| step_error(key, e))
            }
        }
    }

    /// The head block, by number and hash.
    async fn head(&self) -> Result<(u64, alloy::primitives::B256)> {
        let head = self.latest().await?;
        Ok((head.number, head.hash))
    }

    /// The latest block's header.
    async fn latest(&self) -> Result<alloy::rpc::types::Header> {
        Ok(self
            .l1
            .provider()
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await
            .map_err(l1)?
            .ok_or_else(|| Error::l1_msg("the RPC has no latest block"))?
            .header)
    }

    /// Refuses to finalize a batch posted in a blob once L1's window for it has passed, or will
    /// have within [`WINDOW_MARGIN_SECS`] (a finalization landing after it reverts:
    /// `BlobFinalizeWindowPassed`), naming the way out; warns in its last day (at most every ten
    /// minutes) and reports the time left (`operator_blob_finalize_seconds_left`).
    async fn check_blob_window(&mut self, batch: &Batch) -> Result<()> {
        let rollup = IRollup::new(self.cfg.rollup, self.l1.provider());
        let committed_at = rollup
            .batch(U256::from(batch.index))
            .call()
            .await
            .map_err(l1)?
            .blobCommittedAt;
        if committed_at == 0 {
            return Ok(());
        }
        let finalize_by = committed_at.saturating_add(BLOB_FINALIZE_WINDOW_SECS);
        let now = self.latest().await?.timestamp;
        let left = finalize_by.saturating_sub(now);
        metrics::gauge!("operator_blob_finalize_seconds_left").set(left as f64);
        if now.saturating_add(WINDOW_MARGIN_SECS) > finalize_by {
            return Err(Error::Refused {
                step: format!("finalize:{}", batch.index),
                reason: format!(
                    "batch {} was committed in a blob at {committed_at} and L1 finalizes it only until {finalize_by} (now {now}; a finalization is not sent in the last {WINDOW_MARGIN_SECS} s, it might land too late), while its blob is surely served: revert it with `operator revert --to {}` and its transactions are committed again (docs/operator.md)",
                    batch.index,
                    batch.index.saturating_sub(1)
                ),
            });
        }
        let warned_lately = self
            .window_warned
            .is_some_and(|(b, at)| b == batch.index && at.elapsed().as_secs() < 600);
        if left < 86_400 && !warned_lately {
            self.window_warned = Some((batch.index, Instant::now()));
            tracing::warn!(
                batch = batch.index,
                finalize_by,
                seconds_left = left,
                "a blob batch's finalization window closes within a day: prove it, or revert it (docs/operator.md)"
            );
        }
        Ok(())
    }

    /// Whether L1, at block `at` (read by hash), holds `batch` committed with the operator's own
    /// data. L1's batch at that index with other data (a commit that landed after a revert, say)
    /// can never finalize: that is [`Error::Refused`], for the owner to revert.
    async fn committed_at(
        &self,
        batch: &Batch,
        batches: &Batches,
        at: (u64, alloy::primitives::B256),
    ) -> Result<bool> {
        let rollup = IRollup::new(self.cfg.rollup, self.l1.provider());
        let (index, block) = (U256::from(batch.index), alloy::eips::BlockId::hash(at.1));
        if rollup
            .lastCommittedBatch()
            .block(block)
            .call()
            .await
            .map_err(l1)?
            < index
        {
            return Ok(false);
        }
        let theirs = rollup
            .batch(index)
            .block(block)
            .call()
            .await
            .map_err(l1)?
            .bindingHash;
        let ours = binding_hash(&binding(batches, batch)?);
        if theirs != ours {
            return Err(Error::Refused {
                step: format!("commit:{}", batch.index),
                reason: format!(
                    "L1's batch {index} at block {} holds other data (binding hash {theirs}, the operator's {ours}): revert it (`operator revert`, docs/operator.md)",
                    at.0
                ),
            });
        }
        Ok(true)
    }

    /// Whether L1 shows `step` of `batch` done, whoever did it, `confirmations` blocks deep (as
    /// the submitter's own steps count). Done at the head but not yet that deep is a transport-like
    /// error: the caller waits and asks again, rather than take a step that a reorg may undo.
    async fn landed(&self, step: &str, batch: &Batch, batches: &Batches) -> Result<bool> {
        let confirmations = self.cfg.tx.confirmations;
        let head = self.head().await?;
        let deep_number = head.0.saturating_sub(confirmations.saturating_sub(1));
        let deep = self
            .l1
            .provider()
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Number(deep_number))
            .await
            .map_err(l1)?
            .ok_or_else(|| Error::l1_msg(format!("the RPC has no block {deep_number}")))?;
        let deep = (deep.header.number, deep.header.hash);
        if !self.step_done_at(step, batch, batches, head).await? {
            return Ok(false);
        }
        if self.step_done_at(step, batch, batches, deep).await? {
            return Ok(true);
        }
        Err(Error::l1_msg(format!(
            "{step} of batch {} was done by another sender in the last {confirmations} blocks; waiting for them",
            batch.index
        )))
    }

    async fn step_done_at(
        &self,
        step: &str,
        batch: &Batch,
        batches: &Batches,
        at: (u64, alloy::primitives::B256),
    ) -> Result<bool> {
        let rollup = IRollup::new(self.cfg.rollup, self.l1.provider());
        let (index, block) = (U256::from(batch.index), alloy::eips::BlockId::hash(at.1));
        Ok(match step {
            "commit" => self.committed_at(batch, batches, at).await?,
            "finalize" => {
                rollup
                    .lastFinalizedBatch()
                    .block(block)
                    .call()
                    .await
                    .map_err(l1)?
                    >= index
            }
            "execute" => {
                rollup
                    .batch(index)
                    .block(block)
                    .call()
                    .await
                    .map_err(l1)?
                    .executed
            }
            _ => false,
        })
    }

    /// Records a step as done and clears its outbox entry, in one write.
    fn done(
        &self,
        store: &Store,
        batches: &Batches,
        coordinator: &Coordinator,
        step: Step<'_>,
    ) -> Result<bool> {
        let ready = coordinator.ready_at(step.batch.index);
        batches.set_status(
            store,
            step.batch.index,
            step.status,
            Some(&step.key()),
            ready,
        )?;
        metrics::counter!("operator_l1_steps", "step" => step.step).increment(1);
        Ok(true)
    }
}

/// A batch's next L1 step and the status it leads to.
#[derive(Clone, Copy)]
struct Step<'a> {
    batch: &'a Batch,
    step: &'static str,
    status: BatchStatus,
}

impl Step<'_> {
    /// Its outbox key.
    fn key(&self) -> String {
        format!("{}:{}", self.step, self.batch.index)
    }
}

/// A step's transaction: its call, and the pubdata it posts in a blob, if it does.
struct Send {
    input: Bytes,
    blob: Option<Bytes>,
}

/// `commitBatch` with the pubdata in calldata, or `commitBatchBlob` with the records L1 acts on,
/// the blob evaluation and its KZG opening at the batch's challenge, the pubdata going in the
/// transaction's blob (`docs/protocol.md` section 8).
fn commit_input(batches: &Batches, batch: &Batch) -> Result<(Bytes, Option<Bytes>)> {
    let pubdata = batches.pubdata(batch)?;
    let binding = batches.binding(batch)?;
    let Some(versioned_hash) = batch.blob else {
        let call = IRollup::commitBatchCall {
            batchIndex: U256::from(batch.index),
            pubdata: Bytes::from(pubdata),
            batchCommitment: to_u256(&binding.commitment),
        };
        return Ok((call.abi_encode().into(), None));
    };
    let opening = rollup_l1::blob::opening(&pubdata, &binding.challenge)
        .map_err(|e| Error::Store(format!("batch {}: its blob's opening: {e}", batch.index)))?;
    if opening.versioned_hash != versioned_hash {
        return Err(Error::Store(format!(
            "batch {}: its pubdata's blob has versioned hash {}, the book recorded {versioned_hash}",
            batch.index, opening.versioned_hash
        )));
    }
    let call = IRollup::commitBatchBlobCall {
        batchIndex: U256::from(batch.index),
        l1Records: rollup_protocol::codec::l1_list(&pubdata)?.into(),
        batchCommitment: to_u256(&binding.commitment),
        blobEvaluation: U256::from_be_bytes(opening.y),
        kzgOpening: [opening.commitment.as_slice(), opening.proof.as_slice()]
            .concat()
            .into(),
    };
    Ok((call.abi_encode().into(), Some(Bytes::from(pubdata))))
}

/// `batch`'s data binding as L1 takes it.
fn binding(batches: &Batches, batch: &Batch) -> Result<IRollup::DataBinding> {
    let b = batches.binding(batch)?;
    Ok(IRollup::DataBinding {
        commitment: to_u256(&b.commitment),
        challenge: to_u256(&b.challenge),
        l1Evaluation: to_u256(&b.l1_evaluation),
        blobEvaluation: alloy::primitives::U256::from_be_bytes(rollup_protocol::blob::bls_to_be(
            &b.blob_evaluation,
        )),
    })
}

/// What L1 stores of a batch's binding: keccak256 of its ABI encoding (`abi.encode(binding)`).
fn binding_hash(binding: &IRollup::DataBinding) -> alloy::primitives::B256 {
    use alloy::sol_types::SolValue;
    alloy::primitives::keccak256(binding.abi_encode())
}

/// The finalize call, or `None` while the coordinator has not stored the batch's proof.
fn finalize_input(
    batches: &Batches,
    coordinator: &Coordinator,
    batch: &Batch,
) -> Result<Option<Bytes>> {
    let summaries = batches.summaries(batch)?;
    let (Some(first), Some(last)) = (summaries.first(), summaries.last()) else {
        return Err(Error::Store(format!(
            "batch {} holds no chunk",
            batch.index
        )));
    };
    let roots = (first.old_root, last.new_root);
    let Some(artifact) = coordinator.batch_proof(batch, &batches.binding(batch)?, roots)? else {
        return Ok(None);
    };
    let proof = rollup_prover::batch::l1_proof(&artifact.public_inputs, &artifact.proof)
        .ok_or_else(|| {
            Error::Proof(format!(
                "batch {}: a stored proof of another shape",
                batch.index
            ))
        })?;
    Ok(Some(
        IRollup::finalizeBatchCall {
            batchIndex: U256::from(batch.index),
            binding: binding(batches, batch)?,
            newStateRoot: to_u256(&last.new_root),
            proof: proof.into(),
        }
        .abi_encode()
        .into(),
    ))
}

/// The execute call, or `None` when the batch has no withdrawals.
fn execute_input(batches: &Batches, batch: &Batch) -> Result<Option<Bytes>> {
    let withdrawals: Vec<_> = batches
        .summaries(batch)?
        .iter()
        .flat_map(|x| &x.withdrawals)
        .map(|&(account, token, amount)| IRollup::Withdrawal {
            accountId: account,
            token,
            amount,
        })
        .collect();
    if withdrawals.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        IRollup::executeBatchCall {
            batchIndex: U256::from(batch.index),
            withdrawals,
        }
        .abi_encode()
        .into(),
    ))
}
