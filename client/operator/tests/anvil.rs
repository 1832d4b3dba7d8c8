//! The operator end to end on anvil, with the real contracts and the real verifier: L1 deposits
//! and a forced exit come in through the watcher, transfers and a withdrawal through the L2 RPC;
//! chunks are sealed and proven for aggregation, each batch's proofs aggregated into the one proof
//! L1 verifies, and the submitter finalizes them; the
//! withdrawal and the forced exit become claimable on L1. Malformed and oversized RPC requests
//! get clear errors and change nothing.

mod support;

use std::time::Duration;

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, U256};
use alloy::providers::ProviderBuilder;
use rollup_bindings::rollup::Rollup;
use rollup_operator::node::Operator;
use rollup_protocol::tx::{Transfer, Withdraw};
use rollup_rpc_api::{BatchStatus, L2ApiClient, TxState};
use serde_json::json;
use support::{Result, config, deposit_eth, keys, l2_key, wait_for};

/// Slots per chunk.
const SLOTS: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deposits_transfers_withdrawals_and_a_forced_exit_end_finalized_on_l1() -> Result {
    support::logs();
    let anvil = support::anvil()?;
    let keys = keys(&anvil);
    let operator_key = keys[0].clone();
    // Eight-slot chunks, each a batch with one aggregated proof (minutes on 2 cores): the
    // requests, the L2 transactions and the forced exit each fit in one chunk.
    let rollup_addr = support::deploy_rollup_slots(&anvil, SLOTS)?;
    let data = std::env::temp_dir().join(format!("operator-e2e-{}", std::process::id()));
    let mut cfg = config(anvil.endpoint(), rollup_addr, anvil.chain_id(), &data);
    cfg.chunk_timeout_ms = 3_000;
    let backend = support::prover_for(&cfg, SLOTS)?;
    let operator = Operator::start_with(cfg, operator_key.clone(), backend).await?;
    let rpc = rollup_rpc_api::http_client(&format!("http://{}", operator.rpc_addr))?;

    // Three users deposit ETH on L1 with their derived L2 keys.
    let (alice, bob, carol) = (keys[1].clone(), keys[2].clone(), keys[3].clone());
    for (user, amount) in [(&alice, 1_000_000u64), (&bob, 500_000), (&carol, 300_000)] {
        deposit_eth(&anvil, rollup_addr, user, amount).await?;
    }
    // The watcher ingests them (accounts 1, 2, 3; 0 is the fee account).
    wait_for("the deposits on L2", Duration::from_secs(60), || {
        let rpc = rpc.clone();
        async move {
            let b = rpc.get_balance(3, 0).await?;
            Ok((b == "300000").then_some(()))
        }
    })
    .await?;

    // A transfer and a withdrawal through the L2 RPC.
    let chain = anvil.chain_id();
    let transfer = Transfer {
        from: 1,
        to: 2,
        token: 0,
        amount: 250_000,
        fee: 100,
        nonce: 0,
    }
    .sign(&l2_key(&alice)?, chain);
    let id = rpc.send_transaction(transfer).await?;
    let withdraw = Withdraw {
        from: 2,
        token: 0,
        amount: 600_000,
        fee: 50,
        nonce: 0,
    }
    .sign(&l2_key(&bob)?, chain);
    let raw = format!("0x{}", alloy::hex::encode(withdraw.encode()?));
    let withdraw_id = rpc.send_raw_transaction(raw.clone()).await?;
    // The same transaction again, a replayed nonce, an overdraft: refused, nothing changes.
    let again = rpc.send_transaction(transfer).await;
    assert!(format!("{again:?}").contains("already known"), "{again:?}");
    let overdraft = Transfer {
        from: 3,
        to: 1,
        token: 0,
        amount: 10_000_000,
        fee: 1,
        nonce: 0,
    }
    .sign(&l2_key(&carol)?, chain);
    let refused = rpc.send_transaction(overdraft).await;
    let code = rollup_rpc_api::codes::REJECTED.to_string();
    assert!(format!("{refused:?}").contains(&code), "{refused:?}");

    // Carol forces her ETH out on L1.
    let carol_l1 = ProviderBuilder::new()
        .wallet(EthereumWallet::from(carol.clone()))
        .connect_http(anvil.endpoint_url());
    let carol_rollup = Rollup::new(rollup_addr, &carol_l1);
    let fee = carol_rollup.requestFee(carol.address()).call().await?;
    assert!(
        carol_rollup
            .requestForcedExit(0)
            .value(fee)
            .send()
            .await?
            .get_receipt()
            .await?
            .status()
    );

    // Malformed and oversized requests: errors, no effect.
    let http = alloy::transports::http::reqwest::Client::new();
    let url = format!("http://{}", operator.rpc_addr);
    let status_before = rpc.status().await?;
    for body in [
        "{not json".to_string(),
        json!({"jsonrpc": "2.0", "id": 1, "method": "l2_sendTransaction", "params": [{"type": "transfer"}]}).to_string(),
        json!({"jsonrpc": "2.0", "id": 1, "method": "l2_sendRawTransaction", "params": ["0x0102"]}).to_string(),
        json!({"jsonrpc": "2.0", "id": 1, "method": "l2_sendTransaction", "params": [{"type": "deposit", "account_id": 9, "owner": Address::ZERO, "token": 0, "amount": 1, "pubkey": {"x": "0x00", "y": "0x01"}}]}).to_string(),
        json!({"jsonrpc": "2.0", "id": 1, "method": "l2_nope", "params": []}).to_string(),
        format!("{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"l2_sendRawTransaction\",\"params\":[\"0x{}\"]}}", "00".repeat(8_000)),
    ] {
        let reply = http.post(&url).header("content-type", "application/json").body(body.clone()).send().await?;
        let status = reply.status();
        let text = reply.text().await?;
        assert!(
            !status.is_success() || text.contains("\"error\""),
            "{} accepted: {status} {text}",
            &body[..body.len().min(80)]
        );
    }
    let status_after = rpc.status().await?;
    assert_eq!(
        status_after.root, status_before.root,
        "an error changed the state"
    );

    // Everything ends finalized and executed on L1, and the L1 root is the operator's.
    let l1 = ProviderBuilder::new().connect_http(anvil.endpoint_url());
    let rollup = Rollup::new(rollup_addr, &l1);
    let done = wait_for("every batch executed", Duration::from_secs(1_800), || {
        let (rpc, rollup) = (rpc.clone(), rollup.clone());
        async move {
            let s = rpc.status().await?;
            let all_sealed = s.queued == 0 && s.in_open_chunk == 0 && s.unproven_chunks == 0;
            let executed = !s.batches.is_empty()
                && s.batches.iter().all(|b| b.status == BatchStatus::Executed);
            let requests_done =
                rollup.finalizedRequests().call().await? == rollup.totalRequests().call().await?;
            Ok((all_sealed && executed && requests_done).then_some(s))
        }
    })
    .await?;
    assert_eq!(
        format!("{:#066x}", rollup.stateRoot().call().await?),
        done.root
    );
    assert_eq!(
        rpc.get_transaction_status(id.clone()).await?.status,
        TxState::Executed
    );
    assert_eq!(
        rpc.get_transaction_status(withdraw_id.clone())
            .await?
            .status,
        TxState::Executed
    );

    // Bob's withdrawal and Carol's forced exit are claimable on L1.
    assert_eq!(
        rollup.pending(bob.address(), 0).call().await?,
        U256::from(600_000u64)
    );
    assert_eq!(
        rollup.pending(carol.address(), 0).call().await?,
        U256::from(300_000u64)
    );
    assert!(
        carol_rollup
            .withdrawPending(0, carol.address())
            .send()
            .await?
            .get_receipt()
            .await?
            .status()
    );
    assert_eq!(rollup.pending(carol.address(), 0).call().await?, U256::ZERO);
    let fee = rpc.get_balance(0, 0).await?;
    assert_eq!(fee, "150");

    operator.stop().await?;
    std::fs::remove_dir_all(&data)?;
    Ok(())
}
