//! The one L1 RPC transport of the operator and the escape client: every JSON-RPC request gets a
//! timeout, and a failure is classified ([`Fault`]) before anything is retried.
//!
//! - **rate limited** (HTTP 429 whatever its body says, JSON-RPC -32005 and the providers' other
//!   rate-limit codes):
//!   retried after the server's `Retry-After` (header or error data) when it gives one, else after
//!   an exponential backoff with jitter;
//! - **transient** (connection refused or reset, a request with no answer within the timeout,
//!   truncated or empty JSON, HTTP 5xx or 408 (with a JSON-RPC error in the body too, unless it
//!   carries revert data), a node that has not the block yet): retried the same way;
//! - **range too large** (a provider's cap on `eth_getLogs`): returned at once, for
//!   [`crate::LogReader`] to halve its page;
//! - **final** (a revert, invalid parameters, anything the node answered on purpose): returned at
//!   once, never retried.
//!
//! Retries stop when a call has used its budget ([`RpcPolicy::call_budget`]) or the command's
//! deadline ([`RpcPolicy::deadline`]) would pass during the next wait; the error then says how
//! many attempts were made over how long, the last failure, and what the user can do.
//!
//! `eth_sendRawTransaction` is safe to retry: it carries the same signed bytes each time, and a
//! node that already has them ("already known") is answered with the transaction's hash, as if the
//! first attempt had been heard.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use alloy::primitives::keccak256;
use alloy::providers::RootProvider;
use alloy::rpc::client::RpcClient;
use alloy::rpc::json_rpc::{
    ErrorPayload, RequestPacket, Response, ResponsePacket, ResponsePayload,
};
use alloy::transports::http::reqwest;
use alloy::transports::{TransportError, TransportErrorKind, TransportFut, TransportResult};
use tower::Service;

/// How the transport waits and retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RpcPolicy {
    /// One request's limit: a request with no full answer by then counts as a transient failure.
    pub timeout: Duration,
    /// The wait after the first retryable failure (with jitter); it doubles after each further one.
    pub first_delay: Duration,
    /// The longest wait between attempts that the transport chooses itself (a server's
    /// `Retry-After` may ask for more, up to [`MAX_RETRY_AFTER`]).
    pub max_delay: Duration,
    /// One call's retries stop once this much time has passed since its first attempt.
    pub call_budget: Duration,
    /// No retry is attempted after this instant: a whole command's budget.
    pub deadline: Option<Instant>,
}

/// The longest `Retry-After` honoured: a server asking for more is waited on this long.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

impl RpcPolicy {
    /// For a command a user waits on: requests time out after 30 s, retries back off from 250 ms
    /// to 30 s, and everything stops `budget` from now.
    pub fn command(budget: Duration) -> RpcPolicy {
        RpcPolicy {
            timeout: Duration::from_secs(30),
            first_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(30),
            call_budget: budget,
            deadline: Instant::now().checked_add(budget),
        }
    }

    /// For a long-running service whose loops retry on their own: requests time out after 30 s,
    /// and one call gives up after 10 s of retries (the loop then reports it and tries again).
    pub const SERVICE: RpcPolicy = RpcPolicy {
        timeout: Duration::from_secs(30),
        first_delay: Duration::from_millis(250),
        max_delay: Duration::from_secs(5),
        call_budget: Duration::from_secs(10),
        deadline: None,
    };

    /// The same policy with another request timeout.
    pub fn timeout(mut self, timeout: Duration) -> RpcPolicy {
        self.timeout = timeout;
        self
    }
}

/// What a failed request says about retrying it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The server refused for load: retry after its `Retry-After` or a backoff.
    RateLimited,
    /// A log query over more blocks or results than the provider serves: read a smaller page.
    RangeTooLarge,
    /// The request or its answer was lost or cut: retry after a backoff.
    Transient,
    /// The node answered on purpose (a revert, invalid parameters): retrying changes nothing.
    Final,
}

/// Words with which providers refuse an `eth_getLogs` query for its size.
const RANGE_WORDS: [&str; 8] = [
    "block range",
    "range is too large",
    "range too large",
    "exceeds max block range",
    "query returned more than",
    "too many results",
    "response size",
    "max results",
];

/// Words with which nodes say "not now" without a rate-limit code.
const TRANSIENT_WORDS: [&str; 5] = [
    "header not found",
    "timeout",
    "timed out",
    "temporarily unavailable",
    "try again",
];

fn has_any(text: &str, words: &[&str]) -> bool {
    let text = text.to_lowercase();
    words.iter().any(|w| text.contains(w))
}

/// Classifies a JSON-RPC error answer.
pub fn classify_payload(error: &ErrorPayload) -> Fault {
    if has_any(&error.message, &RANGE_WORDS) {
        Fault::RangeTooLarge
    } else if matches!(error.code, 429 | -32005)
        || has_any(&error.message, &["rate limit", "too many requests"])
    {
        Fault::RateLimited
    } else if has_any(&error.message, &TRANSIENT_WORDS) {
        Fault::Transient
    } else if error.is_retry_err() {
        // The providers' other load codes (alloy's list).
        Fault::RateLimited
    } else {
        Fault::Final
    }
}

/// Words of answers that no retry changes, whatever HTTP status carried them.
const FINAL_WORDS: [&str; 13] = [
    "revert",
    "nonce too low",
    "nonce too high",
    "insufficient funds",
    "underpriced",
    "intrinsic gas",
    "gas limit",
    "less than block base fee",
    "invalid argument",
    "invalid params",
    "invalid sender",
    "invalid signature",
    "already known",
];

/// Classifies a JSON-RPC error answer that came with HTTP status `status` (`None`: a success
/// status). The body decides, except that under a 429 any refusal is one for load, and under a
/// 5xx or 408 an internal or unspecified server error (-32603, or a code of the -32000..-32099
/// server range whose message names no deterministic cause) is a failure of the server, retried.
/// Revert data, the request-shape codes (-32600..-32602) and words such as "nonce too low" stay
/// final: retrying them would only spend the budget.
pub fn classify_answer(error: &ErrorPayload, status: Option<u16>) -> Fault {
    let server_error = error.code == -32603 || (-32099..=-32000).contains(&error.code);
    match (classify_payload(error), status) {
        (Fault::Final, Some(429)) => Fault::RateLimited,
        (Fault::Final, Some(s))
            if (s >= 500 || s == 408)
                && server_error
                && error.as_revert_data().is_none()
                && !has_any(&error.message, &FINAL_WORDS) =>
        {
            Fault::Transient
        }
        (fault, _) => fault,
    }
}

/// Stalls of one `eth_getLogs` request after which it counts as [`Fault::RangeTooLarge`].
pub const STALLS_FOR_A_SMALLER_PAGE: u32 = 2;

/// The timeout of a request that got no answer within it.
fn stalled(e: &TransportError) -> Option<Duration> {
    match e {
        TransportError::Transport(TransportErrorKind::Custom(c)) => {
            c.downcast_ref::<Stalled>().map(|s| s.0)
        }
        _ => None,
    }
}

/// How many blocks an `eth_getLogs` request spans (`None`: not a numbered range).
fn log_blocks(request: &alloy::rpc::json_rpc::SerializedRequest) -> Option<u64> {
    let (filter,): (serde_json::Value,) = serde_json::from_str(request.params()?.get()).ok()?;
    let block = |key: &str| {
        let hex = filter.get(key)?.as_str()?.strip_prefix("0x")?;
        u64::from_str_radix(hex, 16).ok()
    };
    Some(block("toBlock")?.checked_sub(block("fromBlock")?)? + 1)
}

/// Classifies a failed request.
pub fn classify(error: &TransportError) -> Fault {
    match error {
        TransportError::ErrorResp(payload) => classify_payload(payload),
        TransportError::Transport(kind) => match kind.as_http_error() {
            Some(http) if has_any(&http.body, &RANGE_WORDS) => Fault::RangeTooLarge,
            Some(http) if http.status == 429 => Fault::RateLimited,
            Some(http) if http.status >= 500 || http.status == 408 => Fault::Transient,
            Some(_) => Fault::Final,
            // Connection refused or reset, a timeout, a cut body: nothing was answered.
            None => match kind {
                TransportErrorKind::Custom(e) if e.is::<GaveUp>() => e
                    .downcast_ref::<GaveUp>()
                    .map_or(Fault::Transient, |g| g.fault),
                TransportErrorKind::Custom(e) if has_any(&e.to_string(), &RANGE_WORDS) => {
                    Fault::RangeTooLarge
                }
                TransportErrorKind::Custom(_)
                | TransportErrorKind::BackendGone
                | TransportErrorKind::MissingBatchResponse(_) => Fault::Transient,
                _ => Fault::Final,
            },
        },
        // Truncated or empty JSON: the answer was cut on the way.
        TransportError::DeserError { text, .. } => {
            match serde_json::from_str::<ErrorPayload>(text) {
                Ok(payload) => classify_payload(&payload),
                Err(_) => Fault::Transient,
            }
        }
        TransportError::NullResp => Fault::Transient,
        _ => Fault::Final,
    }
}

/// The delay a rate-limited answer asks for: the `Retry-After` header, or the `backoff_seconds`
/// some providers put in the error's data.
fn retry_after(error: &TransportError) -> Option<Duration> {
    match error {
        TransportError::Transport(kind) => kind.retry_after(),
        TransportError::ErrorResp(payload) => payload_retry_after(payload),
        _ => None,
    }
}

fn payload_retry_after(payload: &ErrorPayload) -> Option<Duration> {
    let data: serde_json::Value = payload.try_data_as()?.ok()?;
    let seconds = data.get("rate")?.get("backoff_seconds")?.as_f64()?;
    Duration::try_from_secs_f64(seconds).ok()
}

/// A request that got no answer within the timeout.
#[derive(Debug, thiserror::Error)]
#[error("no answer within {} s", .0.as_secs_f64())]
pub struct Stalled(pub Duration);

/// The transport stopped retrying.
#[derive(Debug, thiserror::Error)]
#[error(
    "{method}: {why} after {attempts} attempt(s) over {:.1} s; the last failure: {last}. {hint}",
    elapsed.as_secs_f64()
)]
pub struct GaveUp {
    /// The JSON-RPC method.
    pub method: String,
    /// Attempts made.
    pub attempts: u32,
    /// Time since the first attempt.
    pub elapsed: Duration,
    /// Why the transport stopped.
    pub why: &'static str,
    /// The last failure.
    pub last: String,
    /// What the user can do.
    pub hint: &'static str,
    /// What the last failure was.
    pub fault: Fault,
}

/// A transport that times out, classifies and retries every request under an [`RpcPolicy`] (see
/// the module's documentation).
#[derive(Debug, Clone)]
pub struct RobustTransport {
    client: reqwest::Client,
    url: reqwest::Url,
    policy: Arc<RpcPolicy>,
}

/// One attempt's outcome, with the HTTP status and `Retry-After` of an answer that was not a
/// success: a JSON-RPC error in the body of an HTTP 429 or 5xx is a refusal for load or a
/// failure on the server's side, whatever its code says (alloy's HTTP transport keeps the body
/// and drops the status).
struct Answer {
    result: TransportResult<ResponsePacket>,
    status: Option<u16>,
    retry_after: Option<Duration>,
}

impl RobustTransport {
    /// Over HTTP to `url`.
    pub fn http(url: reqwest::Url, policy: RpcPolicy) -> TransportResult<RobustTransport> {
        let client = reqwest::Client::builder()
            .connect_timeout(policy.timeout)
            .build()
            .map_err(TransportErrorKind::custom)?;
        Ok(RobustTransport {
            client,
            url,
            policy: Arc::new(policy),
        })
    }

    /// Posts `request` and reads the whole answer.
    async fn post(&self, request: RequestPacket) -> Answer {
        let failed = |result| Answer {
            result,
            status: None,
            retry_after: None,
        };
        let resp = match self
            .client
            .post(self.url.clone())
            .json(&request)
            .headers(request.headers())
            .send()
            .await
        {
            Ok(resp) => resp,
            Err(e) => return failed(Err(TransportErrorKind::custom(e))),
        };
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok())
            .map(Duration::from_secs);
        let body = match resp.bytes().await {
            Ok(body) => body,
            Err(e) if status.is_success() => return failed(Err(TransportErrorKind::custom(e))),
            Err(e) => {
                return failed(Err(TransportErrorKind::http_error_with_retry_after(
                    status.as_u16(),
                    format!("<the body could not be read: {e}>"),
                    retry_after,
                )));
            }
        };
        if status.is_success() {
            return failed(
                serde_json::from_slice(&body)
                    .map_err(|e| TransportError::deser_err(e, String::from_utf8_lossy(&body))),
            );
        }
        let result = match serde_json::from_slice::<ResponsePacket>(&body) {
            Ok(packet) if packet.as_error().is_some() => Ok(packet),
            _ => Err(TransportErrorKind::http_error_with_retry_after(
                status.as_u16(),
                String::from_utf8_lossy(&body).into_owned(),
                retry_after,
            )),
        };
        Answer {
            result,
            status: Some(status.as_u16()),
            retry_after,
        }
    }

    /// One attempt, with the timeout (cut to what is left before `stop`).
    async fn attempt(&mut self, request: RequestPacket, stop: Instant) -> Answer {
        let left = stop.saturating_duration_since(Instant::now());
        let timeout = self.policy.timeout.min(left.max(Duration::from_millis(1)));
        match tokio::time::timeout(timeout, self.post(request)).await {
            Ok(answer) => answer,
            Err(_) => Answer {
                result: Err(TransportErrorKind::custom(Stalled(timeout))),
                status: None,
                retry_after: None,
            },
        }
    }

    /// Whether the node knows the transaction that an `eth_sendRawTransaction` request carries.
    async fn landed(&mut self, request: &RequestPacket, stop: Instant) -> bool {
        let Some(hash) = request.as_single().and_then(raw_hash) else {
            return false;
        };
        let lookup = alloy::rpc::json_rpc::Request::new(
            "eth_getTransactionByHash",
            alloy::rpc::json_rpc::Id::Number(0),
            (hash,),
        );
        let Ok(lookup) = lookup.serialize() else {
            return false;
        };
        match self
            .attempt(RequestPacket::Single(lookup), stop)
            .await
            .result
        {
            Ok(packet) => packet
                .as_single()
                .and_then(|r| r.try_success_as::<serde_json::Value>())
                .and_then(|v| v.ok())
                .is_some_and(|v| !v.is_null()),
            Err(_) => false,
        }
    }

    async fn send(mut self, request: RequestPacket) -> TransportResult<ResponsePacket> {
        let method = request.method_names().next().unwrap_or("?").to_string();
        let started = Instant::now();
        let policy = *self.policy;
        let stop = match policy.deadline {
            Some(d) => d.min(started + policy.call_budget),
            None => started + policy.call_budget,
        };
        let mut delay = policy.first_delay;
        let mut attempts = 0;
        let mut stalls = 0;
        loop {
            attempts += 1;
            let Answer {
                result: answer,
                status,
                retry_after: header,
            } = self.attempt(request.clone(), stop).await;
            let (fault, asked, last) = match &answer {
                Ok(packet) => match packet.as_error() {
                    None => return answer,
                    Some(error) if already_known(&method, error) => {
                        return resent(&request, packet);
                    }
                    Some(error) => {
                        let fault = classify_answer(error, status);
                        // An earlier attempt may have reached the node and been mined since:
                        // the nonce is then "too low" for the very same transaction.
                        if attempts > 1
                            && method == "eth_sendRawTransaction"
                            && fault == Fault::Final
                        {
                            if self.landed(&request, stop).await {
                                return resent(&request, packet);
                            }
                            return answer;
                        }
                        let asked = payload_retry_after(error).or(header);
                        let last = match status {
                            Some(status) => format!("HTTP {status}: {error}"),
                            None => error.to_string(),
                        };
                        (fault, asked, last)
                    }
                },
                Err(e) => (classify(e), retry_after(e), e.to_string()),
            };
            if matches!(fault, Fault::Final | Fault::RangeTooLarge) {
                return answer;
            }
            // A stall of a whole request timeout (not one cut short by the budget).
            if answer
                .as_ref()
                .err()
                .is_some_and(|e| stalled(e).is_some_and(|t| t >= policy.timeout))
            {
                stalls += 1;
                // Providers that cap a log query by its running time just stop answering: two
                // stalls of one query over several blocks count as "range too large", for the
                // reader to halve its page (a one-block query has nothing to halve).
                if method == "eth_getLogs"
                    && stalls >= STALLS_FOR_A_SMALLER_PAGE
                    && request
                        .as_single()
                        .and_then(log_blocks)
                        .is_some_and(|n| n > 1)
                {
                    return Err(TransportErrorKind::custom(GaveUp {
                        method,
                        attempts,
                        elapsed: started.elapsed(),
                        why: "no answer in time",
                        last,
                        hint: "A provider that stops answering large log queries: the page of blocks is halved.",
                        fault: Fault::RangeTooLarge,
                    }));
                }
            }
            let jittered = delay.mul_f64(0.5 + rand::random::<f64>() / 2.0);
            let wait = asked.map_or(jittered, |a| a.min(MAX_RETRY_AFTER));
            if Instant::now() + wait > stop {
                let (why, hint) = if policy.deadline.is_some_and(|d| d <= stop) {
                    (
                        "the command's time budget ran out",
                        "Run it again later (a sync resumes where it stopped), raise --rpc-budget, or add another --rpc-url.",
                    )
                } else {
                    (
                        "gave up",
                        "The RPC is overloaded or unreachable: check the URL or use another one.",
                    )
                };
                return Err(TransportErrorKind::custom(GaveUp {
                    method,
                    attempts,
                    elapsed: started.elapsed(),
                    why,
                    last,
                    hint,
                    fault,
                }));
            }
            tracing::debug!(%method, attempts, ?fault, wait_ms = wait.as_millis() as u64, %last, "L1 RPC retry");
            metrics::counter!("l1_rpc_retries").increment(1);
            tokio::time::sleep(wait).await;
            delay = (delay * 2).min(policy.max_delay);
        }
    }
}

/// Whether a node refused a raw transaction because it already has it.
fn already_known(method: &str, error: &ErrorPayload) -> bool {
    method == "eth_sendRawTransaction"
        && has_any(
            &error.message,
            &["already known", "known transaction", "already imported"],
        )
}

/// The hash of the signed transaction an `eth_sendRawTransaction` request carries.
fn raw_hash(request: &alloy::rpc::json_rpc::SerializedRequest) -> Option<alloy::primitives::B256> {
    let (raw,): (alloy::primitives::Bytes,) =
        serde_json::from_str(request.params().map(|p| p.get())?).ok()?;
    Some(keccak256(&raw))
}

/// The answer the first attempt of `eth_sendRawTransaction` would have had: the hash of the
/// signed bytes it carried.
fn resent(request: &RequestPacket, packet: &ResponsePacket) -> TransportResult<ResponsePacket> {
    let (Some(hash), Some(response)) = (request.as_single().and_then(raw_hash), packet.as_single())
    else {
        return Ok(packet.clone());
    };
    let hash = serde_json::value::to_raw_value(&hash).map_err(TransportErrorKind::custom)?;
    Ok(ResponsePacket::Single(Response {
        id: response.id.clone(),
        payload: ResponsePayload::Success(hash),
    }))
}

impl Service<RequestPacket> for RobustTransport {
    type Response = ResponsePacket;
    type Error = TransportError;
    type Future = TransportFut<'static>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: RequestPacket) -> Self::Future {
        Box::pin(self.clone().send(request))
    }
}

/// An RPC client for `url` over a [`RobustTransport`]; `ProviderBuilder::connect_client` makes a
/// provider of it.
pub fn client(url: &str, policy: RpcPolicy) -> crate::Result<RpcClient> {
    let parsed: reqwest::Url = url.parse().map_err(|e| crate::L1Error::Url {
        url: url.to_string(),
        reason: format!("{e}"),
    })?;
    let is_local = alloy::transports::utils::guess_local_url(parsed.as_str());
    let transport = RobustTransport::http(parsed, policy).map_err(|e| crate::L1Error::Url {
        url: url.to_string(),
        reason: e.to_string(),
    })?;
    Ok(RpcClient::new(transport, is_local))
}

/// A read-only provider for `url` over a [`RobustTransport`].
pub fn provider(url: &str, policy: RpcPolicy) -> crate::Result<RootProvider> {
    Ok(RootProvider::new(client(url, policy)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(code: i64, message: &str) -> ErrorPayload {
        ErrorPayload {
            code,
            message: message.to_string().into(),
            data: None,
        }
    }

    #[test]
    fn answers_are_classified_by_code_and_wording() {
        assert_eq!(
            classify_payload(&payload(-32005, "limit exceeded")),
            Fault::RateLimited
        );
        assert_eq!(
            classify_payload(&payload(-32005, "query returned more than 10000 results")),
            Fault::RangeTooLarge
        );
        assert_eq!(
            classify_payload(&payload(-32602, "query exceeds max block range 500")),
            Fault::RangeTooLarge
        );
        assert_eq!(
            classify_payload(&payload(3, "execution reverted")),
            Fault::Final
        );
        assert_eq!(
            classify_payload(&payload(-32000, "header not found")),
            Fault::Transient
        );
        assert_eq!(
            classify_payload(&payload(-32000, "nonce too low")),
            Fault::Final
        );
    }

    #[test]
    fn an_answers_http_status_counts_only_where_the_body_leaves_room() {
        let internal = payload(-32603, "internal error");
        assert_eq!(classify_answer(&internal, None), Fault::Final);
        assert_eq!(classify_answer(&internal, Some(503)), Fault::Transient);
        assert_eq!(classify_answer(&internal, Some(408)), Fault::Transient);
        assert_eq!(classify_answer(&internal, Some(400)), Fault::Final);
        assert_eq!(
            classify_answer(
                &payload(-32603, "invalid response from upstream"),
                Some(502)
            ),
            Fault::Transient
        );
        assert_eq!(
            classify_answer(&payload(-32000, "capacity exceeded"), Some(429)),
            Fault::RateLimited
        );
        // Deterministic answers stay final under a 5xx: retrying them only spends the budget.
        for deterministic in [
            payload(-32000, "nonce too low"),
            payload(-32000, "insufficient funds for gas * price + value"),
            payload(-32602, "invalid argument 0"),
            payload(-32601, "the method does not exist"),
            payload(3, "execution reverted"),
            payload(-32000, "execution reverted"),
        ] {
            assert_eq!(
                classify_answer(&deterministic, Some(500)),
                Fault::Final,
                "{deterministic:?}"
            );
        }
    }

    #[test]
    fn transport_failures_are_classified() {
        let http = |status, body: &str, after: Option<u64>| {
            TransportErrorKind::http_error_with_retry_after(
                status,
                body.to_string(),
                after.map(Duration::from_secs),
            )
        };
        assert_eq!(classify(&http(429, "", None)), Fault::RateLimited);
        let limited = http(429, "", Some(3));
        assert_eq!(retry_after(&limited), Some(Duration::from_secs(3)));
        assert_eq!(classify(&http(502, "bad gateway", None)), Fault::Transient);
        assert_eq!(classify(&http(401, "unauthorized", None)), Fault::Final);
        assert_eq!(
            classify(&TransportErrorKind::custom(Stalled(Duration::from_secs(1)))),
            Fault::Transient
        );
        let cut = serde_json::from_str::<serde_json::Value>("{\"jsonrpc\":\"2.0\",\"res")
            .err()
            .map(|e| TransportError::deser_err(e, "{\"jsonrpc\":\"2.0\",\"res"));
        assert_eq!(cut.as_ref().map(classify), Some(Fault::Transient));
    }

    #[test]
    fn a_provider_backoff_in_the_error_data_is_honoured() {
        let mut p = payload(-32005, "project rate limit exceeded");
        p.data = serde_json::value::to_raw_value(&serde_json::json!({
            "rate": { "backoff_seconds": 1.5 }
        }))
        .ok();
        assert_eq!(payload_retry_after(&p), Some(Duration::from_millis(1500)));
    }
}
