//! Faults on anvil, with the real contracts and verifier: the submitter killed at each step, the
//! L1 RPC unreachable for a while, anvil's mining paused. Each run must end in the L1 state an
//! uninterrupted run reaches (the root the core computes from the same requests) having sent each
//! L1 step exactly once (the operator's nonce moves by exactly one per step).

mod support;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use alloy::node_bindings::AnvilInstance;
use alloy::primitives::{Address, U256};
use alloy::providers::{Provider, ProviderBuilder};
use rollup_bindings::rollup::Rollup;
use rollup_operator::Error;
use rollup_operator::config::CrashPoint;
use rollup_operator::node::Operator;
use rollup_operator::revert::{Outcome, revert};
use rollup_protocol::eddsa::Point;
use rollup_protocol::field::to_u256;
use rollup_protocol::tx::Deposit;
use rollup_protocol::{Config as CoreConfig, State, Tx};
use rollup_prover::{Backend, ProofKind, ProofTask};
use rollup_rpc_api::{BatchStatus, L2ApiClient, L2Client};
use serde_json::Value;
use support::{Result, config, deploy_rollup, deposit_eth, keys, l2_key, wait_for};

const DEPOSITS: [u64; 2] = [1_000, 2_000];

/// The root after the fee account's request and the users' deposits, by the core alone.
fn expected_root(anvil: &AnvilInstance) -> Result<U256> {
    let ks = keys(anvil);
    let mut s = State::new(CoreConfig {
        chain_id: anvil.chain_id(),
        chunk_slots: 1,
    });
    s.apply_tx(&Tx::Deposit(Deposit {
        account_id: 0,
        owner: ks[0].address(),
        token: 0,
        amount: 0,
        pubkey: Point::NONE,
    }))?;
    for (i, amount) in DEPOSITS.iter().enumerate() {
        let user = &ks[i + 1];
        s.apply_tx(&Tx::Deposit(Deposit {
            account_id: i as u32 + 1,
            owner: user.address(),
            token: 0,
            amount: u128::from(*amount),
            pubkey: l2_key(user)?.public(),
        }))?;
    }
    Ok(to_u256(&s.root()))
}

/// Waits until every batch is executed and every request finalized; returns the batch count.
async fn settled(anvil: &AnvilInstance, rollup: Address, rpc: &L2Client) -> Result<u64> {
    let l1 = ProviderBuilder::new().connect_http(anvil.endpoint_url());
    let r = Rollup::new(rollup, &l1);
    wait_for("every batch executed", Duration::from_secs(1_800), || {
        let (rpc, r) = (rpc.clone(), r.clone());
        async move {
            let s = rpc.status().await?;
            let batches = s.batches;
            let all = s.queued == 0
                && s.in_open_chunk == 0
                && !batches.is_empty()
                && batches.iter().all(|b| b.status == BatchStatus::Executed);
            let total = r.totalRequests().call().await?;
            let done = all
                && total == U256::from(DEPOSITS.len() + 1)
                && r.finalizedRequests().call().await? == total;
            Ok(done.then_some(batches.len() as u64))
        }
    })
    .await
}

/// Checks the end state: the expected root, and one L1 transaction per step (commit and finalize
/// per batch; there are no withdrawals to execute).
async fn check_end(
    anvil: &AnvilInstance,
    rollup: Address,
    rpc: &L2Client,
    nonce_before: u64,
) -> Result {
    check_end_with(anvil, rollup, rpc, nonce_before, 0).await
}

/// [`check_end`], with `others` transactions of the operator's key sent by someone else.
async fn check_end_with(
    anvil: &AnvilInstance,
    rollup: Address,
    rpc: &L2Client,
    nonce_before: u64,
    others: u64,
) -> Result {
    let batches = settled(anvil, rollup, rpc).await?;
    let l1 = ProviderBuilder::new().connect_http(anvil.endpoint_url());
    let r = Rollup::new(rollup, &l1);
    assert_eq!(r.stateRoot().call().await?, expected_root(anvil)?);
    assert_eq!(r.lastFinalizedBatch().call().await?, U256::from(batches));
    assert_eq!(r.lastCommittedBatch().call().await?, U256::from(batches));
    let nonce = l1.get_transaction_count(keys(anvil)[0].address()).await?;
    assert_eq!(
        nonce - nonce_before,
        2 * batches + others,
        "one transaction per step"
    );
    Ok(())
}

/// Waits until account `account` holds `amount` wei on L2 (its deposit was ingested).
async fn on_l2(rpc: &L2Client, account: u32, amount: u64) -> Result {
    wait_for("a deposit on L2", Duration::from_secs(60), || {
        let rpc = rpc.clone();
        async move {
            let b = rpc.get_balance(account, 0).await?;
            Ok((b == amount.to_string()).then_some(()))
        }
    })
    .await
}

fn rpc_of(op: &Operator) -> Result<L2Client> {
    Ok(rollup_rpc_api::http_client(&format!(
        "http://{}",
        op.rpc_addr
    ))?)
}

async fn operator_nonce(anvil: &AnvilInstance) -> Result<u64> {
    let l1 = ProviderBuilder::new().connect_http(anvil.endpoint_url());
    Ok(l1.get_transaction_count(keys(anvil)[0].address()).await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_submitter_killed_at_each_step_resumes_without_a_double_or_lost_submission() -> Result {
    support::logs();
    let anvil = support::anvil()?;
    let ks = keys(&anvil);
    for point in [
        CrashPoint::BeforeSend,
        CrashPoint::AfterSend,
        CrashPoint::AfterReceipt,
    ] {
        let rollup = deploy_rollup(&anvil)?;
        let nonce_before = operator_nonce(&anvil).await?;
        let data =
            std::env::temp_dir().join(format!("operator-crash-{point:?}-{}", std::process::id()));
        let mut cfg = config(anvil.endpoint(), rollup, anvil.chain_id(), &data);
        cfg.crash_at = Some(point);
        let mut op = support::start(cfg.clone(), ks[0].clone()).await?;
        for (i, amount) in DEPOSITS.iter().enumerate() {
            deposit_eth(&anvil, rollup, &ks[i + 1], *amount).await?;
        }
        let crashed = tokio::time::timeout(Duration::from_secs(1_800), op.wait()).await?;
        assert!(
            matches!(crashed, Err(Error::Crash(_))),
            "{point:?}: {crashed:?}"
        );
        // Restarted on the same data directory, without the fault, once the store is free (the
        // operator and everything holding it gone).
        drop(op);
        tokio::time::sleep(Duration::from_millis(500)).await;
        cfg.crash_at = None;
        let op = support::start(cfg, ks[0].clone()).await?;
        check_end(&anvil, rollup, &rpc_of(&op)?, nonce_before).await?;
        op.stop().await?;
        std::fs::remove_dir_all(&data)?;
    }
    Ok(())
}

/// The coordinator killed after a batch's chunk proofs and before its batch proof, then while the
/// batch proof is made (made, not stored): restarted on the same data directory, it makes only the
/// proofs it had not stored (each chunk proof once; the batch proof again only when it was lost),
/// and L1 sees one commit and one finalize per batch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_coordinator_killed_before_and_during_a_batch_proof_resumes_with_one_finalize_per_batch()
-> Result {
    support::logs();
    let anvil = support::anvil()?;
    let ks = keys(&anvil);
    for point in [CrashPoint::BeforeBatchProof, CrashPoint::DuringBatchProof] {
        let rollup = deploy_rollup(&anvil)?;
        let nonce_before = operator_nonce(&anvil).await?;
        let data =
            std::env::temp_dir().join(format!("operator-crash-{point:?}-{}", std::process::id()));
        let mut cfg = config(anvil.endpoint(), rollup, anvil.chain_id(), &data);
        cfg.crash_at = Some(point);
        // Counts the proofs asked of the prover, by kind.
        let (chunks, batches) = (
            std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0)),
            std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0)),
        );
        let counting = std::sync::Arc::new(support::Wrapped {
            inner: support::prover(&cfg)?,
            prove: {
                let (chunks, batches) = (chunks.clone(), batches.clone());
                move |task: &ProofTask, inner: &dyn Backend| {
                    let counter = match task.kind() {
                        ProofKind::Batch => &batches,
                        _ => &chunks,
                    };
                    counter.fetch_add(1, Ordering::SeqCst);
                    inner.prove(task)
                }
            },
        });
        let mut op = Operator::start_with(cfg.clone(), ks[0].clone(), counting.clone()).await?;
        for (i, amount) in DEPOSITS.iter().enumerate() {
            deposit_eth(&anvil, rollup, &ks[i + 1], *amount).await?;
        }
        let crashed = tokio::time::timeout(Duration::from_secs(1_800), op.wait()).await?;
        assert!(
            matches!(crashed, Err(Error::Crash(_))),
            "{point:?}: {crashed:?}"
        );
        let (chunks_before, batches_before) = (
            chunks.load(Ordering::SeqCst),
            batches.load(Ordering::SeqCst),
        );
        assert_eq!(
            batches_before,
            u32::from(point == CrashPoint::DuringBatchProof),
            "{point:?}: the first batch proof is stopped before it starts, or made and lost"
        );
        // The store is free once the operator and everything holding it are gone.
        drop(op);
        tokio::time::sleep(Duration::from_millis(500)).await;
        cfg.crash_at = None;
        let op = Operator::start_with(cfg, ks[0].clone(), counting.clone()).await?;
        check_end(&anvil, rollup, &rpc_of(&op)?, nonce_before).await?;
        let finalized = Rollup::new(
            rollup,
            ProviderBuilder::new().connect_http(anvil.endpoint_url()),
        )
        .lastFinalizedBatch()
        .call()
        .await?;
        let finalized = u32::try_from(finalized)?;
        assert_eq!(
            chunks.load(Ordering::SeqCst),
            finalized,
            "{point:?}: every one-chunk batch's chunk proof made once ({chunks_before} before the crash)"
        );
        assert_eq!(
            batches.load(Ordering::SeqCst),
            finalized + batches_before,
            "{point:?}: every batch proof made once, the lost one twice"
        );
        op.stop().await?;
        std::fs::remove_dir_all(&data)?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_l1_and_paused_mining_are_survived() -> Result {
    support::logs();
    let anvil = support::anvil()?;
    let ks = keys(&anvil);
    let rollup = deploy_rollup(&anvil)?;
    let nonce_before = operator_nonce(&anvil).await?;
    let upstream: SocketAddr = format!("127.0.0.1:{}", anvil.port()).parse()?;
    let (link, up) = support::cuttable_link(upstream).await?;
    let data = std::env::temp_dir().join(format!("operator-outage-{}", std::process::id()));
    let mut cfg = config(link, rollup, anvil.chain_id(), &data);
    cfg.bump_after_ms = 1_000;
    let op = support::start(cfg, ks[0].clone()).await?;
    let rpc = rpc_of(&op)?;

    // The L1 link is cut for three seconds while the first deposit is being ingested.
    deposit_eth(&anvil, rollup, &ks[1], DEPOSITS[0]).await?;
    up.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(!op.stopped(), "the operator gave up on a transient outage");
    up.store(true, Ordering::SeqCst);

    // Mining stops after the second deposit: the submitter's transactions wait in the pool and
    // are resent with higher fees; mining resumes and they land, each step once.
    deposit_eth(&anvil, rollup, &ks[2], DEPOSITS[1]).await?;
    on_l2(&rpc, 2, DEPOSITS[1]).await?;
    let l1 = ProviderBuilder::new().connect_http(anvil.endpoint_url());
    l1.raw_request::<_, ()>("evm_setAutomine".into(), (false,))
        .await?;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(
        !op.stopped(),
        "the operator gave up while mining was paused"
    );
    l1.raw_request::<_, ()>("evm_setAutomine".into(), (true,))
        .await?;
    l1.raw_request::<_, Value>("evm_mine".into(), ()).await?;
    check_end(&anvil, rollup, &rpc, nonce_before).await?;
    op.stop().await?;
    std::fs::remove_dir_all(&data)?;
    Ok(())
}

/// Makes the deposits, pauses mining, mines the operator's commits as they come, and returns a
/// provider and the operator's first pending finalize as the pool shows it (mining still paused).
async fn first_finalize_in_the_pool(
    anvil: &AnvilInstance,
    rollup: Address,
    ks: &[alloy::signers::local::PrivateKeySigner],
) -> Result<(alloy::providers::RootProvider, Value)> {
    use alloy::sol_types::SolCall;
    use rollup_bindings::irollup::IRollup;

    for (i, amount) in DEPOSITS.iter().enumerate() {
        deposit_eth(anvil, rollup, &ks[i + 1], *amount).await?;
    }
    let l1 = ProviderBuilder::new()
        .connect_http(anvil.endpoint_url())
        .root()
        .clone();
    l1.raw_request::<_, ()>("evm_setAutomine".into(), (false,))
        .await?;
    let operator = ks.first().ok_or("no operator key")?.address();
    let finalize = wait_for(
        "the operator's finalize in the pool",
        Duration::from_secs(1_800),
        || {
            let l1 = l1.clone();
            async move {
                if pending_call(&l1, operator, IRollup::commitBatchCall::SELECTOR)
                    .await?
                    .is_some()
                {
                    l1.raw_request::<_, Value>("evm_mine".into(), ()).await?;
                }
                pending_call(&l1, operator, IRollup::finalizeBatchCall::SELECTOR).await
            }
        },
    )
    .await?;
    Ok((l1, finalize))
}

/// A `0x` quantity of a transaction as the pool shows it.
fn hex_field(tx: &Value, key: &str) -> Result<u128> {
    let hex = tx[key].as_str().ok_or_else(|| format!("no {key}"))?;
    Ok(u128::from_str_radix(hex.trim_start_matches("0x"), 16)?)
}

/// The operator's pending transaction whose calldata starts with `selector`, if there is one.
async fn pending_call(
    l1: &impl Provider,
    from: Address,
    selector: [u8; 4],
) -> Result<Option<Value>> {
    let pool: Value = l1.raw_request("txpool_content".into(), ()).await?;
    let Some(txs) = pool["pending"]
        .as_object()
        .and_then(|p| {
            p.iter()
                .find(|(a, _)| a.parse::<Address>().ok() == Some(from))
        })
        .and_then(|(_, txs)| txs.as_object())
    else {
        return Ok(None);
    };
    let want = format!("0x{}", alloy::hex::encode(selector));
    Ok(txs
        .values()
        .find(|tx| tx["input"].as_str().is_some_and(|i| i.starts_with(&want)))
        .cloned())
}

/// `finalizeBatch` is permissionless: a third party copies the operator's pending finalize and lands it
/// first (a higher tip in the same block), so the operator's own transaction reverts on chain. The
/// operator must read L1 again, see the step done, and carry on: no stop, the expected root, and still
/// one transaction of its own per step.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finalize_landed_by_someone_else_first_counts_as_done() -> Result {
    use alloy::network::{EthereumWallet, TransactionBuilder};
    use alloy::rpc::types::TransactionRequest;

    support::logs();
    let anvil = support::anvil()?;
    let ks = keys(&anvil);
    let rollup = deploy_rollup(&anvil)?;
    let nonce_before = operator_nonce(&anvil).await?;
    let data = std::env::temp_dir().join(format!("operator-frontrun-{}", std::process::id()));
    let cfg = config(anvil.endpoint(), rollup, anvil.chain_id(), &data);
    let op = support::start(cfg, ks[0].clone()).await?;
    let rpc = rpc_of(&op)?;
    let (l1, finalize) = first_finalize_in_the_pool(&anvil, rollup, &ks).await?;
    // Copy it.
    let input: alloy::primitives::Bytes = finalize["input"].as_str().ok_or("input")?.parse()?;
    let tip = hex_field(&finalize, "maxPriorityFeePerGas")?;
    let fee_cap = hex_field(&finalize, "maxFeePerGas")?;
    let other = ProviderBuilder::new()
        .wallet(EthereumWallet::from(ks[3].clone()))
        .connect_http(anvil.endpoint_url());
    let copy = TransactionRequest::default()
        .with_to(rollup)
        .with_input(input)
        .with_gas_limit(3_000_000)
        .with_max_priority_fee_per_gas(tip * 2 + 1)
        .with_max_fee_per_gas(fee_cap * 2 + 1);
    let copied = other.send_transaction(copy).await?;
    l1.raw_request::<_, Value>("evm_mine".into(), ()).await?;
    let receipt = copied.get_receipt().await?;
    assert!(receipt.status(), "the third party's finalize landed");
    l1.raw_request::<_, ()>("evm_setAutomine".into(), (true,))
        .await?;
    check_end(&anvil, rollup, &rpc, nonce_before).await?;
    assert!(
        !op.stopped(),
        "the operator stopped on a step someone else did"
    );
    op.stop().await?;
    std::fs::remove_dir_all(&data)?;
    Ok(())
}

/// Another process with the operator's key takes the nonce of the operator's pending finalize (its
/// transaction dropped from the pool, another one mined under that nonce): the stored finalize can
/// never land. The operator sees the nonce used twice in a row with no receipt of its own, drops
/// the stored transaction, signs the step again, and ends at the expected root with no stop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_transaction_whose_nonce_another_took_is_signed_again() -> Result {
    use alloy::network::{EthereumWallet, TransactionBuilder};
    use alloy::rpc::types::TransactionRequest;

    support::logs();
    let anvil = support::anvil()?;
    let ks = keys(&anvil);
    let rollup = deploy_rollup(&anvil)?;
    let nonce_before = operator_nonce(&anvil).await?;
    let data = std::env::temp_dir().join(format!("operator-nonce-taken-{}", std::process::id()));
    let cfg = config(anvil.endpoint(), rollup, anvil.chain_id(), &data);
    let op = support::start(cfg, ks[0].clone()).await?;
    let rpc = rpc_of(&op)?;
    let (l1, finalize) = first_finalize_in_the_pool(&anvil, rollup, &ks).await?;
    let operator = ks[0].address();
    let nonce = u64::try_from(hex_field(&finalize, "nonce")?)?;
    let hash = finalize["hash"].as_str().ok_or("hash")?.to_string();
    l1.raw_request::<_, Value>("anvil_dropTransaction".into(), (hash,))
        .await?;
    let other = ProviderBuilder::new()
        .wallet(EthereumWallet::from(ks[0].clone()))
        .connect_http(anvil.endpoint_url());
    let taken = other
        .send_transaction(
            TransactionRequest::default()
                .with_to(operator)
                .with_nonce(nonce)
                .with_gas_limit(21_000),
        )
        .await?;
    l1.raw_request::<_, Value>("evm_mine".into(), ()).await?;
    assert!(taken.get_receipt().await?.status());
    l1.raw_request::<_, ()>("evm_setAutomine".into(), (true,))
        .await?;
    check_end_with(&anvil, rollup, &rpc, nonce_before, 1).await?;
    assert!(
        !op.stopped(),
        "the operator stopped on a nonce someone else used"
    );
    op.stop().await?;
    std::fs::remove_dir_all(&data)?;
    Ok(())
}

/// A reorg deeper than the watcher's confirmations takes back a deposit the operator already
/// took: the operator stops with [`Error::RequestGone`] before proving anything L1 never asked for
/// (the reorg also takes back every batch it committed). `operator revert` then takes the
/// sealed chunks apart and leaves the request out; restarted, the operator takes the requests L1
/// does hold and ends at the root an uninterrupted run reaches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_reorganised_away_stops_the_operator_until_reverted() -> Result {
    support::logs();
    let anvil = support::anvil()?;
    let ks = keys(&anvil);
    let rollup = deploy_rollup(&anvil)?;
    let data = std::env::temp_dir().join(format!("operator-reorg-request-{}", std::process::id()));
    let cfg = config(anvil.endpoint(), rollup, anvil.chain_id(), &data);
    // Everything the operator sends to L1 (its first batch) is taken back with the deposit.
    let l1 = ProviderBuilder::new().connect_http(anvil.endpoint_url());
    let before: U256 = l1.raw_request("evm_snapshot".into(), ()).await?;
    let mut op = support::start(cfg.clone(), ks[0].clone()).await?;
    let rpc = rpc_of(&op)?;
    deposit_eth(&anvil, rollup, &ks[1], DEPOSITS[0]).await?;
    on_l2(&rpc, 1, DEPOSITS[0]).await?;
    assert!(
        l1.raw_request::<_, bool>("evm_revert".into(), (before,))
            .await?
    );
    for _ in 0..3 {
        l1.raw_request::<_, Value>("evm_mine".into(), ()).await?;
    }
    let stopped = tokio::time::timeout(Duration::from_secs(60), op.wait()).await?;
    assert!(
        matches!(stopped, Err(Error::RequestGone { index: 1, .. })),
        "{stopped:?}"
    );
    drop((op, rpc));
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Whatever L1 still holds of the operator's batches (the fee account's batch, if the operator sent
    // it again before it stopped) is kept: the revert needs no owner.
    let keep = u64::try_from(Rollup::new(rollup, &l1).lastCommittedBatch().call().await?)?;
    let request = rollup_operator::revert::Request {
        keep,
        ..Default::default()
    };
    let Outcome::Done(done) = revert(&cfg, &request, None).await? else {
        return Err("nothing above the kept batch is on L1: the revert needs no owner".into());
    };
    assert_eq!(done.requests_gone, vec![1]);
    assert_eq!(done.l1_transaction, None);
    assert_eq!(
        done.requeued,
        usize::from(keep == 0),
        "the fee account's request goes back unless its batch is kept"
    );
    let op = support::start(cfg, ks[0].clone()).await?;
    for (i, amount) in DEPOSITS.iter().enumerate() {
        deposit_eth(&anvil, rollup, &ks[i + 1], *amount).await?;
    }
    let rpc = rpc_of(&op)?;
    settled(&anvil, rollup, &rpc).await?;
    assert_eq!(
        Rollup::new(rollup, &l1).stateRoot().call().await?,
        expected_root(&anvil)?
    );
    op.stop().await?;
    std::fs::remove_dir_all(&data)?;
    Ok(())
}

/// A reorg takes back a step the operator had recorded as done: with mining paused, blocks are
/// mined one at a time until the operator's `step` call waits in the pool; the chain is saved,
/// mined until the first batch is recorded `recorded`, and put back. The submitter sees L1 behind
/// its book, sends the step again, and the run ends in the state an uninterrupted one reaches,
/// without the operator stopping.
async fn a_step_reorganised_away_is_sent_again(step: &str, recorded: BatchStatus) -> Result {
    use alloy::sol_types::SolCall;
    use rollup_bindings::irollup::IRollup;

    support::logs();
    let anvil = support::anvil()?;
    let ks = keys(&anvil);
    let rollup = deploy_rollup(&anvil)?;
    let data = std::env::temp_dir().join(format!("operator-reorg-{step}-{}", std::process::id()));
    let cfg = config(anvil.endpoint(), rollup, anvil.chain_id(), &data);
    // For the commit, the transfer's batch proof is held back until the commit is taken back, so
    // that the finalize cannot follow it into the blocks the reorg removes.
    let release = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(step != "commit"));
    let transfer_batch = DEPOSITS.len() as u64 + 2;
    let backend = std::sync::Arc::new(support::Wrapped {
        inner: support::prover(&cfg)?,
        prove: {
            let release = release.clone();
            move |task: &ProofTask, inner: &dyn Backend| {
                if task.kind() == ProofKind::Batch && task.index() == transfer_batch {
                    while !release.load(Ordering::SeqCst) {
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
                inner.prove(task)
            }
        },
    });
    let op = Operator::start_with(cfg, ks[0].clone(), backend).await?;
    let rpc = rpc_of(&op)?;
    for (i, amount) in DEPOSITS.iter().enumerate() {
        deposit_eth(&anvil, rollup, &ks[i + 1], *amount).await?;
    }
    // The requests' batches all done; then, with mining by hand, an L2 transfer makes one more
    // batch, whose step is taken back.
    settled(&anvil, rollup, &rpc).await?;
    let l1 = ProviderBuilder::new().connect_http(anvil.endpoint_url());
    l1.raw_request::<_, ()>("evm_setAutomine".into(), (false,))
        .await?;
    let transfer = rollup_protocol::tx::Transfer {
        from: 1,
        to: 2,
        token: 0,
        amount: 100,
        fee: 0,
        nonce: 0,
    }
    .sign(&l2_key(&ks[1])?, anvil.chain_id());
    rpc.send_transaction(transfer).await?;
    let selector = match step {
        "commit" => IRollup::commitBatchCall::SELECTOR,
        _ => IRollup::finalizeBatchCall::SELECTOR,
    };
    let operator = ks[0].address();
    wait_for("the operator's call", Duration::from_secs(1_800), || {
        let l1 = l1.clone();
        async move {
            let pending = pending_call(&l1, operator, selector).await?;
            if pending.is_none() {
                l1.raw_request::<_, Value>("evm_mine".into(), ()).await?;
            }
            Ok(pending.map(|_| ()))
        }
    })
    .await?;
    // The pending call is the step of the batch after the last one L1 shows it done for.
    let r = Rollup::new(rollup, &l1);
    let done_on_l1 = || async {
        Ok::<_, Box<dyn std::error::Error>>(match step {
            "commit" => r.lastCommittedBatch().call().await?,
            _ => r.lastFinalizedBatch().call().await?,
        })
    };
    let done_before = done_on_l1().await?;
    let batch = u64::try_from(done_before)? + 1;
    let before: U256 = l1.raw_request("evm_snapshot".into(), ()).await?;
    wait_for("the step recorded", Duration::from_secs(120), || {
        let (l1, rpc) = (l1.clone(), rpc.clone());
        async move {
            l1.raw_request::<_, Value>("evm_mine".into(), ()).await?;
            let batches = rpc.status().await?.batches;
            Ok(batches
                .iter()
                .find(|b| b.index == batch && b.status >= recorded)
                .map(|_| ()))
        }
    })
    .await?;
    assert!(
        l1.raw_request::<_, bool>("evm_revert".into(), (before,))
            .await?
    );
    assert_eq!(
        done_on_l1().await?,
        done_before,
        "the {step} of batch {batch} is gone from L1"
    );
    assert_eq!(batch, transfer_batch);
    release.store(true, Ordering::SeqCst);
    l1.raw_request::<_, ()>("evm_setAutomine".into(), (true,))
        .await?;
    l1.raw_request::<_, Value>("evm_mine".into(), ()).await?;
    // The operator sees the step gone on its next look at L1 and sends it again; the transfer is not
    // an L1 request, so `settled` alone would not wait for it.
    wait_for("the transfer's batch finalized again", Duration::from_secs(300), || {
        let r = r.clone();
        async move {
            Ok((r.lastFinalizedBatch().call().await? >= U256::from(batch)).then_some(()))
        }
    })
    .await?;
    let batches = settled(&anvil, rollup, &rpc).await?;
    assert_eq!(batches, batch, "the transfer's batch is the last");
    assert_eq!(
        format!("{:#066x}", r.stateRoot().call().await?),
        rpc.status().await?.root,
        "L1 ends at the operator's root, the transfer included"
    );
    assert_ne!(r.stateRoot().call().await?, expected_root(&anvil)?);
    assert!(
        !op.stopped(),
        "the operator stopped on a reorg it can repair"
    );
    op.stop().await?;
    std::fs::remove_dir_all(&data)?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_reorganised_away_is_sent_again() -> Result {
    a_step_reorganised_away_is_sent_again("commit", BatchStatus::Committed).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finalize_reorganised_away_is_sent_again() -> Result {
    a_step_reorganised_away_is_sent_again("finalize", BatchStatus::Finalized).await
}

/// A committed batch holds a transfer no proof can be made for: the operator stops after its
/// attempts, pointing at `operator revert`. An L1 request cannot be dropped. Without the owner's
/// key the revert returns the owner's call, and from then on the operator refuses to start; the
/// owner sends the call (as a multisig would), the revert is run again and rewinds the store,
/// dropping the chunk's transfer. Restarted with a working prover, the operator seals, proves and
/// commits the rest again, L1 ends at the root without the transfer, and the transfer is refused
/// if sent again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_that_can_never_finalize_is_reverted_and_sequenced_again() -> Result {
    use alloy::network::{EthereumWallet, TransactionBuilder};
    use alloy::rpc::types::TransactionRequest;
    use alloy::sol_types::SolCall;
    use rollup_bindings::irollup::IRollup;
    use rollup_operator::revert::Request;
    use rollup_protocol::tx::Transfer;

    support::logs();
    let anvil = support::anvil()?;
    let ks = keys(&anvil);
    let rollup = deploy_rollup(&anvil)?;
    let data = std::env::temp_dir().join(format!("operator-revert-{}", std::process::id()));
    let cfg = config(anvil.endpoint(), rollup, anvil.chain_id(), &data);
    // Four one-slot chunks (the fee account's request, two deposits, the transfer), each a batch
    // of its own: the committed verifier's batch proof holds one chunk.
    let poison = Transfer {
        from: 1,
        to: 2,
        token: 0,
        amount: 400,
        fee: 0,
        nonce: 0,
    }
    .sign(&l2_key(&ks[1])?, anvil.chain_id());
    let release = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Fails the transfer's chunk (holding it back until `release`, then as a circuit bug would);
    // proves every other task.
    let backend = std::sync::Arc::new(support::Wrapped {
        inner: support::prover(&cfg)?,
        prove: {
            let release = release.clone();
            move |task: &ProofTask, inner: &dyn Backend| {
                let poisoned = task
                    .chunk()
                    .is_some_and(|chunk| chunk.witnesses.iter().any(|w| w.tx == poison));
                if poisoned {
                    while !release.load(Ordering::SeqCst) {
                        std::thread::sleep(Duration::from_millis(100));
                    }
                    return Err(rollup_prover::ProverError::InvalidProof);
                }
                inner.prove(task)
            }
        },
    });
    let mut op = Operator::start_with(cfg.clone(), ks[0].clone(), backend).await?;
    let rpc = rpc_of(&op)?;
    for (i, amount) in DEPOSITS.iter().enumerate() {
        deposit_eth(&anvil, rollup, &ks[i + 1], *amount).await?;
    }
    on_l2(&rpc, 2, DEPOSITS[1]).await?;
    let id = rpc.send_transaction(poison).await?;
    // The transfer's batch committed on L1, then its proof fails.
    let l1 = ProviderBuilder::new().connect_http(anvil.endpoint_url());
    let r = Rollup::new(rollup, &l1);
    let (batch, chunk) = wait_for(
        "the transfer's batch committed",
        Duration::from_secs(1_800),
        || {
            let (rpc, r, id) = (rpc.clone(), r.clone(), id.clone());
            async move {
                let status = rpc.get_transaction_status(id).await?;
                let (Some(batch), Some(chunk)) = (status.batch, status.chunk) else {
                    return Ok(None);
                };
                Ok((r.lastCommittedBatch().call().await? >= U256::from(batch))
                    .then_some((batch, chunk)))
            }
        },
    )
    .await?;
    assert_eq!(batch, 4, "every one-slot chunk is a batch of its own");
    release.store(true, Ordering::SeqCst);
    let stopped = tokio::time::timeout(Duration::from_secs(120), op.wait()).await?;
    let message = format!("{stopped:?}");
    assert!(
        matches!(stopped, Err(Error::Proof(_))) && message.contains("operator revert"),
        "{message}"
    );
    // The store is free once the operator and the RPC connections holding it are gone.
    drop((op, rpc));
    tokio::time::sleep(Duration::from_millis(500)).await;

    let keep = batch - 1;
    let request = |drop: Vec<String>, drop_chunks: Vec<u64>| Request {
        keep,
        drop,
        drop_chunks,
    };
    let refused = revert(
        &cfg,
        &request(vec!["l1:1".into()], vec![]),
        Some(ks[0].clone()),
    )
    .await;
    assert!(
        matches!(&refused, Err(Error::Revert(m)) if m.contains("above the kept batch")),
        "{refused:?}"
    );
    let calldata = match revert(&cfg, &request(vec![id.clone()], vec![]), None).await? {
        Outcome::OwnerCall {
            rollup: to,
            calldata,
        } => {
            assert_eq!(to, rollup);
            let call = IRollup::revertBatchesCall::abi_decode(&calldata)?;
            assert_eq!(call.lastKeptBatch, U256::from(keep));
            calldata
        }
        other => return Err(format!("expected the owner's call, got {other:?}").into()),
    };
    assert_eq!(
        r.lastCommittedBatch().call().await?,
        U256::from(batch),
        "nothing sent without the owner's key"
    );
    let blocked = Operator::start_with(cfg.clone(), ks[0].clone(), support::prover(&cfg)?).await;
    assert!(
        matches!(&blocked, Err(Error::Revert(m)) if m.contains("started and not finished")),
        "{blocked:?}"
    );
    // The owner (here anvil's first key, as a multisig would) sends the call; the revert finishes
    // without a key, dropping every L2 transaction of the chunk that failed.
    let owner = ProviderBuilder::new()
        .wallet(EthereumWallet::from(ks[0].clone()))
        .connect_http(anvil.endpoint_url());
    let sent = owner
        .send_transaction(
            TransactionRequest::default()
                .with_to(rollup)
                .with_input(calldata),
        )
        .await?
        .get_receipt()
        .await?;
    assert!(sent.status());
    let Outcome::Done(done) = revert(&cfg, &request(vec![], vec![chunk]), None).await? else {
        return Err("the revert did not finish".into());
    };
    assert_eq!(done.l1_transaction, None, "the owner sent it");
    assert_eq!(done.dropped, vec![id.clone()]);
    assert_eq!(done.chunks_unsealed, vec![3]);
    assert_eq!(done.requeued, 0, "the batch held no request");
    assert!(done.rejected.is_empty(), "{:?}", done.rejected);
    assert_eq!(r.lastCommittedBatch().call().await?, U256::from(keep));
    // Run again: L1 and the store are already rewound, so there is nothing left to revert.
    let again = revert(&cfg, &request(vec![], vec![]), Some(ks[0].clone())).await;
    assert!(
        matches!(&again, Err(Error::Revert(m)) if m.contains("nothing above")),
        "{again:?}"
    );

    let op = support::start(cfg, ks[0].clone()).await?;
    let rpc = rpc_of(&op)?;
    settled(&anvil, rollup, &rpc).await?;
    assert_eq!(r.stateRoot().call().await?, expected_root(&anvil)?);
    assert_eq!(rpc.get_balance(1, 0).await?, DEPOSITS[0].to_string());
    let resent = rpc.send_transaction(poison).await;
    assert!(
        format!("{resent:?}").contains("dropped by an operator revert"),
        "{resent:?}"
    );
    op.stop().await?;
    std::fs::remove_dir_all(&data)?;
    Ok(())
}

/// A batch posted in a blob whose proof is not ready when L1's finalization window closes: the
/// submitter stops (whether or not the proof is ready: a stalled prover is the case), rather than
/// send a finalization L1 would revert (`BlobFinalizeWindowPassed`), and names the way out; nothing
/// is finalized.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blob_batch_past_its_finalization_window_stops_the_operator_with_the_way_out() -> Result {
    use rollup_operator::batches::DataMode;
    use rollup_protocol::constants::BLOB_FINALIZE_WINDOW_SECS;

    support::logs();
    let anvil = support::anvil()?;
    let ks = keys(&anvil);
    let rollup = deploy_rollup(&anvil)?;
    let data = std::env::temp_dir().join(format!("operator-blob-window-{}", std::process::id()));
    let mut cfg = config(anvil.endpoint(), rollup, anvil.chain_id(), &data);
    cfg.data = DataMode::Blob;
    let release = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Every proof waits for `release`: the first batch (the fee account's request) is committed
    // and then sits unproven while L1's clock moves past its window.
    let backend = std::sync::Arc::new(support::Wrapped {
        inner: support::prover(&cfg)?,
        prove: {
            let release = release.clone();
            move |task: &ProofTask, inner: &dyn Backend| {
                while !release.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(100));
                }
                inner.prove(task)
            }
        },
    });
    let mut op = Operator::start_with(cfg, ks[0].clone(), backend).await?;
    let l1 = ProviderBuilder::new().connect_http(anvil.endpoint_url());
    let r = Rollup::new(rollup, &l1);
    wait_for("batch 1 committed", Duration::from_secs(300), || {
        let r = r.clone();
        async move { Ok((r.lastCommittedBatch().call().await? >= U256::from(1)).then_some(())) }
    })
    .await?;
    let committed_at = r.batch(U256::from(1)).call().await?.blobCommittedAt;
    assert_ne!(committed_at, 0, "batch 1 was posted in a blob");
    l1.raw_request::<_, Value>("evm_increaseTime".into(), (BLOB_FINALIZE_WINDOW_SECS + 1,))
        .await?;
    l1.raw_request::<_, Value>("evm_mine".into(), ()).await?;
    release.store(true, Ordering::SeqCst);
    let stopped = tokio::time::timeout(Duration::from_secs(1_200), op.wait()).await?;
    let message = format!("{stopped:?}");
    assert!(
        matches!(&stopped, Err(Error::Refused { step, .. }) if step == "finalize:1")
            && message.contains("operator revert --to 0"),
        "{message}"
    );
    assert_eq!(r.lastFinalizedBatch().call().await?, U256::ZERO);
    drop(op);
    tokio::time::sleep(Duration::from_millis(500)).await;
    std::fs::remove_dir_all(&data)?;
    Ok(())
}
