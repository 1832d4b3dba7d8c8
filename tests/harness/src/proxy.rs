//! A JSON-RPC proxy that misbehaves on purpose, for the tests of the clients against a bad L1 RPC:
//! in front of a real node (anvil), it forwards each request or, as its [`Script`] decides,
//! answers 429 with or without `Retry-After`, a JSON-RPC error (-32005, a block-range cap), resets
//! the connection, cuts the JSON short, never answers, or answers with a value of its own (a chain
//! id that is not the node's). It counts what it saw, so a test can assert that a client retried,
//! halved a page, or never sent a transaction.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use alloy::transports::http::reqwest;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::Result;

/// What the proxy does with one request.
#[derive(Debug, Clone)]
pub enum Act {
    /// Forward it to the node and return the node's answer.
    Forward,
    /// HTTP 429, with a `Retry-After` of this many seconds if given.
    TooMany(Option<u64>),
    /// A JSON-RPC error answer (HTTP 200).
    Error(i64, String),
    /// A JSON-RPC error answer under another HTTP status, as load balancers and providers send them.
    StatusError {
        /// The HTTP status (429, 503, …).
        status: u16,
        /// A `Retry-After` of this many seconds, if given.
        retry_after: Option<u64>,
        /// The JSON-RPC error code.
        code: i64,
        /// Its message.
        message: String,
    },
    /// Close the connection without answering.
    Reset,
    /// Forward, then send only the first half of the node's answer.
    Truncate,
    /// Never answer (the connection stays open).
    Stall,
    /// Answer with this `result` instead of asking the node.
    Reply(Value),
    /// Forward, then replace the answer's `result` with what the function makes of it.
    Rewrite(fn(Value) -> Value),
}

/// One request as the script sees it.
#[derive(Debug, Clone)]
pub struct Call {
    /// The JSON-RPC method.
    pub method: String,
    /// Its parameters.
    pub params: Value,
    /// How many requests the proxy saw before this one.
    pub seen: u64,
}

impl Call {
    /// For `eth_getLogs`: the number of blocks the query spans (`toBlock - fromBlock + 1`), when
    /// both are numbers.
    pub fn log_range(&self) -> Option<u64> {
        let filter = self.params.get(0)?;
        let n = |k: &str| {
            u64::from_str_radix(filter.get(k)?.as_str()?.trim_start_matches("0x"), 16).ok()
        };
        Some(n("toBlock")?.checked_sub(n("fromBlock")?)? + 1)
    }
}

/// Decides what to do with each request.
pub type Script = Arc<dyn Fn(&Call) -> Act + Send + Sync>;

/// A running proxy; it stops when dropped.
pub struct Proxy {
    /// The URL clients use.
    pub url: String,
    script: Arc<RwLock<Script>>,
    counts: Arc<Mutex<HashMap<String, u64>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy").field("url", &self.url).finish()
    }
}

/// A script that forwards everything.
pub fn honest() -> Script {
    Arc::new(|_| Act::Forward)
}

impl Proxy {
    /// Starts a proxy in front of `upstream` (an HTTP JSON-RPC URL) under `script`.
    pub async fn start(upstream: &str, script: Script) -> Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let script = Arc::new(RwLock::new(script));
        let counts = Arc::new(Mutex::new(HashMap::new()));
        let shared = Shared {
            upstream: upstream.to_string(),
            http: reqwest::Client::new(),
            script: script.clone(),
            counts: counts.clone(),
        };
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(shared.clone().serve(socket));
            }
        });
        Ok(Proxy {
            url,
            script,
            counts,
            task,
        })
    }

    /// Replaces the script.
    pub fn set(&self, script: Script) {
        if let Ok(mut s) = self.script.write() {
            *s = script;
        }
    }

    /// How many requests of `method` the proxy saw (answered or not).
    pub fn count(&self, method: &str) -> u64 {
        self.counts
            .lock()
            .map(|c| c.get(method).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    /// How many requests the proxy saw in all.
    pub fn total(&self) -> u64 {
        self.counts.lock().map(|c| c.values().sum()).unwrap_or(0)
    }
}

#[derive(Clone)]
struct Shared {
    upstream: String,
    http: reqwest::Client,
    script: Arc<RwLock<Script>>,
    counts: Arc<Mutex<HashMap<String, u64>>>,
}

/// An HTTP/1.1 answer.
fn http(status: &str, headers: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{headers}\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

impl Shared {
    /// Serves one connection, request after request (keep-alive), until the client closes it or
    /// the script resets it.
    async fn serve(self, socket: TcpStream) {
        let mut socket = BufReader::new(socket);
        loop {
            let Ok(Some(body)) = read_request(&mut socket).await else {
                return;
            };
            let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let call = self.call(&request);
            let act = match self.script.read() {
                Ok(script) => script(&call),
                Err(_) => Act::Forward,
            };
            let answer = match act {
                Act::Reset => return,
                Act::Stall => {
                    tokio::time::sleep(Duration::from_secs(3_600)).await;
                    return;
                }
                Act::TooMany(after) => {
                    let header = after
                        .map(|s| format!("retry-after: {s}\r\n"))
                        .unwrap_or_default();
                    http(
                        "429 Too Many Requests",
                        &header,
                        b"{\"error\":\"rate limited\"}",
                    )
                }
                Act::Error(code, message) => {
                    let body = serde_json::json!({
                        "jsonrpc": "2.0", "id": request.get("id"),
                        "error": { "code": code, "message": message },
                    });
                    http("200 OK", "", body.to_string().as_bytes())
                }
                Act::StatusError {
                    status,
                    retry_after,
                    code,
                    message,
                } => {
                    let header = retry_after
                        .map(|s| format!("retry-after: {s}\r\n"))
                        .unwrap_or_default();
                    let body = serde_json::json!({
                        "jsonrpc": "2.0", "id": request.get("id"),
                        "error": { "code": code, "message": message },
                    });
                    http(
                        &format!("{status} Error"),
                        &header,
                        body.to_string().as_bytes(),
                    )
                }
                Act::Reply(result) => {
                    let body = serde_json::json!({
                        "jsonrpc": "2.0", "id": request.get("id"), "result": result,
                    });
                    http("200 OK", "", body.to_string().as_bytes())
                }
                Act::Forward | Act::Truncate | Act::Rewrite(_) => {
                    let Ok(upstream) = self.forward(body).await else {
                        return;
                    };
                    match act {
                        Act::Truncate => {
                            // The full length is announced, half is sent, and the connection closes.
                            let mut out = http("200 OK", "", &upstream);
                            out.truncate(out.len() - upstream.len() / 2);
                            let _ = socket.get_mut().write_all(&out).await;
                            return;
                        }
                        Act::Rewrite(f) => {
                            let mut v: Value =
                                serde_json::from_slice(&upstream).unwrap_or(Value::Null);
                            if let Some(r) = v.get_mut("result") {
                                *r = f(r.take());
                            }
                            http("200 OK", "", v.to_string().as_bytes())
                        }
                        _ => http("200 OK", "", &upstream),
                    }
                }
            };
            if socket.get_mut().write_all(&answer).await.is_err() {
                return;
            }
        }
    }

    fn call(&self, request: &Value) -> Call {
        let method = request
            .get("method")
            .and_then(Value::as_str)
            .unwrap_or("batch")
            .to_string();
        let seen = match self.counts.lock() {
            Ok(mut counts) => {
                let seen = counts.values().sum();
                *counts.entry(method.clone()).or_default() += 1;
                seen
            }
            Err(_) => 0,
        };
        Call {
            method,
            params: request.get("params").cloned().unwrap_or(Value::Null),
            seen,
        }
    }

    async fn forward(&self, body: Vec<u8>) -> Result<Vec<u8>> {
        let answer = self
            .http
            .post(&self.upstream)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await?;
        Ok(answer.bytes().await?.to_vec())
    }
}

/// Reads one HTTP/1.1 request's body; `None` when the client closed the connection.
async fn read_request(socket: &mut BufReader<TcpStream>) -> Result<Option<Vec<u8>>> {
    let mut length = 0;
    let mut first = true;
    loop {
        let mut line = String::new();
        if socket.read_line(&mut line).await? == 0 {
            return Ok(None);
        }
        let line = line.trim_end();
        if line.is_empty() {
            if first {
                continue;
            }
            break;
        }
        first = false;
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse()?;
        }
    }
    let mut body = vec![0; length];
    socket.read_exact(&mut body).await?;
    Ok(Some(body))
}
