//! The RPC transport against a misbehaving proxy in front of a real anvil: each failure a public
//! RPC produces is either retried until the answer is the node's own, or returned at once when
//! retrying cannot help, and a call that cannot succeed in its budget says so.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::primitives::U256;
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use rollup_l1::rpc::{self, RpcPolicy};
use rollup_l1::{LogReader, REQUEST_QUEUED};
use rollup_test_utils::proxy::{Act, Proxy, Script, honest};
use rollup_test_utils::{Result, anvil, deploy_rollup, deposit_eth, keys};

/// A policy for tests: short waits, a short timeout, a 20 s budget.
fn quick() -> RpcPolicy {
    RpcPolicy {
        first_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(200),
        ..RpcPolicy::command(Duration::from_secs(20)).timeout(Duration::from_secs(2))
    }
}

/// The first `n` calls of `method` get `act`, the rest are forwarded.
fn first(method: &'static str, n: u64, act: Act) -> Script {
    let seen = Arc::new(AtomicU64::new(0));
    Arc::new(move |call| {
        if call.method == method && seen.fetch_add(1, Ordering::SeqCst) < n {
            act.clone()
        } else {
            Act::Forward
        }
    })
}

#[tokio::test]
async fn every_retryable_failure_is_retried_until_the_node_answers() -> Result {
    let anvil = anvil()?;
    let proxy = Proxy::start(&anvil.endpoint(), honest()).await?;
    let l1 = rpc::provider(&proxy.url, quick())?;
    let truth = anvil.chain_id();
    let cases = [
        ("429 without Retry-After", Act::TooMany(None)),
        (
            "-32005 limit exceeded",
            Act::Error(-32005, "limit exceeded".into()),
        ),
        ("a reset connection", Act::Reset),
        ("truncated JSON", Act::Truncate),
        ("no answer", Act::Stall),
        (
            "a node without the block yet",
            Act::Error(-32000, "header not found".into()),
        ),
        (
            "HTTP 503 with a JSON-RPC error in the body",
            Act::StatusError {
                status: 503,
                retry_after: None,
                code: -32603,
                message: "internal error".into(),
            },
        ),
        (
            "HTTP 429 with a JSON-RPC error in the body",
            Act::StatusError {
                status: 429,
                retry_after: None,
                code: -32000,
                message: "capacity exceeded".into(),
            },
        ),
    ];
    for (what, act) in cases {
        proxy.set(first("eth_chainId", 2, act));
        let before = proxy.count("eth_chainId");
        let id = l1
            .get_chain_id()
            .await
            .map_err(|e| format!("{what}: {e}"))?;
        assert_eq!(id, truth, "{what}");
        assert_eq!(
            proxy.count("eth_chainId") - before,
            3,
            "{what}: two failures, one answer"
        );
    }
    Ok(())
}

#[tokio::test]
async fn retry_after_is_honoured() -> Result {
    let anvil = anvil()?;
    let proxy = Proxy::start(&anvil.endpoint(), honest()).await?;
    let l1 = rpc::provider(&proxy.url, quick())?;
    // A bare 429, and one from a provider that puts a JSON-RPC error in its body.
    let refusals = [
        Act::TooMany(Some(2)),
        Act::StatusError {
            status: 429,
            retry_after: Some(2),
            code: -32000,
            message: "capacity exceeded".into(),
        },
    ];
    for refusal in refusals {
        proxy.set(first("eth_blockNumber", 1, refusal.clone()));
        let before = proxy.count("eth_blockNumber");
        let start = Instant::now();
        l1.get_block_number().await?;
        // The transport's own first wait is at most 20 ms; the server asked for 2 s.
        assert!(
            start.elapsed() >= Duration::from_secs(2),
            "{refusal:?}: {:?}",
            start.elapsed()
        );
        assert_eq!(proxy.count("eth_blockNumber") - before, 2, "{refusal:?}");
    }
    Ok(())
}

#[tokio::test]
async fn a_final_answer_is_not_retried() -> Result {
    let anvil = anvil()?;
    let proxy = Proxy::start(
        &anvil.endpoint(),
        first(
            "eth_call",
            u64::MAX,
            Act::Error(3, "execution reverted".into()),
        ),
    )
    .await?;
    let l1 = rpc::provider(&proxy.url, quick())?;
    let call = TransactionRequest::default().with_to(anvil.addresses()[0]);
    let err = l1.call(call).await.err().ok_or("a revert succeeded")?;
    assert!(err.to_string().contains("execution reverted"), "{err}");
    assert_eq!(proxy.count("eth_call"), 1);
    Ok(())
}

#[tokio::test]
async fn an_rpc_that_never_recovers_exhausts_the_budget_with_a_clear_message() -> Result {
    let anvil = anvil()?;
    let proxy = Proxy::start(&anvil.endpoint(), Arc::new(|_| Act::TooMany(None))).await?;
    let policy = RpcPolicy {
        first_delay: Duration::from_millis(50),
        max_delay: Duration::from_millis(400),
        ..RpcPolicy::command(Duration::from_secs(2))
    };
    let l1 = rpc::provider(&proxy.url, policy)?;
    let start = Instant::now();
    let err = l1.get_block_number().await.err().ok_or("a 429 succeeded")?;
    let msg = err.to_string();
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    assert!(
        msg.contains("eth_blockNumber: the command's time budget ran out after"),
        "{msg}"
    );
    assert!(msg.contains("429"), "{msg}");
    assert!(msg.contains("--rpc-budget"), "{msg}");
    assert!(
        proxy.count("eth_blockNumber") > 2,
        "retried before giving up"
    );
    Ok(())
}

#[tokio::test]
async fn a_block_range_cap_halves_the_page_and_loses_no_log() -> Result {
    let anvil = anvil()?;
    let rollup = deploy_rollup(&anvil)?;
    for user in keys(&anvil).iter().skip(1).take(3) {
        deposit_eth(&anvil, rollup, user, 1_000_000_000).await?;
    }
    let head = ProviderBuilder::new()
        .connect_http(anvil.endpoint_url())
        .get_block_number()
        .await?;
    let direct = LogReader::new(rpc::provider(&anvil.endpoint(), quick())?, rollup)
        .logs(&[REQUEST_QUEUED], 0, head)
        .await?;
    assert!(direct.len() >= 3, "{} logs", direct.len());
    // A provider that refuses larger ranges in words, and one that just never answers them.
    let refused: Script = Arc::new(|call| match call.log_range() {
        Some(blocks) if blocks > 3 => Act::Error(-32602, "query exceeds max block range 3".into()),
        _ => Act::Forward,
    });
    let stalled: Script = Arc::new(|call| match call.log_range() {
        Some(blocks) if blocks > 3 => Act::Stall,
        _ => Act::Forward,
    });
    for (what, cap) in [("refused", refused), ("stalled", stalled)] {
        let proxy = Proxy::start(&anvil.endpoint(), cap).await?;
        let policy = quick().timeout(Duration::from_millis(300));
        let through_cap = LogReader::new(rpc::provider(&proxy.url, policy)?, rollup)
            .logs(&[REQUEST_QUEUED], 0, head)
            .await
            .map_err(|e| format!("{what}: {e}"))?;
        assert_eq!(through_cap, direct, "{what}");
        assert!(
            proxy.count("eth_getLogs") > head / 3,
            "{what}: the page shrank to the cap"
        );
    }
    Ok(())
}

#[tokio::test]
async fn a_raw_transaction_resent_after_a_lost_answer_is_sent_once() -> Result {
    let anvil = anvil()?;
    // The node gets the transaction, the client never hears back, and sends the same bytes again.
    let proxy = Proxy::start(
        &anvil.endpoint(),
        first("eth_sendRawTransaction", 1, Act::Truncate),
    )
    .await?;
    let key = keys(&anvil).remove(1);
    let l1 = ProviderBuilder::new()
        .wallet(EthereumWallet::from(key.clone()))
        .connect_client(rpc::client(&proxy.url, quick())?);
    let to = anvil.addresses()[2];
    let before = l1.get_balance(to).await?;
    let tx = TransactionRequest::default()
        .with_to(to)
        .with_value(U256::from(7));
    let receipt = l1.send_transaction(tx).await?.get_receipt().await?;
    assert!(receipt.status());
    assert_eq!(proxy.count("eth_sendRawTransaction"), 2);
    assert_eq!(l1.get_balance(to).await? - before, U256::from(7));
    assert_eq!(l1.get_transaction_count(key.address()).await?, 1);
    Ok(())
}
