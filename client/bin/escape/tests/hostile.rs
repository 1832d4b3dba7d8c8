//! The `escape` command line against bad L1 RPCs, through the harness's proxy in front of a real
//! anvil with the real contracts: each case asserts what a user sees (the exit status, the
//! message, the result) and that no transaction is ever signed for a chain the user did not name.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use alloy::primitives::Address;
use alloy::providers::{Provider, ProviderBuilder};
use rollup_test_utils::proxy::{Act, Proxy, Script, honest};
use rollup_test_utils::{self as harness, Result, hex_key};

struct Setup {
    anvil: alloy::node_bindings::AnvilInstance,
    rollup: Address,
    key: String,
    user: Address,
    dir: PathBuf,
}

/// A deployment with one deposit of `amount` wei and `blocks` empty blocks after it.
async fn setup(name: &str, amount: u64, blocks: u64) -> Result<Setup> {
    let anvil = harness::anvil()?;
    let rollup = harness::deploy_rollup(&anvil)?;
    let users = harness::keys(&anvil);
    harness::deposit_eth(&anvil, rollup, &users[1], amount).await?;
    if blocks > 0 {
        ProviderBuilder::new()
            .connect_http(anvil.endpoint_url())
            .raw_request::<_, ()>("anvil_mine".into(), (blocks,))
            .await?;
    }
    let dir = std::env::temp_dir().join(format!("escape-hostile-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Setup {
        anvil,
        rollup,
        key: hex_key(&users[1]),
        user: users[1].address(),
        dir,
    })
}

/// Runs `escape <args>` (without blocking the runtime the proxy serves from).
async fn escape(s: &Setup, dir: &Path, rpc: &[&str], args: &[&str]) -> Result<Output> {
    // anvil's `finalized` block lags by 64 blocks: follow the latest unless the case says.
    let follow: &[&str] = if args.contains(&"--confirmations") {
        &[]
    } else {
        &["--confirmations", "0"]
    };
    Ok(tokio::process::Command::new(env!("CARGO_BIN_EXE_escape"))
        .args(args)
        .args(follow)
        .args(["--json", "--rollup"])
        .arg(s.rollup.to_string())
        .arg("--rpc-url")
        .arg(rpc.join(","))
        .arg("--data-dir")
        .arg(dir)
        .env("ESCAPE_PRIVATE_KEY", &s.key)
        .output()
        .await?)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn json(out: &Output) -> Result<serde_json::Value> {
    assert!(out.status.success(), "{}", stderr(out));
    Ok(serde_json::from_slice(&out.stdout)?)
}

#[tokio::test]
async fn an_rpc_on_another_chain_gets_nothing_signed() -> Result {
    let s = setup("chain", 1_000_000, 0).await?;
    // It answers eth_chainId with mainnet's id; everything else is anvil's.
    let liar = Proxy::start(
        &s.anvil.endpoint(),
        Arc::new(|call| match call.method.as_str() {
            "eth_chainId" => Act::Reply("0x1".into()),
            _ => Act::Forward,
        }),
    )
    .await?;
    let deposit = ["deposit", "--amount", "5", "--l1-chain-id", "31337"];
    let out = escape(&s, &s.dir, &[&liar.url], &deposit).await?;
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the RPC serves L1 chain 1, but --l1-chain-id says chain 31337"),
        "{}",
        stderr(&out)
    );
    // Without a chain id and without a synced directory, nothing is signed either.
    let out = escape(&s, &s.dir, &[&liar.url], &["deposit", "--amount", "5"]).await?;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("pass --l1-chain-id"),
        "{}",
        stderr(&out)
    );
    // A directory synced on anvil's chain pins it: the liar is refused for syncing and signing.
    json(&escape(&s, &s.dir, &[&s.anvil.endpoint()], &["sync"]).await?)?;
    for args in [&["sync"][..], &["deposit", "--amount", "5"]] {
        let out = escape(&s, &s.dir, &[&liar.url], args).await?;
        assert_eq!(out.status.code(), Some(4), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("was synced on chain 31337"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    assert_eq!(liar.count("eth_sendRawTransaction"), 0);
    Ok(())
}

#[tokio::test]
async fn a_flaky_capped_rpc_syncs_to_the_same_state_as_a_clean_one() -> Result {
    let s = setup("flaky", 1_000_000, 1_500).await?;
    let clean = json(&escape(&s, &s.dir.join("clean"), &[&s.anvil.endpoint()], &["sync"]).await?)?;
    // 30 % of requests rate-limited (a third of them with Retry-After: 1), eth_getLogs capped at
    // 500 blocks, and one log query that never answers.
    let stalled = Arc::new(AtomicU64::new(0));
    let flaky: Script = Arc::new(move |call| {
        if call.seen % 10 < 3 {
            return Act::TooMany((call.seen % 30 == 0).then_some(1));
        }
        match call.log_range() {
            Some(n) if n > 500 => Act::Error(-32602, "query exceeds max block range 500".into()),
            Some(_) if stalled.fetch_add(1, Ordering::SeqCst) == 0 => Act::Stall,
            _ => Act::Forward,
        }
    });
    let proxy = Proxy::start(&s.anvil.endpoint(), flaky).await?;
    let out = escape(
        &s,
        &s.dir.join("flaky"),
        &[&proxy.url],
        &["sync", "--rpc-timeout", "2"],
    )
    .await?;
    let synced = json(&out)?;
    assert_eq!(synced["stateRoot"], clean["stateRoot"]);
    assert_eq!(synced["block"], clean["block"]);
    assert!(
        proxy.count("eth_getLogs") >= 4,
        "pages of at most 500 blocks"
    );
    Ok(())
}

#[tokio::test]
async fn an_rpc_that_never_answers_runs_out_of_budget_with_exit_status_3() -> Result {
    let s = setup("budget", 1_000_000, 0).await?;
    let down = Proxy::start(&s.anvil.endpoint(), Arc::new(|_| Act::TooMany(None))).await?;
    let out = escape(&s, &s.dir, &[&down.url], &["sync", "--rpc-budget", "3"]).await?;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let message = stderr(&out);
    assert!(message.contains("time budget ran out"), "{message}");
    assert!(!message.contains("Location"), "{message}");
    assert!(!message.contains("is it the rollup's address"), "{message}");
    Ok(())
}

#[tokio::test]
async fn a_consistent_liar_is_caught_by_a_second_rpc() -> Result {
    let s = setup("liar", 1_000_000, 0).await?;
    // Another chain with the same id and the same deployment at the same address, and a history
    // of its own (another deposit): every answer it gives agrees with every other.
    let other = setup("liar-other", 2_000_000, 0).await?;
    assert_eq!(other.rollup, s.rollup);
    let out = escape(
        &s,
        &s.dir,
        &[&other.anvil.endpoint(), &s.anvil.endpoint()],
        &["sync"],
    )
    .await?;
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("one of them is on another fork or lying"),
        "{}",
        stderr(&out)
    );
    // Through honest RPCs that agree, the same command succeeds.
    let proxy = Proxy::start(&s.anvil.endpoint(), honest()).await?;
    let fresh = s.dir.join("agree");
    json(&escape(&s, &fresh, &[&s.anvil.endpoint(), &proxy.url], &["sync"]).await?)?;
    Ok(())
}

#[tokio::test]
async fn unknown_accounts_and_tokens_are_refused() -> Result {
    let s = setup("unknown", 1_000_000, 0).await?;
    json(&escape(&s, &s.dir, &[&s.anvil.endpoint()], &["sync"]).await?)?;
    for (args, message) in [
        (
            &["balance", "--account", "9"][..],
            "account 9 does not exist",
        ),
        (
            &["proof", "--account", "0", "--token", "3"],
            "token 3 is not registered",
        ),
    ] {
        let out = escape(&s, &s.dir, &[&s.anvil.endpoint()], args).await?;
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
    }
    Ok(())
}

#[tokio::test]
async fn a_sync_following_more_confirmations_goes_back_to_settled_blocks() -> Result {
    let s = setup("settle", 1_000_000, 20).await?;
    let latest = json(&escape(&s, &s.dir, &[&s.anvil.endpoint()], &["sync"]).await?)?;
    let args = ["sync", "--confirmations", "10"];
    let settled = json(&escape(&s, &s.dir, &[&s.anvil.endpoint()], &args).await?)?;
    let (a, b) = (latest["block"].as_u64(), settled["block"].as_u64());
    assert_eq!(b.zip(a).map(|(b, a)| a - b), Some(10), "{latest} {settled}");
    Ok(())
}

/// Past the deposit's deadline, `activate-escape` and `reclaim` through an RPC that never serves
/// a receipt: each reads L1's state instead, succeeds, and names no transaction as the one that
/// did it (another sender's may have).
#[tokio::test]
async fn a_send_whose_receipt_is_lost_reports_what_l1_shows() -> Result {
    let s = setup("receipt", 1_000_000, 0).await?;
    json(&escape(&s, &s.dir, &[&s.anvil.endpoint()], &["sync"]).await?)?;
    let plain = ProviderBuilder::new().connect_http(s.anvil.endpoint_url());
    harness::past_every_deadline(&plain).await?;
    let blind = Proxy::start(
        &s.anvil.endpoint(),
        Arc::new(|call| match call.method.as_str() {
            "eth_getTransactionReceipt" => Act::Error(-32601, "method not available".into()),
            _ => Act::Forward,
        }),
    )
    .await?;
    let out = escape(&s, &s.dir, &[&blind.url], &["activate-escape"]).await?;
    let activated = json(&out)?;
    assert_eq!(activated["escapeMode"], true);
    assert_eq!(activated["transaction"], serde_json::Value::Null);
    assert!(
        stderr(&out).contains("L1 shows it done; the receipt of"),
        "{}",
        stderr(&out)
    );
    let user = s.user.to_string();
    let out = escape(&s, &s.dir, &[&blind.url], &["reclaim", "--owner", &user]).await?;
    let reclaimed = json(&out)?;
    let refunded = reclaimed["refunded"].as_array().ok_or("no refunded list")?;
    assert_eq!(refunded.len(), 1, "{reclaimed}");
    assert_eq!(refunded[0]["transaction"], serde_json::Value::Null);
    // The deposit was refunded: its amount is pending for the depositor.
    let rollup = rollup_bindings::rollup::Rollup::new(s.rollup, &plain);
    assert!(
        rollup
            .refunded(alloy::primitives::U256::from(1))
            .call()
            .await?
    );
    assert!(
        rollup.pending(s.user, 0).call().await? >= alloy::primitives::U256::from(1_000_000u64),
        "the deposit is pending for its depositor"
    );
    assert!(blind.count("eth_sendRawTransaction") >= 2);
    Ok(())
}

/// An RPC that is behind (its chain ends below every block the data directory has read) is told
/// apart from a reorg: the sync refuses it and keeps what it derived, instead of rolling back to
/// the deployment block.
#[tokio::test]
async fn an_rpc_behind_the_data_directory_is_refused_not_taken_for_a_reorg() -> Result {
    let s = setup("behind", 1_000_000, 40).await?;
    let synced = json(&escape(&s, &s.dir, &[&s.anvil.endpoint()], &["sync"]).await?)?;
    const CUTOFF: u64 = 10;
    let lagging = Proxy::start(
        &s.anvil.endpoint(),
        Arc::new(|call| {
            let number = call
                .params
                .get(0)
                .and_then(|v| v.as_str())
                .and_then(|h| u64::from_str_radix(h.trim_start_matches("0x"), 16).ok());
            match call.method.as_str() {
                "eth_blockNumber" => Act::Reply(format!("{CUTOFF:#x}").into()),
                "eth_getBlockByNumber" if number.is_some_and(|n| n > CUTOFF) => {
                    Act::Reply(serde_json::Value::Null)
                }
                _ => Act::Forward,
            }
        }),
    )
    .await?;
    let out = escape(&s, &s.dir, &[&lagging.url], &["sync"]).await?;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the RPC is behind"),
        "{}",
        stderr(&out)
    );
    // Nothing was lost: through the node itself the next sync finds the same state at once.
    let again = json(&escape(&s, &s.dir, &[&s.anvil.endpoint()], &["sync"]).await?)?;
    assert_eq!(again["stateRoot"], synced["stateRoot"]);
    assert_eq!(again["block"], synced["block"]);
    assert_eq!(
        lagging.count("eth_getLogs"),
        0,
        "no page was read from the lagging RPC"
    );
    Ok(())
}
