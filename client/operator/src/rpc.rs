//! The L2 JSON-RPC API (jsonrpsee over HTTP).
//!
//! | method | params | result |
//! | --- | --- | --- |
//! | `l2_sendTransaction` | a transaction as the core's JSON (`{"type": "transfer", "tx": …, "sig": …}`) | its id |
//! | `l2_sendRawTransaction` | the core's wire encoding, hex | its id |
//! | `l2_getTransactionStatus` | id | `{status, chunk?, batch?}`: `queued`, `in_block`, `sealed`, then the batch's `proposed`, `committed`, `finalized`, `executed` |
//! | `l2_getAccount` | account id | `{owner, nonce, pubkeyX, pubkeyY, balances}` or `null` |
//! | `l2_getBalance` | account id, token id | the balance (decimal string) |
//! | `l2_getNonce` | account id | the next nonce |
//! | `l2_getProof` | account id, token id | the balance proof against the current root |
//! | `l2_status` | | queue, chunks, batches, the current root |
//! | `l2_getChunks` | | every sealed chunk: transactions, slots, fill ratio, batch, proving seconds |
//!
//! Reads answer from the state after every accepted transaction. Rejections are JSON-RPC errors
//! whose message says why (the core's reason, the capacity checker's, a duplicate); malformed
//! parameters are `-32602`, bodies over the configured size are refused by the server before
//! parsing. Nothing changes on an error.

use std::net::SocketAddr;
use std::sync::Arc;

use jsonrpsee::RpcModule;
use jsonrpsee::server::{Server, ServerConfig, ServerHandle};
use jsonrpsee::types::{ErrorObjectOwned, Params};
use rollup_protocol::{Tx, field};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::coordinator::Coordinator;
use crate::error::Error;
use crate::sequencer::{Location, Sequencer};
use crate::store::Store;

/// The transaction was rejected by the core.
pub const REJECTED: i32 = -32000;
/// The circuit capacity checker refused it.
pub const OVER_CAPACITY: i32 = -32001;
/// Not an L2 transaction.
pub const UNSUPPORTED: i32 = -32002;
/// Submitted before.
pub const DUPLICATE: i32 = -32003;
/// Unknown transaction or account.
pub const NOT_FOUND: i32 = -32004;
/// The operator failed to record it.
pub const INTERNAL: i32 = -32603;

struct Ctx {
    store: Arc<Store>,
    sequencer: Arc<Mutex<Sequencer>>,
    coordinator: Arc<Coordinator>,
}

fn rpc_error(e: Error) -> ErrorObjectOwned {
    let code = match &e {
        Error::Protocol(_) => REJECTED,
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

async fn submit(ctx: &Ctx, tx: Tx) -> Result<Value, ErrorObjectOwned> {
    let id = ctx
        .sequencer
        .lock()
        .await
        .submit(&ctx.store, tx)
        .map_err(rpc_error)?;
    metrics::counter!("operator_rpc_accepted").increment(1);
    Ok(json!(id))
}

/// Starts the server on `addr` (port 0 picks a free one); returns its address and handle.
pub async fn serve(
    addr: SocketAddr,
    max_request_bytes: u32,
    store: Arc<Store>,
    sequencer: Arc<Mutex<Sequencer>>,
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
    let mut m = RpcModule::new(Ctx {
        store,
        sequencer,
        coordinator,
    });
    let reg = |e: jsonrpsee::core::RegisterMethodError| Error::Rpc(e.to_string());
    m.register_async_method(
        "l2_sendTransaction",
        |p: Params<'static>, ctx, _| async move {
            let (tx,): (Tx,) = p.parse()?;
            submit(&ctx, tx).await
        },
    )
    .map_err(reg)?;
    m.register_async_method(
        "l2_sendRawTransaction",
        |p: Params<'static>, ctx, _| async move {
            let (hex,): (String,) = p.parse()?;
            let bytes = alloy_primitives::hex::decode(&hex).map_err(invalid)?;
            let tx = Tx::decode(&bytes).map_err(invalid)?;
            submit(&ctx, tx).await
        },
    )
    .map_err(reg)?;
    m.register_async_method(
        "l2_getTransactionStatus",
        |p: Params<'static>, ctx, _| async move {
            let (id,): (String,) = p.parse()?;
            let s = ctx.sequencer.lock().await;
            let (loc, batch) = s.locate(&id).ok_or_else(|| {
                ErrorObjectOwned::owned(NOT_FOUND, format!("unknown transaction {id}"), None::<()>)
            })?;
            Ok::<_, ErrorObjectOwned>(match (loc, batch) {
                (Location::Queued, _) => json!({ "status": "queued" }),
                (Location::InBlock, _) => json!({ "status": "in_block" }),
                (Location::Chunk(c), None) => json!({ "status": "sealed", "chunk": c }),
                (Location::Chunk(c), Some(b)) => {
                    json!({ "status": b.status, "chunk": c, "batch": b.index })
                }
            })
        },
    )
    .map_err(reg)?;
    m.register_async_method("l2_getAccount", |p: Params<'static>, ctx, _| async move {
        let (id,): (u32,) = p.parse()?;
        let s = ctx.sequencer.lock().await;
        Ok::<_, ErrorObjectOwned>(match s.pending().account(id) {
            None => Value::Null,
            Some(a) => {
                let balances: serde_json::Map<String, Value> = a
                    .balances()
                    .map(|(t, b)| (t.to_string(), json!(b.to_string())))
                    .collect();
                json!({
                    "owner": a.owner,
                    "nonce": a.nonce,
                    "pubkeyX": field::to_hex(&a.pubkey.x),
                    "pubkeyY": field::to_hex(&a.pubkey.y),
                    "balances": balances,
                })
            }
        })
    })
    .map_err(reg)?;
    m.register_async_method("l2_getBalance", |p: Params<'static>, ctx, _| async move {
        let (id, token): (u32, u8) = p.parse()?;
        let s = ctx.sequencer.lock().await;
        Ok::<_, ErrorObjectOwned>(json!(s.pending().balance(id, token).to_string()))
    })
    .map_err(reg)?;
    m.register_async_method("l2_getNonce", |p: Params<'static>, ctx, _| async move {
        let (id,): (u32,) = p.parse()?;
        let s = ctx.sequencer.lock().await;
        Ok::<_, ErrorObjectOwned>(json!(s.pending().account_leaf(id).nonce))
    })
    .map_err(reg)?;
    m.register_async_method("l2_getProof", |p: Params<'static>, ctx, _| async move {
        let (id, token): (u32, u8) = p.parse()?;
        let s = ctx.sequencer.lock().await;
        let proof = s
            .pending()
            .balance_proof(id, token)
            .map_err(|e| rpc_error(Error::Protocol(e)))?;
        serde_json::to_value(&proof).map_err(|e| rpc_error(Error::Encoding(e)))
    })
    .map_err(reg)?;
    m.register_async_method("l2_getChunks", |_p: Params<'static>, ctx, _| async move {
        let mut chunks = ctx.sequencer.lock().await.chunks();
        for c in &mut chunks {
            c.prove_seconds = ctx.coordinator.prove_seconds(c.index);
        }
        serde_json::to_value(chunks).map_err(|e| rpc_error(Error::Encoding(e)))
    })
    .map_err(reg)?;
    m.register_async_method("l2_status", |_p: Params<'static>, ctx, _| async move {
        let s = ctx.sequencer.lock().await;
        let (queued, open, chunks, blocks) = s.counts();
        let tasks = ctx.coordinator.counts();
        let unproven = tasks.queued + tasks.running + tasks.failed;
        Ok::<_, ErrorObjectOwned>(json!({
            "root": field::to_hex(&s.pending().root()),
            "queued": queued,
            "inOpenChunk": open,
            "blocks": blocks,
            "sealedChunks": chunks,
            "unprovenChunks": unproven,
            "batches": s.batches(),
            "nextL1Request": s.next_request(),
        }))
    })
    .map_err(reg)?;
    Ok((local, server.start(m)))
}
