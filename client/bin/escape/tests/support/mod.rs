//! Scripts for the test harness's JSON-RPC proxy that serve wrong L1 data on purpose, for the
//! tests that check the client's reaction to a lying or broken RPC.

use std::sync::Arc;

use alloy::primitives::Bytes;
use alloy::sol_types::{SolCall, SolEvent};
use rollup_bindings::irollup::IRollup;
use rollup_test_utils::proxy::{Act, Script};
use serde_json::Value;

/// What the proxy breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// One byte of every `commitBatch` calldata's first chunk flipped.
    CorruptCalldata,
    /// `BatchCommitted` logs left out.
    DropCommits,
    /// `BatchFinalized` logs left out.
    DropFinalized,
    /// The state root of every `BatchFinalized` log changed.
    WrongRoot,
}

/// The proxy script that breaks what `fault` says.
pub(crate) fn script(fault: Fault) -> Script {
    Arc::new(move |call| match (call.method.as_str(), fault) {
        ("eth_getTransactionByBlockHashAndIndex", Fault::CorruptCalldata) => {
            Act::Rewrite(corrupt_calldata)
        }
        ("eth_getLogs", Fault::DropCommits) => Act::Rewrite(drop_commits),
        ("eth_getLogs", Fault::DropFinalized) => Act::Rewrite(drop_finalized),
        ("eth_getLogs", Fault::WrongRoot) => Act::Rewrite(wrong_root),
        _ => Act::Forward,
    })
}

fn topic0(log: &Value) -> Option<&str> {
    log["topics"][0].as_str()
}

fn drop_logs(mut logs: Value, topic: alloy::primitives::B256) -> Value {
    let topic = format!("{topic:#x}");
    if let Some(list) = logs.as_array_mut() {
        list.retain(|log| topic0(log) != Some(topic.as_str()));
    }
    logs
}

fn drop_commits(logs: Value) -> Value {
    drop_logs(logs, IRollup::BatchCommitted::SIGNATURE_HASH)
}

fn drop_finalized(logs: Value) -> Value {
    drop_logs(logs, IRollup::BatchFinalized::SIGNATURE_HASH)
}

fn wrong_root(mut logs: Value) -> Value {
    let finalized = format!("{:#x}", IRollup::BatchFinalized::SIGNATURE_HASH);
    for log in logs.as_array_mut().into_iter().flatten() {
        if topic0(log) == Some(finalized.as_str()) {
            // The data is the root (one word): flip its lowest bit.
            let data = log["data"].as_str().unwrap_or("0x").to_string();
            let mut bytes = alloy::hex::decode(&data).unwrap_or_default();
            if let Some(last) = bytes.last_mut() {
                *last ^= 1;
            }
            log["data"] = Value::String(format!("0x{}", alloy::hex::encode(bytes)));
        }
    }
    logs
}

fn corrupt_calldata(mut tx: Value) -> Value {
    let input = &mut tx["input"];
    let Ok(bytes) = input.as_str().unwrap_or("0x").parse::<Bytes>() else {
        return tx;
    };
    if let Ok(mut call) = IRollup::commitBatchCall::abi_decode(&bytes) {
        let mut data = call.pubdata.to_vec();
        if let Some(b) = data.get_mut(10) {
            *b ^= 1;
        }
        call.pubdata = data.into();
        *input = Value::String(format!("{}", Bytes::from(call.abi_encode())));
    }
    tx
}
