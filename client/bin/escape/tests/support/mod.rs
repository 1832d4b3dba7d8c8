//! A JSON-RPC proxy in front of anvil that serves wrong L1 data on purpose, for the tests
//! that check the client's reaction to a lying or broken RPC.

use alloy::primitives::Bytes;
use alloy::sol_types::{SolCall, SolEvent};
use rollup_bindings::irollup::IRollup;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

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

/// Starts the proxy in front of `upstream`; returns its URL.
pub(crate) async fn spawn(upstream: String, fault: Fault) -> std::io::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let upstream = upstream.clone();
            tokio::spawn(async move {
                let _ = serve(stream, upstream, fault).await;
            });
        }
    });
    Ok(url)
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Serves HTTP/1.1 requests on one connection until the client closes it.
async fn serve(
    stream: tokio::net::TcpStream,
    upstream: String,
    fault: Fault,
) -> Result<(), BoxError> {
    let client = alloy::transports::http::reqwest::Client::new();
    let mut stream = BufReader::new(stream);
    loop {
        let mut length = 0usize;
        let mut line = String::new();
        loop {
            line.clear();
            if stream.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse()?;
            }
        }
        let mut body = vec![0; length];
        stream.read_exact(&mut body).await?;
        let request: Value = serde_json::from_slice(&body)?;
        let reply = client
            .post(&upstream)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await?
            .bytes()
            .await?;
        let mut reply: Value = serde_json::from_slice(&reply)?;
        break_reply(&request, &mut reply, fault)?;
        let text = reply.to_string();
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            text.len()
        );
        stream.get_mut().write_all(head.as_bytes()).await?;
        stream.get_mut().write_all(text.as_bytes()).await?;
    }
}

fn break_reply(request: &Value, reply: &mut Value, fault: Fault) -> Result<(), BoxError> {
    let method = request["method"].as_str().unwrap_or_default();
    let committed = format!("{:#x}", IRollup::BatchCommitted::SIGNATURE_HASH);
    let finalized = format!("{:#x}", IRollup::BatchFinalized::SIGNATURE_HASH);
    match (method, fault) {
        ("eth_getTransactionByHash", Fault::CorruptCalldata) => {
            let input = &mut reply["result"]["input"];
            let bytes: Bytes = input.as_str().unwrap_or("0x").parse()?;
            if let Ok(mut call) = IRollup::commitBatchCall::abi_decode(&bytes) {
                if let Some(chunk) = call.chunks.first_mut() {
                    let mut data = chunk.to_vec();
                    if let Some(b) = data.get_mut(10) {
                        *b ^= 1;
                    }
                    *chunk = data.into();
                }
                *input = Value::String(format!("{}", Bytes::from(call.abi_encode())));
            }
        }
        ("eth_getLogs", Fault::DropCommits | Fault::DropFinalized) => {
            let dropped = if fault == Fault::DropCommits {
                &committed
            } else {
                &finalized
            };
            if let Some(logs) = reply["result"].as_array_mut() {
                logs.retain(|log| log["topics"][0].as_str() != Some(dropped.as_str()));
            }
        }
        ("eth_getLogs", Fault::WrongRoot) => {
            if let Some(logs) = reply["result"].as_array_mut() {
                for log in logs {
                    if log["topics"][0].as_str() == Some(finalized.as_str()) {
                        // The data is the root (one word): flip its lowest bit.
                        let data = log["data"].as_str().unwrap_or("0x").to_string();
                        let mut bytes: Vec<u8> = alloy::hex::decode(&data)?;
                        if let Some(last) = bytes.last_mut() {
                            *last ^= 1;
                        }
                        log["data"] = Value::String(format!("0x{}", alloy::hex::encode(bytes)));
                    }
                }
            }
        }
        _ => {}
    }
    Ok(())
}
