//! The proof submitter: it takes each batch through `commitBatch`, `finalizeBatch` (once every
//! chunk is proven) and `executeBatch` (when it has withdrawals), one L1 transaction at a time,
//! and never sends a step twice or loses one, whenever it is stopped.
//!
//! For each step:
//! 1. L1 is read first: a step L1 already shows done (a transaction that landed just before a
//!    crash) is recorded as done and nothing is sent.
//! 2. Otherwise the call is simulated; a revert is decoded into the rollup's custom error and is
//!    fatal (retrying a deterministic revert cannot help).
//! 3. The transaction is signed with the submitter's own nonce and **stored in the outbox before
//!    it is broadcast**. After a restart the stored transaction is looked up and rebroadcast,
//!    never re-created with a new nonce.
//! 4. Its receipt is awaited with `l1_confirmations`; a transaction not mined after `bump_after`
//!    is re-signed with the same nonce and fees raised by a quarter (every version is stored, and
//!    the receipt of any of them counts), up to `max_fee_per_gas`.
//! 5. The step is recorded as done and the outbox entry removed in one write.
//!
//! `finalizeBatch` and `executeBatch` are permissionless: anyone may land the same step first, and the
//! submitter's own simulation or transaction then reverts. After any refusal L1 is read again: a step
//! that L1 shows done, by whoever did it, is recorded as done (logged, never fatal); only a refusal of a
//! step L1 does not show done is [`Error::Refused`].
//!
//! Transport errors surface as [`Error::L1`]: the caller waits and calls again, which resumes
//! from the outbox.

use std::time::{Duration, Instant};

use alloy::eips::eip2718::Encodable2718;
use alloy::network::{EthereumWallet, NetworkTransactionBuilder, TransactionBuilder};
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::Provider;
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::sol_types::SolCall;
use rollup_bindings::irollup::IRollup;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

#[cfg(feature = "fault-injection")]
use crate::config::CrashPoint;
use crate::coordinator::Coordinator;
use crate::error::{Error, Result};
use crate::sequencer::{Batch, BatchStatus, Sequencer};
use crate::store::Store;
use rollup_protocol::field::to_u256;

/// One signed version of a step's transaction.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Signed {
    hash: B256,
    raw: Bytes,
    max_fee_per_gas: u128,
    max_priority_fee_per_gas: u128,
}

/// The outbox entry of a step: its nonce and every version signed, the latest last.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Outgoing {
    nonce: u64,
    gas: u64,
    to: Address,
    input: Bytes,
    versions: Vec<Signed>,
}

/// The submitter's settings.
#[derive(Debug, Clone)]
pub struct SubmitterConfig {
    /// The rollup.
    pub rollup: Address,
    /// The L1 chain id.
    pub l1_chain_id: u64,
    /// How often receipts are polled.
    pub poll: Duration,
    /// Resend with higher fees after this long.
    pub bump_after: Duration,
    /// The fee cap, wei per gas.
    pub max_fee_per_gas: u128,
    /// Confirmations before a step is done.
    pub confirmations: u64,
    /// Fault injection (tests, `fault-injection` feature).
    #[cfg(feature = "fault-injection")]
    pub crash_at: Option<CrashPoint>,
}

/// The submitter.
pub struct Submitter<P> {
    provider: P,
    wallet: EthereumWallet,
    from: Address,
    cfg: SubmitterConfig,
    #[cfg(feature = "fault-injection")]
    crashed: bool,
}

fn l1(e: impl Into<crate::error::Source>) -> Error {
    Error::l1("an L1 call", e)
}

/// The decoded revert of a failed call, if it reverted.
fn revert_reason(err: &alloy::transports::TransportError) -> Option<String> {
    let data = err.as_error_resp()?.as_revert_data()?;
    Some(match rollup_bindings::decode_rollup_error(&data) {
        Some(e) => format!("{e:?}"),
        None => format!("revert 0x{}", alloy::hex::encode(&data)),
    })
}

impl<P: Provider> Submitter<P> {
    /// A submitter sending from `wallet`'s default signer through `provider`.
    pub fn new(provider: P, wallet: EthereumWallet, cfg: SubmitterConfig) -> Self {
        let from =
            alloy::network::NetworkWallet::<alloy::network::Ethereum>::default_signer_address(
                &wallet,
            );
        Submitter {
            provider,
            wallet,
            from,
            cfg,
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
    /// The batch's proofs come from `coordinator`, its data from `sequencer`.
    pub async fn advance(
        &mut self,
        store: &Store,
        sequencer: &Mutex<Sequencer>,
        coordinator: &Coordinator,
    ) -> Result<bool> {
        let Some(batch) = sequencer
            .lock()
            .await
            .batches()
            .iter()
            .find(|b| b.status != BatchStatus::Executed)
            .cloned()
        else {
            return Ok(false);
        };
        let rollup = IRollup::new(self.cfg.rollup, &self.provider);
        let index = U256::from(batch.index);
        let (step, next, input) = match batch.status {
            BatchStatus::Proposed => {
                if rollup.lastCommittedBatch().call().await.map_err(l1)? >= index {
                    return self
                        .done(
                            store,
                            sequencer,
                            coordinator,
                            &batch,
                            "commit",
                            BatchStatus::Committed,
                        )
                        .await;
                }
                (
                    "commit",
                    BatchStatus::Committed,
                    self.commit_input(sequencer, &batch).await?,
                )
            }
            BatchStatus::Committed => {
                if rollup.lastFinalizedBatch().call().await.map_err(l1)? >= index {
                    return self
                        .done(
                            store,
                            sequencer,
                            coordinator,
                            &batch,
                            "finalize",
                            BatchStatus::Finalized,
                        )
                        .await;
                }
                match self.finalize_input(coordinator, sequencer, &batch).await? {
                    Some(input) => ("finalize", BatchStatus::Finalized, input),
                    None => return Ok(false),
                }
            }
            BatchStatus::Finalized => {
                let input = self.execute_input(sequencer, &batch).await?;
                let executed = rollup.batch(index).call().await.map_err(l1)?.executed;
                if executed || input.is_none() {
                    return self
                        .done(
                            store,
                            sequencer,
                            coordinator,
                            &batch,
                            "execute",
                            BatchStatus::Executed,
                        )
                        .await;
                }
                ("execute", BatchStatus::Executed, input.unwrap_or_default())
            }
            BatchStatus::Executed => return Ok(false),
        };
        let key = format!("{step}:{}", batch.index);
        let start = Instant::now();
        let receipt = match self.send(store, &key, input).await {
            Ok(r) => r,
            Err(refused @ Error::Refused { .. }) => {
                // Someone else may have landed this step first (finalize and execute are open to
                // anyone): that is success, not a reason to stop.
                if self.landed(step, index).await? {
                    tracing::info!(
                        batch = batch.index,
                        step,
                        "the step was done on L1 by another sender; recorded as done"
                    );
                    metrics::counter!("operator_l1_steps_done_by_others", "step" => step.to_string())
                        .increment(1);
                    return self
                        .done(store, sequencer, coordinator, &batch, step, next)
                        .await;
                }
                return Err(refused);
            }
            Err(e) => return Err(e),
        };
        tracing::info!(
            batch = batch.index,
            step,
            transaction = %receipt.transaction_hash,
            gas = receipt.gas_used,
            seconds = start.elapsed().as_secs_f64(),
            "L1 step done"
        );
        metrics::histogram!("operator_l1_step_seconds", "step" => step)
            .record(start.elapsed().as_secs_f64());
        #[cfg(feature = "fault-injection")]
        self.crash(CrashPoint::AfterReceipt)?;
        self.done(store, sequencer, coordinator, &batch, step, next)
            .await
    }

    /// Whether L1 shows `step` of batch `index` done, whoever did it, `confirmations` blocks deep (as
    /// the submitter's own steps count). Done at the head but not yet that deep is a transport-like
    /// error: the caller waits and asks again, rather than take a step that a reorg may undo.
    async fn landed(&self, step: &str, index: U256) -> Result<bool> {
        let head = self.provider.get_block_number().await.map_err(l1)?;
        let deep = head.saturating_sub(self.cfg.confirmations.saturating_sub(1));
        let at_head = self.step_done_at(step, index, head).await?;
        if !at_head {
            return Ok(false);
        }
        if self.step_done_at(step, index, deep).await? {
            return Ok(true);
        }
        Err(Error::l1_msg(format!(
            "{step} of batch {index} was done by another sender in the last {} blocks; waiting for them",
            self.cfg.confirmations
        )))
    }

    async fn step_done_at(&self, step: &str, index: U256, block: u64) -> Result<bool> {
        let rollup = IRollup::new(self.cfg.rollup, &self.provider);
        let at = alloy::eips::BlockId::number(block);
        Ok(match step {
            "commit" => {
                rollup
                    .lastCommittedBatch()
                    .block(at)
                    .call()
                    .await
                    .map_err(l1)?
                    >= index
            }
            "finalize" => {
                rollup
                    .lastFinalizedBatch()
                    .block(at)
                    .call()
                    .await
                    .map_err(l1)?
                    >= index
            }
            "execute" => {
                rollup
                    .batch(index)
                    .block(at)
                    .call()
                    .await
                    .map_err(l1)?
                    .executed
            }
            _ => false,
        })
    }

    /// Records a step as done and clears its outbox entry, in one write.
    async fn done(
        &self,
        store: &Store,
        sequencer: &Mutex<Sequencer>,
        coordinator: &Coordinator,
        batch: &Batch,
        step: &str,
        status: BatchStatus,
    ) -> Result<bool> {
        let key = format!("{step}:{}", batch.index);
        let ready = coordinator.ready_at(batch.first_chunk, batch.chunks);
        sequencer
            .lock()
            .await
            .set_status(store, batch.index, status, Some(&key), ready)?;
        metrics::counter!("operator_l1_steps", "step" => step.to_string()).increment(1);
        Ok(true)
    }

    async fn commit_input(&self, sequencer: &Mutex<Sequencer>, batch: &Batch) -> Result<Bytes> {
        let s = sequencer.lock().await;
        let chunks = (batch.first_chunk..batch.first_chunk + batch.chunks)
            .map(|c| {
                s.summary(c)
                    .map(|x| Bytes::from(x.pubdata.clone()))
                    .ok_or_else(|| Error::Store(format!("no chunk {c}")))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(IRollup::commitBatchCall { chunks }.abi_encode().into())
    }

    /// The finalize call, or `None` while the coordinator has not proven every chunk.
    async fn finalize_input(
        &self,
        coordinator: &Coordinator,
        sequencer: &Mutex<Sequencer>,
        batch: &Batch,
    ) -> Result<Option<Bytes>> {
        let Some(artifacts) = coordinator.artifacts(batch.first_chunk, batch.chunks)? else {
            return Ok(None);
        };
        let s = sequencer.lock().await;
        let (mut dcs, mut roots, mut proofs) = (Vec::new(), Vec::new(), Vec::new());
        for (c, artifact) in (batch.first_chunk..).zip(artifacts) {
            let x = s
                .summary(c)
                .ok_or_else(|| Error::Store(format!("no chunk {c}")))?;
            dcs.push(to_u256(&x.data_commitment));
            roots.push(to_u256(&x.new_root));
            proofs.push(Bytes::from(artifact.proof));
        }
        Ok(Some(
            IRollup::finalizeBatchCall {
                batchIndex: U256::from(batch.index),
                dataCommitments: dcs,
                newStateRoots: roots,
                proofs,
            }
            .abi_encode()
            .into(),
        ))
    }

    /// The execute call, or `None` when the batch has no withdrawals.
    async fn execute_input(
        &self,
        sequencer: &Mutex<Sequencer>,
        batch: &Batch,
    ) -> Result<Option<Bytes>> {
        let s = sequencer.lock().await;
        let mut withdrawals = Vec::new();
        for c in batch.first_chunk..batch.first_chunk + batch.chunks {
            let x = s
                .summary(c)
                .ok_or_else(|| Error::Store(format!("no chunk {c}")))?;
            for (account, token, amount) in &x.withdrawals {
                withdrawals.push(IRollup::Withdrawal {
                    accountId: *account,
                    token: *token,
                    amount: *amount,
                });
            }
        }
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

    /// Sends the step `key` (resuming its stored transaction if there is one) and waits for its
    /// receipt.
    async fn send(&mut self, store: &Store, key: &str, input: Bytes) -> Result<TransactionReceipt> {
        let mut out = match store.outbox::<Outgoing>(key)? {
            Some(out) => {
                tracing::info!(
                    step = key,
                    nonce = out.nonce,
                    "resuming a stored transaction"
                );
                out
            }
            None => {
                let out = self.prepare(key, input).await?;
                store.write(|w| w.put_outbox(key, &out))?;
                #[cfg(feature = "fault-injection")]
                self.crash(CrashPoint::BeforeSend)?;
                out
            }
        };
        self.broadcast(&out).await?;
        #[cfg(feature = "fault-injection")]
        self.crash(CrashPoint::AfterSend)?;
        let mut last_sent = Instant::now();
        loop {
            if let Some(r) = self.receipt(&out).await? {
                if !r.status() {
                    return Err(Error::Refused {
                        step: key.into(),
                        reason: format!("transaction {} reverted on chain", r.transaction_hash),
                    });
                }
                return Ok(r);
            }
            let mined = self
                .provider
                .get_transaction_count(self.from)
                .latest()
                .await
                .map_err(l1)?;
            if mined > out.nonce {
                if self.receipt(&out).await?.is_none() {
                    // Retried by the caller: a receipt can lag its block. If this persists,
                    // another sender uses the submitter's key.
                    return Err(Error::l1_msg(format!(
                        "{key}: nonce {} is used but none of the {} stored versions has a receipt yet",
                        out.nonce,
                        out.versions.len()
                    )));
                }
                continue;
            }
            if last_sent.elapsed() >= self.cfg.bump_after {
                out = self.bump(store, key, out).await?;
                self.broadcast(&out).await?;
                last_sent = Instant::now();
            }
            tokio::time::sleep(self.cfg.poll).await;
        }
    }

    /// Simulates the call (a revert is fatal) and signs it with the next nonce.
    async fn prepare(&self, key: &str, input: Bytes) -> Result<Outgoing> {
        let call = TransactionRequest::default()
            .with_from(self.from)
            .with_to(self.cfg.rollup)
            .with_input(input.clone());
        if let Err(e) = self.provider.call(call.clone()).await {
            return Err(match revert_reason(&e) {
                Some(reason) => Error::Refused {
                    step: key.into(),
                    reason,
                },
                None => l1(e),
            });
        }
        let gas = self.provider.estimate_gas(call).await.map_err(l1)?;
        let nonce = self
            .provider
            .get_transaction_count(self.from)
            .pending()
            .await
            .map_err(l1)?;
        let fees = self.provider.estimate_eip1559_fees().await.map_err(l1)?;
        let mut out = Outgoing {
            nonce,
            // A margin over the estimate: the verifier's pairing check is not linear in its input.
            gas: gas.saturating_mul(12) / 10,
            to: self.cfg.rollup,
            input,
            versions: Vec::new(),
        };
        let signed = self
            .sign(&out, fees.max_fee_per_gas, fees.max_priority_fee_per_gas)
            .await?;
        out.versions.push(signed);
        Ok(out)
    }

    async fn sign(&self, out: &Outgoing, max_fee: u128, priority: u128) -> Result<Signed> {
        if max_fee > self.cfg.max_fee_per_gas {
            return Err(Error::FeeCap {
                step: format!("nonce {}", out.nonce),
                cap: self.cfg.max_fee_per_gas,
            });
        }
        let tx = TransactionRequest::default()
            .with_from(self.from)
            .with_to(out.to)
            .with_input(out.input.clone())
            .with_nonce(out.nonce)
            .with_gas_limit(out.gas)
            .with_chain_id(self.cfg.l1_chain_id)
            .with_max_fee_per_gas(max_fee)
            .with_max_priority_fee_per_gas(priority.min(max_fee));
        let envelope = tx.build(&self.wallet).await.map_err(l1)?;
        Ok(Signed {
            hash: *envelope.tx_hash(),
            raw: envelope.encoded_2718().into(),
            max_fee_per_gas: max_fee,
            max_priority_fee_per_gas: priority.min(max_fee),
        })
    }

    /// A new version with fees up by a quarter (at least the current estimate), stored first.
    async fn bump(&self, store: &Store, key: &str, mut out: Outgoing) -> Result<Outgoing> {
        let last =
            out.versions.last().cloned().ok_or_else(|| {
                Error::Store(format!("{key}: an outbox entry without a transaction"))
            })?;
        let now = self.provider.estimate_eip1559_fees().await.map_err(l1)?;
        let max_fee = (last.max_fee_per_gas * 5 / 4 + 1).max(now.max_fee_per_gas);
        let priority =
            (last.max_priority_fee_per_gas * 5 / 4 + 1).max(now.max_priority_fee_per_gas);
        let signed = self
            .sign(&out, max_fee, priority)
            .await
            .map_err(|e| match e {
                Error::FeeCap { cap, .. } => Error::FeeCap {
                    step: key.into(),
                    cap,
                },
                other => other,
            })?;
        tracing::warn!(
            step = key,
            nonce = out.nonce,
            max_fee,
            "not mined in time: resending with higher fees"
        );
        metrics::counter!("operator_fee_bumps").increment(1);
        out.versions.push(signed);
        store.write(|w| w.put_outbox(key, &out))?;
        Ok(out)
    }

    /// Broadcasts the latest version; a node that already has it (or a mined one) is not an error.
    async fn broadcast(&self, out: &Outgoing) -> Result<()> {
        let Some(latest) = out.versions.last() else {
            return Ok(());
        };
        if let Err(e) = self.provider.send_raw_transaction(&latest.raw).await {
            let msg = e.to_string().to_lowercase();
            let benign = [
                "already known",
                "already imported",
                "nonce too low",
                "replacement transaction underpriced",
            ];
            if !benign.iter().any(|b| msg.contains(b)) {
                return Err(l1(e));
            }
            tracing::debug!(error = %e, "broadcast: the node already has it");
        }
        Ok(())
    }

    /// The receipt of any stored version, once it has the configured confirmations.
    async fn receipt(&self, out: &Outgoing) -> Result<Option<TransactionReceipt>> {
        for v in &out.versions {
            let Some(r) = self
                .provider
                .get_transaction_receipt(v.hash)
                .await
                .map_err(l1)?
            else {
                continue;
            };
            let head = self.provider.get_block_number().await.map_err(l1)?;
            let mined = r.block_number.unwrap_or(head);
            if head + 1 >= mined + self.cfg.confirmations {
                return Ok(Some(r));
            }
            return Ok(None);
        }
        Ok(None)
    }
}
