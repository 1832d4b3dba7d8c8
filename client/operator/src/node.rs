//! The running operator: the store, the sequencer, the batch book, the coordinator and the RPC,
//! and four loops (L1 watcher, block/chunk/batch building, prover driver, submitter) that stop
//! together, gracefully on [`Operator::stop`] or on the first fatal error.
//!
//! Locks: the sequencer is locked by the RPC, the watcher and the building loop only; the batch
//! book and the coordinator each lock their own state for one short update; the submitter takes
//! neither the sequencer nor a lock across an L1 call.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use alloy::network::EthereumWallet;
use alloy::providers::{Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use jsonrpsee::server::ServerHandle;
use rollup_bindings::halo2_batch_verifier::Halo2BatchVerifier;
use rollup_bindings::rollup::Rollup;
use tokio::sync::{Mutex, watch};
use tokio::task::JoinHandle;

use crate::batches::{BatchLimits, Batches, DataMode, L1Fees};
use crate::config::Config;
use crate::coordinator::Coordinator;
use crate::error::{Error, Result};
use crate::sequencer::{Limits, Sequencer};
use crate::store::Store;
use crate::submitter::{Submitter, SubmitterConfig};
use rollup_l1::{RpcPolicy, TxPolicy};
use rollup_protocol::Chunk;
use rollup_prover::{Backend, ProofKind};

/// A started operator.
pub struct Operator {
    /// Where its L2 RPC listens.
    pub rpc_addr: SocketAddr,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<Result<()>>>,
    rpc: ServerHandle,
}

impl std::fmt::Debug for Operator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Operator")
            .field("rpc_addr", &self.rpc_addr)
            .finish()
    }
}

/// Runs `step` every `period` until the stop signal; transient L1 errors are logged and retried
/// with backoff (up to 30 s between tries), any other error stops every loop and is returned.
fn spawn_loop<F, Fut>(
    name: &'static str,
    period: Duration,
    stop_tx: watch::Sender<bool>,
    mut step: F,
) -> JoinHandle<Result<()>>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<()>> + Send,
{
    let mut stop = stop_tx.subscribe();
    tokio::spawn(async move {
        let mut backoff = period;
        loop {
            if *stop.borrow() {
                return Ok(());
            }
            let wait = match step().await {
                Ok(()) => {
                    backoff = period;
                    period
                }
                Err(e @ Error::L1 { .. }) => {
                    tracing::warn!(task = name, error = %e, retry_in = ?backoff, "L1 unavailable");
                    metrics::counter!("operator_l1_errors", "task" => name).increment(1);
                    let wait = backoff;
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                    wait
                }
                Err(e) => {
                    tracing::error!(task = name, error = %e, "stopping");
                    let _ = stop_tx.send(true);
                    return Err(e);
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.changed() => {}
            }
        }
    })
}

/// Refuses to prove for a deployed batch verifier this prover's proofs would not pass: every proof
/// would be rejected on L1. Its parameters (a mismatch usually means a deployment from other
/// parameters: the development SRS on one side, a ceremony on the other), the chunk key its batch
/// proofs pin and the chunk proofs per batch proof must all be the prover's.
async fn check_verifier(
    provider: &impl Provider,
    rollup: alloy::primitives::Address,
    backend: &dyn Backend,
) -> Result<()> {
    let ours = backend.params_digest();
    let (verifier, params) = deployed_params(provider, rollup).await?;
    let deployed = Halo2BatchVerifier::new(verifier, provider);
    let not_ours = |what: &str, e: alloy::contract::Error| {
        Error::Config(format!(
            "the rollup's verifier {verifier} does not record its {what} (not a Halo2BatchVerifier): {e}"
        ))
    };
    let key_digest = deployed
        .KEY_DIGEST()
        .call()
        .await
        .map_err(|e| not_ours("chunk key digest", e))?;
    let capacity = deployed
        .CAPACITY()
        .call()
        .await
        .map_err(|e| not_ours("capacity", e))?;
    let Some(ours_batch) = backend.batch_key() else {
        return Err(Error::Config(format!(
            "the prover `{}` makes no batch proofs: L1 verifies one per batch",
            backend.name()
        )));
    };
    let our_key = rollup_protocol::field::to_u256(&ours_batch.chunk_key_digest);
    let stage = match backend.last_stage() {
        ProofKind::Compressed => "compress",
        _ => "batch",
    };
    if key_digest != our_key || capacity != alloy::primitives::U256::from(ours_batch.capacity) {
        return Err(Error::Config(format!(
            "the rollup's verifier takes batch proofs of {capacity} chunk proof(s) of the chunk key {key_digest:#x}, \
             this operator makes them of {} of {our_key:#x}: L1 would reject every proof; \
             prove with the keys the verifier was generated from (`verifier-gen --stage {stage} solidity`)",
            ours_batch.capacity
        )));
    }
    same_params(params, ours)?;
    // The batch key itself: the generated verifier's code carries its transcript representation.
    let generated = deployed
        .halo2Verifier()
        .call()
        .await
        .map_err(|e| not_ours("generated verifier", e))?;
    let code = provider
        .get_code_at(generated)
        .await
        .map_err(|e| Error::l1("reading the generated verifier's code", e))?;
    if !rollup_prover::batch::verifier_pins(&code, ours_batch.transcript_repr) {
        return Err(Error::Config(format!(
            "the rollup's generated verifier {generated} was not generated from this operator's {stage} key \
             (its code lacks the key's transcript representation {:#x}): L1 would reject every proof; \
             prove with the keys the verifier was generated from (`verifier-gen --stage {stage} solidity`; \
             `compress` in the configuration when it is the compression circuit's)",
            rollup_protocol::field::to_u256(&ours_batch.transcript_repr)
        )));
    }
    tracing::info!(
        params = %alloy::primitives::B256::from(params),
        "the deployed verifier's parameters are the prover's"
    );
    Ok(())
}

/// Refuses parameters `ours` other than the deployed verifier's `deployed`: L1 would reject every
/// proof (a mismatch usually means the development SRS on one side and a ceremony on the other).
pub(crate) fn same_params(deployed: [u8; 32], ours: [u8; 32]) -> Result<()> {
    if deployed != ours {
        return Err(params_mismatch(deployed, ours));
    }
    Ok(())
}

/// The error of [`same_params`].
pub(crate) fn params_mismatch(deployed: [u8; 32], ours: [u8; 32]) -> Error {
    Error::Config(format!(
        "the rollup's verifier was generated from parameters {} but this operator proves with {}: \
         L1 would reject every proof; set `srs` to the ceremony file the verifier was generated from",
        alloy::primitives::B256::from(deployed),
        alloy::primitives::B256::from(ours)
    ))
}

/// The rollup's deployed verifier and the parameters digest it records (`PARAMS_DIGEST`).
async fn deployed_params(
    provider: &impl Provider,
    rollup: alloy::primitives::Address,
) -> Result<(alloy::primitives::Address, [u8; 32])> {
    let verifier = Rollup::new(rollup, provider)
        .verifier()
        .call()
        .await
        .map_err(|e| Error::l1("reading the rollup's verifier", e))?;
    let digest = Halo2BatchVerifier::new(verifier, provider)
        .PARAMS_DIGEST()
        .call()
        .await
        .map_err(|e| {
            Error::Config(format!(
                "the rollup's verifier {verifier} does not record its parameters (not a Halo2BatchVerifier): {e}"
            ))
        })?;
    Ok((verifier, digest.0))
}

/// A provider for the L1 RPC over the shared transport (timeouts, classified retries): each call
/// gives up after [`RpcPolicy::SERVICE`]'s budget and the operator's loops try again.
fn l1_provider(cfg: &Config) -> Result<impl Provider + Clone + use<>> {
    let client = rollup_l1::rpc::client(&cfg.l1_rpc, RpcPolicy::SERVICE)
        .map_err(|e| Error::l1(format!("connecting to {}", cfg.l1_rpc), e))?;
    Ok(ProviderBuilder::new().connect_client(client))
}

/// Chunks per batch at most, read from L1: what one proof of its batch verifier holds.
async fn batch_capacity(cfg: &Config) -> Result<usize> {
    let provider = l1_provider(cfg)?;
    let capacity = Rollup::new(cfg.rollup, &provider)
        .maxChunksPerBatch()
        .call()
        .await
        .map_err(|e| Error::Config(format!("rollup {}: {e}", cfg.rollup)))?;
    usize::try_from(capacity).map_err(|_| Error::Config("maxChunksPerBatch".into()))
}

/// The rollup's chunk size, read from L1.
async fn chunk_slots(cfg: &Config) -> Result<usize> {
    let provider = l1_provider(cfg)?;
    let slots = Rollup::new(cfg.rollup, &provider)
        .CHUNK_SLOTS()
        .call()
        .await
        .map_err(|e| Error::Config(format!("rollup {}: {e}", cfg.rollup)))?;
    usize::try_from(slots).map_err(|_| Error::Config("CHUNK_SLOTS".into()))
}

/// The operator's state, shared by its loops and its RPC.
#[derive(Clone)]
struct Parts {
    store: Arc<Store>,
    sequencer: Arc<Mutex<Sequencer>>,
    batches: Arc<Batches>,
    coordinator: Arc<Coordinator>,
}

/// Where every sealed chunk goes, on restore and when sealed: the batch book, then the
/// coordinator (which keeps it until its batch is scheduled).
fn hand_on(
    batches: &Arc<Batches>,
    coordinator: &Arc<Coordinator>,
) -> impl FnMut(u64, Chunk) -> Result<()> + Clone + Send + 'static {
    let (batches, coordinator) = (batches.clone(), coordinator.clone());
    move |i, chunk| {
        batches.add_chunk(i, &chunk)?;
        coordinator.submit_chunk(i, chunk)
    }
}

impl Parts {
    /// Opens the store and rebuilds the batch book, the proof tasks and the sequencer from it.
    async fn restore(
        cfg: &Config,
        slots: usize,
        batch_chunks: usize,
        backend: Arc<dyn Backend>,
    ) -> Result<Parts> {
        let store = Arc::new(Store::open(&cfg.db_path())?);
        crate::revert::check_not_reverting(&store)?;
        let mut coordinator = Coordinator::new(store.clone(), backend);
        if let Some(url) = &cfg.queue_url {
            let mut remote = crate::queue::Remote::new(url);
            if cfg.queue_shadow {
                remote = remote.with_shadow();
            }
            remote.check().await?;
            tracing::info!("proof tasks go to the proof queue, for prover workers");
            coordinator = coordinator.with_queue(remote);
        }
        #[cfg(feature = "fault-injection")]
        let coordinator = coordinator.crashing_at(cfg.crash_at);
        let coordinator = Arc::new(coordinator);
        let batches = Arc::new(Batches::restore(
            &store,
            slots,
            BatchLimits {
                batch_chunks,
                batch_timeout: Duration::from_millis(cfg.batch_timeout_ms),
                data: cfg.data,
            },
        )?);
        let core = rollup_protocol::Config {
            chain_id: cfg.chain_id,
            chunk_slots: slots,
        };
        let limits = Limits {
            block_limit: cfg.block_limit.min(slots),
            chunk_timeout: Duration::from_millis(cfg.chunk_timeout_ms),
        };
        let sequencer = {
            let (store, mut hand_on) = (store.clone(), hand_on(&batches, &coordinator));
            tokio::task::spawn_blocking(move || {
                Sequencer::restore(&store, core, limits, &mut hand_on)
            })
            .await??
        };
        // Every batch L1 has not finalized needs its proofs (those stored are skipped).
        coordinator.resume(&batches)?;
        Ok(Parts {
            store,
            sequencer: Arc::new(Mutex::new(sequencer)),
            batches,
            coordinator,
        })
    }

    /// The L1 watcher: requests into the sequencer once they are deep enough.
    fn watcher<P: Provider + Clone + 'static>(
        &self,
        provider: P,
        cfg: &Config,
        stop: &watch::Sender<bool>,
    ) -> JoinHandle<Result<()>> {
        let parts = self.clone();
        let (rollup, from, conf) = (cfg.rollup, cfg.from_block, cfg.confirmations);
        let poll = Duration::from_millis(cfg.poll_ms);
        spawn_loop("watcher", poll, stop.clone(), move || {
            let (provider, parts) = (provider.clone(), parts.clone());
            async move {
                let (store, sequencer) = (&parts.store, &parts.sequencer);
                crate::watcher::poll(&provider, rollup, from, conf, store, sequencer).await?;
                if parts.batches.data_mode() == DataMode::Auto {
                    // The fees the next batch's mode is chosen by. Best effort: a failed read
                    // leaves the last fees seen (the watcher's own reads already retried).
                    match l1_fees(&provider).await {
                        Ok(fees) => parts.batches.observe_fees(fees),
                        Err(e) => tracing::warn!(error = %e, "reading L1's fees"),
                    }
                }
                Ok(())
            }
        })
    }

    /// Blocks, chunks (handed on when sealed) and batches, every `block_time_ms`.
    fn sequencing(&self, cfg: &Config, stop: &watch::Sender<bool>) -> JoinHandle<Result<()>> {
        let parts = self.clone();
        let period = Duration::from_millis(cfg.block_time_ms);
        let sealed = hand_on(&self.batches, &self.coordinator);
        spawn_loop("sequencer", period, stop.clone(), move || {
            let (parts, mut sealed) = (parts.clone(), sealed.clone());
            async move {
                {
                    let mut s = parts.sequencer.lock().await;
                    s.build_block();
                    s.seal_if_due(&parts.store, &mut sealed)?;
                }
                if let Some(batch) = parts.batches.propose(&parts.store)? {
                    let binding = parts.batches.binding(&batch)?;
                    parts.coordinator.schedule(&batch, &binding)?;
                }
                Ok(())
            }
        })
    }

    /// The proof coordinator: one task at a time on the backend. A stop does not wait for the proof
    /// in progress (a batch proof takes minutes): it is abandoned, nothing of it is stored, and it
    /// is made again after a restart.
    fn proving(&self, stop: &watch::Sender<bool>) -> JoinHandle<Result<()>> {
        let coordinator = self.coordinator.clone();
        let stopped = stop.subscribe();
        spawn_loop(
            "prover",
            Duration::from_millis(200),
            stop.clone(),
            move || {
                let (coordinator, mut stopped) = (coordinator.clone(), stopped.clone());
                async move {
                    tokio::select! {
                        r = async {
                            while coordinator.run_next().await? {}
                            Ok(())
                        } => r,
                        _ = stopped.wait_for(|s| *s) => Ok(()),
                    }
                }
            },
        )
    }

    /// The submitter: each batch's L1 steps, in order.
    fn submitting<P: Provider + Send + Sync + 'static>(
        &self,
        submitter: Submitter<P>,
        cfg: &Config,
        stop: &watch::Sender<bool>,
    ) -> JoinHandle<Result<()>> {
        let parts = self.clone();
        let submitter = Arc::new(Mutex::new(submitter));
        let poll = Duration::from_millis(cfg.poll_ms);
        spawn_loop("submitter", poll, stop.clone(), move || {
            let (parts, submitter) = (parts.clone(), submitter.clone());
            async move {
                let mut s = submitter.lock().await;
                while s
                    .advance(&parts.store, &parts.batches, &parts.coordinator)
                    .await?
                {}
                Ok(())
            }
        })
    }
}

impl Operator {
    /// Loads the configured prover ([`crate::prover::load_backend`]), then starts everything
    /// ([`Operator::start_with`]).
    pub async fn start(cfg: Config, signer: PrivateKeySigner) -> Result<Operator> {
        cfg.check()?;
        let slots = chunk_slots(&cfg).await?;
        let capacity = batch_capacity(&cfg).await?;
        let (_, params) = deployed_params(&l1_provider(&cfg)?, cfg.rollup).await?;
        let backend = {
            let cfg = cfg.clone();
            tokio::task::spawn_blocking(move || {
                crate::prover::load_backend(&cfg, slots, capacity, Some(params))
            })
            .await??
        };
        Operator::start_with(cfg, signer, backend).await
    }

    /// Opens the store, restores the sequencer, the batch book and the proof tasks, and starts
    /// everything, proving with `backend`, whose parameters must be the deployed verifier's.
    pub async fn start_with(
        cfg: Config,
        signer: PrivateKeySigner,
        backend: Arc<dyn Backend>,
    ) -> Result<Operator> {
        cfg.check()?;
        let provider = l1_provider(&cfg)?;
        let l1_chain_id = provider
            .get_chain_id()
            .await
            .map_err(|e| Error::l1("reading the chain id", e))?;
        let slots = chunk_slots(&cfg).await?;
        check_verifier(&provider, cfg.rollup, backend.as_ref()).await?;
        let capacity = batch_capacity(&cfg).await?;
        if cfg.batch_chunks > capacity {
            tracing::warn!(
                batch_chunks = cfg.batch_chunks,
                capacity,
                "batch_chunks is above what one batch proof of the deployed verifier holds: batches hold {capacity} chunk(s)"
            );
        }
        // At least one chunk of any records fits a blob; a batch closes before its records pass one
        // (`batches::next_batch_size`).
        let fit = crate::batches::chunks_per_blob(slots)?;
        if cfg.batch_chunks.min(capacity) > fit {
            tracing::info!(
                batch_chunks = cfg.batch_chunks,
                fit,
                "batches of large records close before one blob is full: {fit} chunk(s) of {slots} slots always fit, and more of smaller records"
            );
        }
        let batch_chunks = cfg.batch_chunks.min(capacity);
        let parts = Parts::restore(&cfg, slots, batch_chunks, backend).await?;
        if let Some(addr) = cfg.metrics_addr {
            // One recorder per process: a restarted operator in the same process keeps the first.
            if let Err(e) = metrics_exporter_prometheus::PrometheusBuilder::new()
                .with_http_listener(addr)
                .install()
            {
                tracing::warn!(error = %e, "metrics endpoint not installed");
            }
        }
        let (rpc_addr, rpc) = crate::rpc::serve(
            cfg.rpc_addr,
            cfg.rpc_max_request_bytes,
            parts.store.clone(),
            parts.sequencer.clone(),
            parts.batches.clone(),
            parts.coordinator.clone(),
        )
        .await?;
        tracing::info!(%rpc_addr, rollup = %cfg.rollup, slots, "operator started");

        let (stop, _) = watch::channel(false);
        let submitter = Submitter::new(
            provider.clone(),
            EthereumWallet::from(signer),
            SubmitterConfig {
                rollup: cfg.rollup,
                tx: TxPolicy {
                    chain_id: l1_chain_id,
                    poll: Duration::from_millis(cfg.poll_ms),
                    bump_after: Duration::from_millis(cfg.bump_after_ms),
                    max_fee_per_gas: cfg.max_fee_per_gas,
                    max_fee_per_blob_gas: cfg.max_fee_per_blob_gas,
                    confirmations: cfg.l1_confirmations,
                    // A fifth over the estimate: the verifier's pairing check is not linear in
                    // its input.
                    gas_margin_tenths: 12,
                },
                #[cfg(feature = "fault-injection")]
                crash_at: cfg.crash_at,
            },
        );
        let tasks = vec![
            parts.watcher(provider, &cfg, &stop),
            parts.sequencing(&cfg, &stop),
            parts.proving(&stop),
            parts.submitting(submitter, &cfg, &stop),
        ];
        Ok(Operator {
            rpc_addr,
            stop,
            tasks,
            rpc,
        })
    }

    /// Whether a loop stopped (on a fatal error or a stop).
    pub fn stopped(&self) -> bool {
        *self.stop.borrow()
    }

    /// Waits until the operator stops by itself (a fatal error) and returns that error.
    pub async fn wait(&mut self) -> Result<()> {
        let mut rx = self.stop.subscribe();
        while !*rx.borrow() {
            if rx.changed().await.is_err() {
                break;
            }
        }
        self.join().await
    }

    /// Stops every loop at its next tick and the RPC server; returns the first error a loop had.
    pub async fn stop(mut self) -> Result<()> {
        let _ = self.stop.send(true);
        self.join().await
    }

    async fn join(&mut self) -> Result<()> {
        let _ = self.stop.send(true);
        let _ = self.rpc.stop();
        let mut first = Ok(());
        for t in self.tasks.drain(..) {
            let r = t.await.map_err(Error::from).and_then(|r| r);
            if first.is_ok() {
                first = r;
            }
        }
        self.rpc.clone().stopped().await;
        first
    }
}

/// L1's base fee (of the latest block) and blob base fee.
async fn l1_fees<P: Provider>(provider: &P) -> Result<L1Fees> {
    let head = provider
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
        .await
        .map_err(|e| Error::l1_msg(format!("reading the latest block: {e}")))?
        .ok_or_else(|| Error::l1_msg("L1 has no latest block"))?;
    let blob_base_fee = provider
        .get_blob_base_fee()
        .await
        .map_err(|e| Error::l1_msg(format!("reading the blob base fee: {e}")))?;
    Ok(L1Fees {
        base_fee: u128::from(head.header.base_fee_per_gas.unwrap_or_default()),
        blob_base_fee,
    })
}
