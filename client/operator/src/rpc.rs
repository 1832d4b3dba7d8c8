//! The L2 JSON-RPC server (jsonrpsee over HTTP): the operator's implementation of
//! `rollup_rpc_api::L2ApiServer`, where the methods and their types are defined once (and the
//! typed client every caller uses).
//!
//! Reads answer from the state after every accepted transaction. Rejections are JSON-RPC errors
//! whose message says why (the core's reason, the capacity checker's, a duplicate) with the codes
//! of `rollup_rpc_api::codes`; malformed parameters are `-32602`, bodies over the configured size
//! are refused by the server before parsing. Nothing changes on an error.

use std::net::SocketAddr;
use std::sync::Arc;

use jsonrpsee::core::{RpcResult, async_trait};
use jsonrpsee::server::{Server, ServerConfig, ServerHandle};
use jsonrpsee::types::ErrorObjectOwned;
use rollup_protocol::state::BalanceProof;
use rollup_protocol::{Tx, field};
use rollup_rpc_api::codes::{DUPLICATE, INTERNAL, NOT_FOUND, OVER_CAPACITY, REJECTED, UNSUPPORTED};
use rollup_rpc_api::{AccountInfo, ChunkInfo, L2ApiServer, ProverInfo, Status, TxState, TxStatus};
use tokio::sync::Mutex;

use crate::batches::Batches;
use crate::coordinator::Coordinator;
use crate::error::Error;
use crate::sequencer::{Location, Sequencer};
use crate::store::Store;

/// What the server answers from.
struct Api {
    store: Arc<Store>,
    sequencer: Arc<Mutex<Sequencer>>,
    batches: Arc<Batches>,
    coordinator: Arc<Coordinator>,
}

fn rpc_error(e: Error) -> ErrorObjectOwned {
    let code = match &e {
        Error::Protocol(_) | Error::Dropped(_) => REJECTED,
        Error::Capacity(_) => OVER_CAPACITY,
        Error::Unsupported(_) => UNSUPPORTED,
        Error::Duplicate(_) => DUPLICATE,
        _ => INTERNAL,
    };
    metrics::counter!("operator_rpc_rejected").increment(1);
    ErrorObjectOwned::owned(code, e.to_string(), None::<()>)
}

fn invalid(msg: impl std::fmt::Display) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(-32602, format!("invalid params: {msg}"), None::<()>)
}

impl Api {
    async fn submit(&self, tx: Tx) -> RpcResult<String> {
        let id = self
            .sequencer
            .lock()
            .await
            .submit(&self.store, tx)
            .map_err(rpc_error)?;
        metrics::counter!("operator_rpc_accepted").increment(1);
        Ok(id)
    }
}

#[async_trait]
impl L2ApiServer for Api {
    async fn send_transaction(&self, tx: Tx) -> RpcResult<String> {
        self.submit(tx).await
    }

    async fn send_raw_transaction(&self, raw: String) -> RpcResult<String> {
        let bytes = alloy_primitives::hex::decode(&raw).map_err(invalid)?;
        let tx = Tx::decode(&bytes).map_err(invalid)?;
        self.submit(tx).await
    }

    async fn get_transaction_status(&self, id: String) -> RpcResult<TxStatus> {
        let loc = self.sequencer.lock().await.locate(&id).ok_or_else(|| {
            ErrorObjectOwned::owned(NOT_FOUND, format!("unknown transaction {id}"), None::<()>)
        })?;
        let batch = match loc {
            Location::Chunk(c) => self.batches.holding(c),
            _ => None,
        };
        Ok(match (loc, batch) {
            (Location::Queued, _) => TxStatus {
                status: TxState::Queued,
                chunk: None,
                batch: None,
            },
            (Location::InBlock, _) => TxStatus {
                status: TxState::InBlock,
                chunk: None,
                batch: None,
            },
            (Location::Chunk(c), None) => TxStatus {
                status: TxState::Sealed,
                chunk: Some(c),
                batch: None,
            },
            (Location::Chunk(c), Some(b)) => TxStatus {
                status: b.status.into(),
                chunk: Some(c),
                batch: Some(b.index),
            },
        })
    }

    async fn get_account(&self, id: u32) -> RpcResult<Option<AccountInfo>> {
        let s = self.sequencer.lock().await;
        Ok(s.pending().account(id).map(|a| AccountInfo {
            owner: a.owner,
            nonce: a.nonce,
            pubkey_x: field::to_hex(&a.pubkey.x),
            pubkey_y: field::to_hex(&a.pubkey.y),
            balances: a
                .balances()
                .map(|(t, b)| (t.to_string(), b.to_string()))
                .collect(),
        }))
    }

    async fn get_balance(&self, id: u32, token: u8) -> RpcResult<String> {
        let s = self.sequencer.lock().await;
        Ok(s.pending().balance(id, token).to_string())
    }

    async fn get_nonce(&self, id: u32) -> RpcResult<u32> {
        let s = self.sequencer.lock().await;
        Ok(s.pending().account_leaf(id).nonce)
    }

    async fn get_proof(&self, id: u32, token: u8) -> RpcResult<BalanceProof> {
        let s = self.sequencer.lock().await;
        s.pending()
            .balance_proof(id, token)
            .map_err(|e| rpc_error(Error::Protocol(e)))
    }

    async fn get_chunks(&self) -> RpcResult<Vec<ChunkInfo>> {
        let mut chunks = self.batches.chunks();
        for c in &mut chunks {
            let key = (rollup_prover::ProofKind::RecursiveChunk, c.index);
            c.prove_seconds = self.coordinator.prove_seconds(key);
            c.prover = self.coordinator.prover_of(key);
        }
        Ok(chunks)
    }

    async fn get_provers(&self) -> RpcResult<Vec<ProverInfo>> {
        Ok(self.coordinator.provers())
    }

    async fn status(&self) -> RpcResult<Status> {
        let s = self.sequencer.lock().await;
        let (queued, open, chunks, blocks) = s.counts();
        let tasks = self.coordinator.counts();
        Ok(Status {
            root: field::to_hex(&s.pending().root()),
            queued,
            in_open_chunk: open,
            blocks,
            sealed_chunks: chunks,
            unproven_chunks: tasks.queued + tasks.running + tasks.failed,
            batches: self.batches.all(),
            next_l1_request: s.next_request(),
        })
    }
}

/// Starts the server on `addr` (port 0 picks a free one); returns its address and handle.
pub async fn serve(
    addr: SocketAddr,
    max_request_bytes: u32,
    store: Arc<Store>,
    sequencer: Arc<Mutex<Sequencer>>,
    batches: Arc<Batches>,
    coordinator: Arc<Coordinator>,
) -> crate::Result<(SocketAddr, ServerHandle)> {
    let config = ServerConfig::builder()
        .max_request_body_size(max_request_bytes)
        .max_response_body_size(16 * 1024 * 1024)
        .build();
    let server = Server::builder()
        .set_config(config)
        .build(addr)
        .await
        .map_err(|e| Error::Rpc(format!("listening on {addr}: {e}")))?;
    let local = server.local_addr().map_err(|e| Error::Rpc(e.to_string()))?;
    let api = Api {
        store,
        sequencer,
        batches,
        coordinator,
    };
    Ok((local, server.start(api.into_rpc())))
}
