//! The L1 transaction manager: one sender's transactions signed with its own nonces, **stored
//! before they are broadcast**, re-sent with higher fees when they are not mined, and confirmed a
//! configured number of blocks deep. It knows nothing of what a transaction does: the caller
//! names each one by a key (the operator: `commit:7`), decides what counts as done, and clears the
//! stored entry in the same write that records the step done.
//!
//! A transaction's life, each arrow a call of the caller's (so that a test can stop it between
//! any two):
//!
//! ```text
//! stage ──▶ broadcast ──▶ confirm ──▶ receipt (caller records done, removes the outbox entry)
//!   │ simulated first: a revert is [`TxError::Reverted`], nothing is signed or stored
//!   │ signed with the pending nonce, stored in the [`Outbox`] under its key
//!   └ a key already in the outbox is resumed as stored, never signed again with a new nonce
//! confirm: not mined after `bump_after` ─▶ a new version, same nonce, fees × 1.25 (× 2, blob fee
//!          included, for a blob transaction: always while it pays less than the market, else
//!          while that stays within 4× the market; at least the current estimate), stored then
//!          broadcast; the receipt of any version counts
//! ```
//!
//! Transport failures are [`TxError::Rpc`]: the caller waits and calls again, which resumes from
//! the outbox. The manager holds no lock and no state between calls other than its settings.

use std::time::{Duration, Instant};

use alloy::eips::eip2718::Encodable2718;
use alloy::network::{
    Ethereum, EthereumWallet, NetworkTransactionBuilder, NetworkWallet, TransactionBuilder,
    TransactionBuilder4844,
};
use alloy::primitives::{Address, B256, Bytes};
use alloy::providers::Provider;
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use serde::{Deserialize, Serialize};

/// Why a transaction was not sent or not confirmed.
#[derive(Debug, thiserror::Error)]
pub enum TxError {
    /// An RPC call failed: wait and call again (the outbox makes that safe).
    #[error("L1 RPC: {what}: {source}")]
    Rpc {
        /// The call that failed.
        what: &'static str,
        /// Its error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The call reverts when simulated; `data` is the revert data (a custom error to decode).
    #[error("the call reverts (revert data 0x{})", alloy::hex::encode(data))]
    Reverted {
        /// The revert data.
        data: Bytes,
    },
    /// The transaction was mined and reverted.
    #[error("transaction {hash} reverted on chain")]
    RevertedOnChain {
        /// The mined version's hash.
        hash: B256,
    },
    /// The fees needed are above the configured cap: raise the cap or wait for lower fees.
    #[error("nonce {nonce}: a max fee of {wanted} wei per gas is needed, the cap is {cap}")]
    FeeCap {
        /// The transaction's nonce.
        nonce: u64,
        /// The fee needed.
        wanted: u128,
        /// The cap.
        cap: u128,
    },
    /// The blob fee needed is above the configured cap: raise the cap or wait for a lower blob
    /// base fee (a batch proposed in a blob stays one: its proof is bound to the blob; later
    /// batches may go in calldata).
    #[error("nonce {nonce}: a blob fee of {wanted} wei per blob gas is needed, the cap is {cap}")]
    BlobFeeCap {
        /// The transaction's nonce.
        nonce: u64,
        /// The fee needed.
        wanted: u128,
        /// The cap.
        cap: u128,
    },
    /// The pubdata could not be put in a blob (too large for one).
    #[error("blob: {0}")]
    Blob(String),
    /// The nonce is used on chain, `confirmations` deep, but no stored version has a receipt:
    /// either the receipt lags its block (call again) or another transaction of this key took it.
    #[error("nonce {nonce} is used but none of the {versions} stored versions has a receipt yet")]
    NonceTaken {
        /// The nonce.
        nonce: u64,
        /// How many versions were signed.
        versions: usize,
    },
    /// The outbox could not be read or written.
    #[error("the outbox: {0}")]
    Outbox(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl TxError {
    /// Whether calling again later may succeed without a change of configuration.
    pub fn is_transient(&self) -> bool {
        matches!(self, TxError::Rpc { .. } | TxError::NonceTaken { .. })
    }
}

/// `Result` with a [`TxError`].
pub type Result<T> = std::result::Result<T, TxError>;

fn rpc(what: &'static str) -> impl FnOnce(alloy::transports::TransportError) -> TxError {
    move |e| TxError::Rpc {
        what,
        source: Box::new(e),
    }
}

/// One signed version of a transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signed {
    /// Its hash.
    pub hash: B256,
    /// The signed EIP-2718 envelope.
    pub raw: Bytes,
    /// Its max fee, wei per gas.
    pub max_fee_per_gas: u128,
    /// Its priority fee, wei per gas.
    pub max_priority_fee_per_gas: u128,
    /// Its blob fee cap, wei per blob gas (0: not a blob transaction).
    #[serde(default)]
    pub max_fee_per_blob_gas: u128,
}

/// A staged transaction as the outbox stores it: its nonce, call and every version signed, the
/// latest last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// The nonce every version shares.
    pub nonce: u64,
    /// The gas limit.
    pub gas: u64,
    /// The callee.
    pub to: Address,
    /// The calldata.
    pub input: Bytes,
    /// The pubdata it posts in one blob, if it is a blob transaction (the sidecar is made again
    /// from it for each version: it is a function of the pubdata).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blob: Option<Bytes>,
    /// Every version signed, oldest first.
    pub versions: Vec<Signed>,
}

impl Pending {
    /// The account that signed it (recovered from its first version's signature).
    pub fn sender(&self) -> std::result::Result<Address, String> {
        use alloy::consensus::TxEnvelope;
        use alloy::eips::eip2718::Decodable2718;
        let first = self.versions.first().ok_or("no signed version")?;
        let envelope =
            TxEnvelope::decode_2718(&mut first.raw.as_ref()).map_err(|e| e.to_string())?;
        // The manager signs EIP-1559 and (with a blob) EIP-4844 transactions only.
        let (signature, prehash) = match &envelope {
            TxEnvelope::Eip1559(signed) => (*signed.signature(), signed.signature_hash()),
            TxEnvelope::Eip4844(signed) => (*signed.signature(), signed.signature_hash()),
            _ => return Err("neither an EIP-1559 nor an EIP-4844 transaction".into()),
        };
        signature
            .recover_address_from_prehash(&prehash)
            .map_err(|e| e.to_string())
    }
}

/// Where staged transactions are kept across restarts. Entries are removed by the caller, in the
/// write that records what the transaction achieved.
pub trait Outbox: Send + Sync {
    /// The entry stored under `key`.
    fn load(
        &self,
        key: &str,
    ) -> std::result::Result<Option<Pending>, Box<dyn std::error::Error + Send + Sync>>;
    /// Stores `tx` under `key` (replacing what was there), durably, before returning.
    fn save(
        &self,
        key: &str,
        tx: &Pending,
    ) -> std::result::Result<(), Box<dyn std::error::Error + Send + Sync>>;
    /// The nonces of every stored entry (of every sender): the gap filler never replaces them.
    fn nonces(&self) -> std::result::Result<Vec<u64>, Box<dyn std::error::Error + Send + Sync>>;
}

/// The fees of one signed version.
#[derive(Debug, Clone, Copy)]
struct Fees {
    max_fee: u128,
    priority: u128,
    /// Wei per blob gas (ignored unless the transaction carries a blob).
    blob: u128,
}

fn blob_error(e: crate::blob::BlobError) -> TxError {
    TxError::Blob(e.to_string())
}

/// The versioned hash of the one blob holding `pubdata`.
fn blob_versioned_hash(pubdata: &[u8]) -> Result<B256> {
    let blob = rollup_protocol::blob::blob_of_pubdata(pubdata)
        .map_err(|e| TxError::Blob(e.to_string()))?;
    crate::blob::versioned_hash(&blob).map_err(blob_error)
}

/// A blob transaction that pays the market in every fee is replaced (every fee doubled) only while
/// its new fees stay within this many times the market's: the fee estimate, and twice the blob base
/// fee.
pub const BLOB_MARKET_MULTIPLE: u128 = 4;

/// Whether a blob transaction whose latest `(max fee, blob fee)` are `last` is replaced by one
/// paying `new`, the market being `market`: always while `last` is below the market in either fee
/// (a blob base fee surge must be followed, whatever that does to the other fee, up to the caps),
/// else only while `new` stays within [`BLOB_MARKET_MULTIPLE`] times the market in both.
fn replace_blob(last: (u128, u128), new: (u128, u128), market: (u128, u128)) -> bool {
    let below = last.0 < market.0 || last.1 < market.1;
    let within = new.0 <= market.0.max(1).saturating_mul(BLOB_MARKET_MULTIPLE)
        && new.1 <= market.1.max(1).saturating_mul(BLOB_MARKET_MULTIPLE);
    below || within
}

/// The manager's settings.
#[derive(Debug, Clone, Copy)]
pub struct TxPolicy {
    /// The chain id every transaction is signed for.
    pub chain_id: u64,
    /// How often receipts are polled.
    pub poll: Duration,
    /// A version not mined this long is replaced with higher fees.
    pub bump_after: Duration,
    /// The fee cap, wei per gas: no version is signed above it.
    pub max_fee_per_gas: u128,
    /// The blob fee cap, wei per blob gas: no blob transaction is signed above it.
    pub max_fee_per_blob_gas: u128,
    /// Blocks a receipt must be deep (1: mined) before it counts.
    pub confirmations: u64,
    /// The gas limit is the estimate times this many tenths (12: a fifth over the estimate).
    pub gas_margin_tenths: u64,
}

/// Sends one account's transactions through one provider.
///
/// One manager per account, used one transaction at a time: [`TxManager::stage`] signs with the
/// account's pending nonce, so two stages at once (two clones, two processes) would sign the same
/// nonce for different transactions. The operator's submitter owns its manager behind a lock.
#[derive(Debug, Clone)]
pub struct TxManager<P> {
    provider: P,
    wallet: EthereumWallet,
    from: Address,
    policy: TxPolicy,
}

impl<P: Provider> TxManager<P> {
    /// A manager sending from `wallet`'s default signer.
    pub fn new(provider: P, wallet: EthereumWallet, policy: TxPolicy) -> Self {
        let from = NetworkWallet::<Ethereum>::default_signer_address(&wallet);
        TxManager {
            provider,
            wallet,
            from,
            policy,
        }
    }

    /// The sending account.
    pub fn from(&self) -> Address {
        self.from
    }

    /// The settings.
    pub fn policy(&self) -> &TxPolicy {
        &self.policy
    }

    /// The provider.
    pub fn provider(&self) -> &P {
        &self.provider
    }

    /// The transaction stored under `key`, if any, else a new one calling `to` with `input`:
    /// simulated (a revert is [`TxError::Reverted`]), signed with the pending nonce and stored.
    /// The flag says whether it was resumed from the outbox.
    pub async fn stage(
        &self,
        outbox: &dyn Outbox,
        key: &str,
        to: Address,
        input: Bytes,
    ) -> Result<(Pending, bool)> {
        self.stage_with_blob(outbox, key, to, input, None).await
    }

    /// [`TxManager::stage`] for a call that also posts `blob` (pubdata in this rollup's blob
    /// encoding) in one blob: a type-3 transaction, simulated with its versioned hash (so that the
    /// call's `BLOBHASH(0)` reads it), its blob fee cap twice the current blob base fee (which can
    /// rise by 12.5 % a block), within the policy's cap.
    pub async fn stage_with_blob(
        &self,
        outbox: &dyn Outbox,
        key: &str,
        to: Address,
        input: Bytes,
        blob: Option<Bytes>,
    ) -> Result<(Pending, bool)> {
        if let Some(tx) = outbox.load(key).map_err(TxError::Outbox)? {
            tracing::info!(key, nonce = tx.nonce, "resuming a stored transaction");
            return Ok((tx, true));
        }
        let tx = self.prepare(to, input, blob).await?;
        outbox.save(key, &tx).map_err(TxError::Outbox)?;
        Ok((tx, false))
    }

    /// Simulates the call and signs it with the next pending nonce; stores nothing (so it is not
    /// public: a transaction is broadcast only once stored, through [`TxManager::stage`]).
    async fn prepare(&self, to: Address, input: Bytes, blob: Option<Bytes>) -> Result<Pending> {
        let mut call = TransactionRequest::default()
            .with_from(self.from)
            .with_to(to)
            .with_input(input.clone());
        if let Some(pubdata) = &blob {
            let hash = blob_versioned_hash(pubdata)?;
            call.blob_versioned_hashes = Some(vec![hash]);
        }
        if let Err(e) = self.provider.call(call.clone()).await {
            return Err(match e.as_error_resp().and_then(|r| r.as_revert_data()) {
                Some(data) => TxError::Reverted { data },
                None => rpc("simulating the call")(e),
            });
        }
        let gas = self
            .provider
            .estimate_gas(call)
            .await
            .map_err(rpc("estimating gas"))?;
        let nonce = self
            .provider
            .get_transaction_count(self.from)
            .pending()
            .await
            .map_err(rpc("reading the pending nonce"))?;
        let fees = self
            .provider
            .estimate_eip1559_fees()
            .await
            .map_err(rpc("estimating fees"))?;
        let blob_fee = match &blob {
            None => 0,
            Some(_) => self
                .provider
                .get_blob_base_fee()
                .await
                .map_err(rpc("reading the blob base fee"))?
                .max(1)
                .saturating_mul(2),
        };
        let mut tx = Pending {
            nonce,
            gas: gas.saturating_mul(self.policy.gas_margin_tenths.max(10)) / 10,
            to,
            input,
            blob,
            versions: Vec::new(),
        };
        let signed = self
            .sign(
                &tx,
                Fees {
                    max_fee: fees.max_fee_per_gas,
                    priority: fees.max_priority_fee_per_gas,
                    blob: blob_fee,
                },
            )
            .await?;
        tx.versions.push(signed);
        Ok(tx)
    }

    async fn sign(&self, tx: &Pending, fees: Fees) -> Result<Signed> {
        let Fees {
            max_fee,
            priority,
            blob: blob_fee,
        } = fees;
        if max_fee > self.policy.max_fee_per_gas {
            return Err(TxError::FeeCap {
                nonce: tx.nonce,
                wanted: max_fee,
                cap: self.policy.max_fee_per_gas,
            });
        }
        if tx.blob.is_some() && blob_fee > self.policy.max_fee_per_blob_gas {
            return Err(TxError::BlobFeeCap {
                nonce: tx.nonce,
                wanted: blob_fee,
                cap: self.policy.max_fee_per_blob_gas,
            });
        }
        let priority = priority.min(max_fee);
        let mut request = TransactionRequest::default()
            .with_from(self.from)
            .with_to(tx.to)
            .with_input(tx.input.clone())
            .with_nonce(tx.nonce)
            .with_gas_limit(tx.gas)
            .with_chain_id(self.policy.chain_id)
            .with_max_fee_per_gas(max_fee)
            .with_max_priority_fee_per_gas(priority);
        if let Some(pubdata) = &tx.blob {
            let sidecar = crate::blob::sidecar_7594(pubdata).map_err(blob_error)?;
            request = request
                .with_blob_sidecar(sidecar.into())
                .with_max_fee_per_blob_gas(blob_fee);
        }
        let envelope = request
            .build(&self.wallet)
            .await
            .map_err(|e| TxError::Rpc {
                what: "signing",
                source: Box::new(e),
            })?;
        Ok(Signed {
            hash: *envelope.tx_hash(),
            raw: envelope.encoded_2718().into(),
            max_fee_per_gas: max_fee,
            max_priority_fee_per_gas: priority,
            max_fee_per_blob_gas: if tx.blob.is_some() { blob_fee } else { 0 },
        })
    }

    /// Broadcasts the latest version; a node that already has it, or has mined a version, is not
    /// an error.
    pub async fn broadcast(&self, tx: &Pending) -> Result<()> {
        let Some(latest) = tx.versions.last() else {
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
                return Err(rpc("broadcasting")(e));
            }
            tracing::debug!(error = %e, "broadcast: the node already has it");
        }
        Ok(())
    }

    /// Waits for a receipt of any version of `tx` with the configured confirmations, replacing it
    /// with higher fees (stored under `key` first) each `bump_after`. A mined revert is
    /// [`TxError::RevertedOnChain`].
    pub async fn confirm(
        &self,
        outbox: &dyn Outbox,
        key: &str,
        mut tx: Pending,
    ) -> Result<TransactionReceipt> {
        let mut last_sent = Instant::now();
        // The fees of the next gap filler: they rise with each round, as a bump's would.
        let mut filler_fees = None;
        loop {
            match self.receipt(&tx).await? {
                Some((r, true)) if !r.status() => {
                    return Err(TxError::RevertedOnChain {
                        hash: r.transaction_hash,
                    });
                }
                Some((r, true)) => return Ok(r),
                // Mined, not yet deep enough (a reorg may still undo it, revert or not): wait,
                // neither bump nor fill.
                Some((_, false)) => {
                    tokio::time::sleep(self.policy.poll).await;
                    continue;
                }
                None => {}
            }
            let mined = self
                .provider
                .get_transaction_count(self.from)
                .latest()
                .await
                .map_err(rpc("reading the mined nonce"))?;
            if mined > tx.nonce {
                if self.receipt(&tx).await?.is_none() && self.taken_deep(tx.nonce).await? {
                    return Err(TxError::NonceTaken {
                        nonce: tx.nonce,
                        versions: tx.versions.len(),
                    });
                }
                tokio::time::sleep(self.policy.poll).await;
                continue;
            }
            if last_sent.elapsed() >= self.policy.bump_after {
                if mined < tx.nonce {
                    // Waiting behind lower nonces: raising this transaction's fees would not
                    // help; the nonces below it are filled instead.
                    filler_fees = Some(self.fill_gap(outbox, mined, &tx, filler_fees).await);
                } else {
                    tx = self.bump(outbox, key, tx).await?;
                    self.broadcast(&tx).await?;
                }
                last_sent = Instant::now();
            }
            tokio::time::sleep(self.policy.poll).await;
        }
    }

    /// Whether L1 holds `nonce` used `confirmations` deep (a use a shallow reorg can undo is not
    /// one yet).
    async fn taken_deep(&self, nonce: u64) -> Result<bool> {
        let head = self
            .provider
            .get_block_number()
            .await
            .map_err(rpc("reading the head block"))?;
        let deep = head.saturating_sub(self.policy.confirmations.saturating_sub(1));
        let used = self
            .provider
            .get_transaction_count(self.from)
            .block_id(alloy::eips::BlockId::number(deep))
            .await
            .map_err(rpc("reading the settled nonce"))?;
        Ok(used > nonce)
    }

    /// Stages, broadcasts and confirms in one call.
    pub async fn send(
        &self,
        outbox: &dyn Outbox,
        key: &str,
        to: Address,
        input: Bytes,
    ) -> Result<TransactionReceipt> {
        let (tx, _) = self.stage(outbox, key, to, input).await?;
        self.broadcast(&tx).await?;
        self.confirm(outbox, key, tx).await
    }

    /// Fills the nonces between L1's mined nonce and `tx`'s that no stored transaction holds,
    /// each with a zero-value transfer to self; returns the fees used, for the next round to raise.
    ///
    /// One manager sends one transaction at a time, so such a nonce belongs to a transaction the
    /// book no longer holds: one whose step another sender did first (its entry dropped while it
    /// still sat in a mempool, maybe underpriced for good), or one a reorg took back that no node
    /// kept. Either way `tx` waits behind it for ever, whatever its own fees. A nonce a stored entry
    /// holds (another step's, or `operator revert`'s with the same key) is never replaced. Each
    /// round's fillers pay a quarter more than the last (at least `tx`'s latest fees and the
    /// current estimate), so that they end up replacing a stale transaction a node still holds.
    /// Fillers are not stored: they carry no step, and any version of one lands at most once and
    /// changes nothing but the sender's balance. A filler that cannot be sent (over the fee cap,
    /// say) is logged, never an error.
    async fn fill_gap(
        &self,
        outbox: &dyn Outbox,
        mined: u64,
        tx: &Pending,
        last: Option<(u128, u128)>,
    ) -> (u128, u128) {
        let ours = tx
            .versions
            .last()
            .map_or((0, 0), |v| (v.max_fee_per_gas, v.max_priority_fee_per_gas));
        let now = self
            .provider
            .estimate_eip1559_fees()
            .await
            .map_or((0, 0), |f| (f.max_fee_per_gas, f.max_priority_fee_per_gas));
        let raised = last.map_or((0, 0), |(fee, tip)| (fee * 5 / 4 + 1, tip * 5 / 4 + 1));
        let fees = (
            ours.0.max(now.0).max(raised.0),
            ours.1.max(now.1).max(raised.1),
        );
        let held = match outbox.nonces() {
            Ok(held) => held,
            Err(e) => {
                tracing::warn!(error = %e, "nonce gap: the outbox could not be read; nothing filled");
                return fees;
            }
        };
        // The lowest first (it is the one everything waits on), at most this many per round: a
        // node reporting a mined nonce far behind (lagging, or lying) gets a bounded number of
        // harmless signatures, not thousands.
        const PER_ROUND: usize = 16;
        for nonce in (mined..tx.nonce).take(PER_ROUND) {
            if held.contains(&nonce) {
                continue;
            }
            let mut filler = Pending {
                nonce,
                gas: 21_000,
                to: self.from,
                input: Bytes::new(),
                blob: None,
                versions: Vec::new(),
            };
            let filler_fees = Fees {
                max_fee: fees.0,
                priority: fees.1,
                blob: 0,
            };
            let sent = match self.sign(&filler, filler_fees).await {
                Ok(signed) => {
                    filler.versions.push(signed);
                    self.broadcast(&filler).await
                }
                Err(e) => Err(e),
            };
            match sent {
                Ok(()) => {
                    tracing::warn!(
                        nonce,
                        pending = tx.nonce,
                        max_fee = fees.0,
                        "a nonce below the pending transaction is not mined and no stored transaction holds it: filled with a transfer to self"
                    );
                    metrics::counter!("l1_tx_nonce_gaps_filled").increment(1);
                }
                Err(e) => tracing::warn!(nonce, error = %e, "a nonce gap could not be filled"),
            }
        }
        fees
    }

    /// A new version with fees up by a quarter (at least the current estimate), stored first. A
    /// blob transaction's every fee is doubled: nodes replace a blob transaction only so (geth's
    /// blob pool asks 100 % more of each of the three fees). Doubling every round would reach the
    /// fee caps within minutes while the market stays where it is, so a blob transaction that
    /// already pays the market (the fee estimate, and twice the blob base fee as a new one is
    /// signed with) is replaced only while the doubled fees stay within [`BLOB_MARKET_MULTIPLE`]
    /// times it; past that it is returned unchanged, to be broadcast again as it is. One that pays
    /// less than the market in either fee is always replaced, up to the caps.
    async fn bump(&self, outbox: &dyn Outbox, key: &str, mut tx: Pending) -> Result<Pending> {
        let Some(last) = tx.versions.last().cloned() else {
            return Err(TxError::Outbox(
                format!("{key}: a stored transaction without a signed version").into(),
            ));
        };
        let now = self
            .provider
            .estimate_eip1559_fees()
            .await
            .map_err(rpc("estimating fees"))?;
        let raise = |x: u128| {
            if tx.blob.is_some() {
                x.saturating_mul(2).max(1)
            } else {
                x * 5 / 4 + 1
            }
        };
        let max_fee = raise(last.max_fee_per_gas).max(now.max_fee_per_gas);
        let priority = raise(last.max_priority_fee_per_gas).max(now.max_priority_fee_per_gas);
        let blob_fee = if tx.blob.is_some() {
            let current = self
                .provider
                .get_blob_base_fee()
                .await
                .map_err(rpc("reading the blob base fee"))?;
            let blob_fee = raise(last.max_fee_per_blob_gas).max(current.saturating_mul(2));
            let market = (now.max_fee_per_gas, current.max(1).saturating_mul(2));
            let last_fees = (last.max_fee_per_gas, last.max_fee_per_blob_gas);
            if !replace_blob(last_fees, (max_fee, blob_fee), market) {
                tracing::warn!(
                    key,
                    nonce = tx.nonce,
                    max_fee = last.max_fee_per_gas,
                    max_fee_per_blob_gas = last.max_fee_per_blob_gas,
                    "a blob transaction not mined though it pays the market: broadcast again, not replaced (a replacement would pass {BLOB_MARKET_MULTIPLE}x the market)"
                );
                metrics::counter!("l1_tx_blob_replacements_held").increment(1);
                return Ok(tx);
            }
            blob_fee
        } else {
            0
        };
        let signed = self
            .sign(
                &tx,
                Fees {
                    max_fee,
                    priority,
                    blob: blob_fee,
                },
            )
            .await?;
        tx.versions.push(signed);
        outbox.save(key, &tx).map_err(TxError::Outbox)?;
        tracing::warn!(
            key,
            nonce = tx.nonce,
            max_fee,
            "not mined in time: resending with higher fees"
        );
        metrics::counter!("l1_tx_fee_bumps").increment(1);
        Ok(tx)
    }

    /// The receipt of any version, and whether it is `confirmations` deep; `None` while none is
    /// mined.
    async fn receipt(&self, tx: &Pending) -> Result<Option<(TransactionReceipt, bool)>> {
        for v in &tx.versions {
            let Some(r) = self
                .provider
                .get_transaction_receipt(v.hash)
                .await
                .map_err(rpc("reading a receipt"))?
            else {
                continue;
            };
            let head = self
                .provider
                .get_block_number()
                .await
                .map_err(rpc("reading the head block"))?;
            let mined = r.block_number.unwrap_or(head);
            let deep = head + 1 >= mined + self.policy.confirmations;
            return Ok(Some((r, deep)));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blob_replacement_follows_the_market_and_stops_at_the_multiple() {
        let market = (10, 2);
        // Paying the market: replaced while the new fees stay within 4x, in both.
        assert!(replace_blob((20, 4), (40, 8), market));
        assert!(!replace_blob((20, 4), (41, 8), market), "max fee past 4x");
        assert!(!replace_blob((20, 4), (40, 9), market), "blob fee past 4x");
        // Below the market in either fee: replaced whatever the other fee becomes (the caps bound
        // it): a blob base fee surge with a calm gas market, and the reverse.
        assert!(replace_blob((40, 20), (80, 40), (10, 60)));
        assert!(replace_blob((8, 8), (16, 16), (10, 2)));
        // A market of zero (a devnet at its floor) still lets a first doubling through.
        assert!(replace_blob((1, 1), (4, 4), (0, 0)));
    }
}
