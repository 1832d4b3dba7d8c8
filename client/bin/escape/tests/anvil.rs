//! End to end on anvil with the real contracts and the real verifier: the Foundry fixture's history
//! (deposits made on L1, four one-chunk batches committed and finalized with their real aggregated
//! proofs), then the
//! state re-derived from L1 alone.

use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::primitives::{Address, Bytes, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use rollup_bindings::rollup::IRollup;
use rollup_bindings::rollup::Rollup;
use rollup_escape::derive::Derivation;
use rollup_escape::snapshot::Snapshot;
use rollup_escape::store::DataDir;
use rollup_escape::sync::{Event, Follow, SyncError, SyncOptions, Synced, sync, sync_from};
use rollup_protocol::field::to_u256;
use rollup_test_utils::{self as harness, root};

mod support;

/// How far anvil's `finalized` block lags its head (two epochs of 32 slots, as on mainnet).
const FINALITY_LAG: u64 = 64;

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

fn u256(v: &serde_json::Value) -> Result<U256> {
    Ok(v.as_str().ok_or("not a string")?.parse()?)
}

/// A sync of `dir` to the latest block, `page` blocks per query; what it reported.
async fn sync_latest<P: Provider>(
    provider: &P,
    dir: &std::path::Path,
    rollup: Address,
    chain_id: u64,
    page: u64,
) -> std::result::Result<(Synced, Vec<Event>), SyncError> {
    sync_following(
        provider,
        dir,
        rollup,
        chain_id,
        page,
        Follow::Confirmations(0),
    )
    .await
}

/// A sync of `dir` to the block `follow` names; what it reported.
async fn sync_following<P: Provider>(
    provider: &P,
    dir: &std::path::Path,
    rollup: Address,
    chain_id: u64,
    page: u64,
    follow: Follow,
) -> std::result::Result<(Synced, Vec<Event>), SyncError> {
    let data = DataDir::open(dir)?;
    let options = SyncOptions {
        page,
        follow,
        from_block: None,
        l1_chain_id: None,
        chain_id,
        blob_sources: vec![],
    };
    let mut events = Vec::new();
    let synced = sync(provider, &data, rollup, options, |e| events.push(e)).await?;
    Ok((synced, events))
}

/// State snapshots against the history of [`state_rederived_from_l1_matches_every_finalized_root`]
/// (four finalized batches, synced into `dir`): one of batch 2, taken from the synced data,
/// starts a new data directory that reads L1 from batch 2's commit on and reaches L1's root after
/// batch 4; a snapshot with one wrong balance is refused, whether or not its stated root was
/// changed to match, and so is one that names the wrong block; the command line exports and
/// starts from one; the data directory's own latest state, damaged, is not used.
async fn snapshots<P: Provider>(
    plain: &P,
    rpc: &str,
    dir: &std::path::Path,
    rollup_addr: Address,
    chain_id: u64,
    escape: &dyn Fn(&[&str]) -> Result<serde_json::Value>,
) -> Result {
    let l1_root = Rollup::new(rollup_addr, plain).stateRoot().call().await?;
    let (progress, mut checkpoint) = DataDir::open(dir)?.load()?.ok_or("no sync in dir")?;
    assert!(
        dir.join("state.json").exists(),
        "a sync keeps its latest state"
    );
    checkpoint.batches.truncate(2);
    let at_two = Derivation::from_checkpoint(checkpoint)?;
    let snapshot = Snapshot::of(&at_two, &progress.pin)?;
    assert_eq!(snapshot.batch, 2);
    let fresh = |name: &str| dir.with_extension(name);
    let start = |name: &str, snapshot: Snapshot| {
        let path = fresh(name);
        async move {
            let data = DataDir::open(&path).map_err(SyncError::from)?;
            let options = SyncOptions {
                page: 3,
                follow: Follow::Confirmations(0),
                from_block: None,
                l1_chain_id: None,
                chain_id,
                blob_sources: vec![],
            };
            sync_from(plain, &data, rollup_addr, options, snapshot, |_| {}).await
        }
    };
    let from_two = start("from-two", snapshot.clone()).await?;
    assert_eq!(from_two.derivation.last_batch(), 4);
    assert_eq!(to_u256(&from_two.derivation.state().root()), l1_root);
    assert_eq!(from_two.derivation.state().balance(1, 0), 745);
    // Resumed from its directory (base snapshot and state.json), it is the same state.
    let (_, cp) = DataDir::open(&fresh("from-two"))?
        .load()?
        .ok_or("no sync")?;
    assert_eq!(cp.base, 2);
    let resumed = DataDir::open(&fresh("from-two"))?.derivation(cp.clone())?;
    assert_eq!(to_u256(&resumed.state().root()), l1_root);
    // Without its latest state, it replays batches 3 and 4 from the base snapshot.
    std::fs::remove_file(fresh("from-two").join("state.json"))?;
    let replayed = DataDir::open(&fresh("from-two"))?.derivation(cp)?;
    assert_eq!(replayed.base().batch, 2);
    assert_eq!(to_u256(&replayed.state().root()), l1_root);

    let refused = |e: SyncError, message: &str| {
        assert!(matches!(e, SyncError::Snapshot(_)), "{e}");
        assert!(e.to_string().contains(message), "{e}");
    };
    // One wrong balance: its accounts no longer give the root it states.
    let mut wrong = snapshot.clone();
    let account = wrong
        .accounts
        .iter_mut()
        .find(|a| !a.balances.is_empty())
        .ok_or("no balance")?;
    account.balances[0].amount += 1;
    let e = start("wrong-balance", wrong.clone())
        .await
        .err()
        .ok_or("accepted")?;
    refused(e, "not the root");
    // The same, with the stated root changed to the one its accounts give: L1 finalized another.
    wrong.state_root =
        rollup_protocol::State::from_accounts(wrong.config(), &wrong.accounts)?.root();
    let e = start("wrong-root", wrong.clone())
        .await
        .err()
        .ok_or("accepted")?;
    refused(e, "the snapshot is not of the finalized state");
    // The command line says so with exit status 4 (the data cannot be trusted).
    let wrong_file = fresh("wrong.json");
    wrong.write(&wrong_file)?;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_escape"))
        .args(["sync", "--confirmations", "0", "--snapshot"])
        .arg(&wrong_file)
        .args(["--rollup", &rollup_addr.to_string(), "--data-dir"])
        .arg(fresh("wrong-cli"))
        .args(["--rpc-url", rpc, "--chain-id", &chain_id.to_string()])
        .output()?;
    assert_eq!(out.status.code(), Some(4));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("snapshot refused"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_file(wrong_file);
    // The wrong block for its finalization.
    let mut elsewhere = snapshot.clone();
    elsewhere.finalized_at -= 1;
    let e = start("wrong-block", elsewhere)
        .await
        .err()
        .ok_or("accepted")?;
    refused(e, "no BatchFinalized log of batch 2");
    // A finalization it claims above the settled head.
    let mut ahead = snapshot.clone();
    ahead.finalized_at = plain.get_block_number().await? + 100;
    let e = start("ahead", ahead).await.err().ok_or("accepted")?;
    refused(e, "above the settled head");
    assert!(
        !fresh("wrong-root").join("progress.json").exists(),
        "a refused snapshot leaves no sync behind"
    );

    // The command line: export the synced state, start another directory from the file.
    let file = fresh("snapshot.json");
    let exported = escape(&["snapshot", "export", "--out", file.to_str().ok_or("path")?])?;
    assert_eq!(exported["batch"], 4);
    let data_dir = fresh("cli");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_escape"))
        .args(["sync", "--json", "--confirmations", "0", "--snapshot"])
        .arg(&file)
        .args(["--rollup", &rollup_addr.to_string(), "--data-dir"])
        .arg(&data_dir)
        .args(["--rpc-url", rpc])
        .args(["--chain-id", &chain_id.to_string()])
        .output()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let synced: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(synced["lastFinalizedBatch"], 4);
    assert_eq!(synced["stateRoot"], exported["stateRoot"]);

    // A damaged state.json (one balance changed) is not used: the history is replayed instead.
    let latest = dir.join("state.json");
    let mut damaged = Snapshot::read(&latest)?;
    damaged.accounts[1].balances[0].amount += 1;
    damaged.write(&latest)?;
    assert_eq!(escape(&["balance", "--account", "1"])?["balance"], "745");
    for name in [
        "from-two",
        "wrong-balance",
        "wrong-root",
        "wrong-block",
        "ahead",
        "wrong-cli",
        "cli",
    ] {
        let _ = std::fs::remove_dir_all(fresh(name));
    }
    let _ = std::fs::remove_file(file);
    Ok(())
}

#[tokio::test]
async fn state_rederived_from_l1_matches_every_finalized_root() -> Result {
    let fixture: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(
        root().join("contracts/test/vectors/batch_proofs.json"),
    )?)?;
    let accounts = fixture["accounts"].as_array().ok_or("accounts")?;
    let fixture_batches = fixture["batches"].as_array().ok_or("batches")?;

    let anvil = harness::anvil()?;
    let key = harness::keys(&anvil).first().ok_or("no anvil key")?.clone();
    let rollup_addr = harness::deploy_rollup_with(
        &anvil,
        &[(
            "FEE_RECIPIENT",
            accounts[0]["owner"].as_str().ok_or("owner")?.to_string(),
        )],
    )?;
    let sequencer = ProviderBuilder::new()
        .wallet(EthereumWallet::from(key.clone()))
        .connect_http(anvil.endpoint_url());
    let rollup = Rollup::new(rollup_addr, &sequencer);

    // The fixture's users deposit from their own addresses (impersonated on anvil).
    let plain = ProviderBuilder::new().connect_http(anvil.endpoint_url());
    for a in &accounts[1..] {
        let owner: Address = a["owner"].as_str().ok_or("owner")?.parse()?;
        let amount = U256::from(a["amount"].as_u64().ok_or("amount")?);
        plain
            .raw_request::<_, ()>(
                "anvil_setBalance".into(),
                (owner, U256::from(10u64).pow(U256::from(18u64))),
            )
            .await?;
        plain
            .raw_request::<_, ()>("anvil_impersonateAccount".into(), (owner,))
            .await?;
        let call = rollup
            .depositEth(u256(&a["pubkeyX"])?, u256(&a["pubkeyY"])?)
            .calldata()
            .clone();
        let fee = rollup.requestFee(owner).call().await?;
        let tx = TransactionRequest::default()
            .with_from(owner)
            .with_to(rollup_addr)
            .with_value(amount + fee)
            .with_input(call);
        assert!(
            plain
                .send_transaction(tx)
                .await?
                .get_receipt()
                .await?
                .status()
        );
    }

    // The sequencer commits the first two batches and finalizes them with their real proofs; the
    // escape client syncs in between, while the second batch is committed but not finalized.
    let dir = std::env::temp_dir().join(format!("rollup-escape-anvil-{}", std::process::id()));
    let chain_id = fixture["chainId"].as_u64().ok_or("chainId")?;
    type Commit = (U256, Bytes, U256);
    type Finalize = (U256, IRollup::DataBinding, U256, Bytes);
    let calls = |(i, b): (usize, &serde_json::Value)| -> Result<(Commit, Finalize)> {
        let data: Bytes = b["pubdata"].as_str().ok_or("pubdata")?.parse()?;
        let binding = IRollup::DataBinding {
            commitment: u256(&b["binding"][0])?,
            challenge: u256(&b["binding"][1])?,
            l1Evaluation: u256(&b["binding"][2])?,
            blobEvaluation: u256(&b["binding"][3])?,
        };
        let commitment = binding.commitment;
        let proof: Bytes = b["proof"].as_str().ok_or("proof")?.parse()?;
        Ok((
            (U256::from(i + 1), data, commitment),
            (U256::from(i + 1), binding, u256(&b["newStateRoot"])?, proof),
        ))
    };
    let all = fixture_batches
        .iter()
        .enumerate()
        .map(calls)
        .collect::<Result<Vec<_>>>()?;
    let mut commits = Vec::new();
    let mut batches = Vec::new();
    for (commit, finalize) in all.iter().take(2).cloned() {
        assert!(
            rollup
                .commitBatch(commit.0, commit.1.clone(), commit.2)
                .send()
                .await?
                .get_receipt()
                .await?
                .status()
        );
        commits.push(commit);
        batches.push(finalize);
    }
    let finalize = |(index, binding, root, proof): Finalize| {
        let rollup = &rollup;
        async move {
            let receipt = rollup
                .finalizeBatch(index, binding, root, proof)
                .send()
                .await?
                .get_receipt()
                .await?;
            Ok::<_, Box<dyn std::error::Error>>(receipt.status())
        }
    };
    let mut batches = batches.into_iter();
    let batch1 = batches.next().ok_or("batch 1")?;
    assert!(finalize(batch1.clone()).await?);

    // First sync: batch 1 finalized, batch 2 only committed (pages of two blocks).
    let (synced, events) = sync_latest(&plain, &dir, rollup_addr, chain_id, 2).await?;
    let pages = events
        .iter()
        .filter(|e| matches!(e, Event::Page { .. }))
        .count();
    let d = synced.derivation;
    assert_eq!(d.last_batch(), 1);
    assert_eq!(to_u256(&d.state().root()), rollup.stateRoot().call().await?);
    assert!(pages > 1, "the blocks were read in pages");

    // A reorg takes back the last two blocks: batch 2's commit, which the client holds as pending,
    // and batch 1's finalization. Both land again in new blocks at the same heights (sent through a
    // new provider, as the first one's cached nonce is past the reorg, which leaves it right again
    // afterwards). The next sync rolls back to a point still on L1 and agrees with L1 again, with no
    // manual step.
    plain
        .raw_request::<_, ()>("anvil_rollback".into(), (2u64,))
        .await?;
    assert_eq!(rollup.lastFinalizedBatch().call().await?, U256::ZERO);
    let replayed = ProviderBuilder::new()
        .wallet(EthereumWallet::from(key.clone()))
        .connect_http(anvil.endpoint_url());
    let again = Rollup::new(rollup_addr, &replayed);
    let (index2, commit2, commitment2) = commits.get(1).ok_or("batch 2's chunks")?.clone();
    assert!(
        again
            .commitBatch(index2, commit2, commitment2)
            .send()
            .await?
            .get_receipt()
            .await?
            .status()
    );
    let (index, binding, root, proof) = batch1;
    assert!(
        again
            .finalizeBatch(index, binding, root, proof)
            .send()
            .await?
            .get_receipt()
            .await?
            .status()
    );
    let (resynced, events) = sync_latest(&plain, &dir, rollup_addr, chain_id, 2).await?;
    assert!(
        events.iter().any(|e| matches!(e, Event::RolledBack { .. })),
        "{events:?}"
    );
    assert_eq!(resynced.derivation.last_batch(), 1);
    assert_eq!(
        to_u256(&resynced.derivation.state().root()),
        rollup.stateRoot().call().await?
    );

    // Batch 2 is finalized, read, and then taken back by a reorg below the client's head: the
    // next sync sees that the block it stopped at is gone, goes back to its last point still on
    // L1 (batch 1 finalized, batch 2 committed), and agrees with L1 again with no manual step.
    let batch2 = batches.next().ok_or("batch 2")?;
    let before: U256 = plain.raw_request("evm_snapshot".into(), ()).await?;
    assert!(finalize(batch2.clone()).await?);
    let (ahead, _) = sync_latest(&plain, &dir, rollup_addr, chain_id, 2).await?;
    assert_eq!(ahead.derivation.last_batch(), 2);
    assert!(
        plain
            .raw_request::<_, bool>("evm_revert".into(), (before,))
            .await?
    );
    for _ in 0..3 {
        plain
            .raw_request::<_, serde_json::Value>("evm_mine".into(), ())
            .await?;
    }
    let (reorged, events) = sync_latest(&plain, &dir, rollup_addr, chain_id, 2).await?;
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::RolledBack { batches: 1, .. })),
        "{events:?}"
    );
    assert_eq!(
        reorged.derivation.last_batch(),
        1,
        "batch 2's finalization is gone"
    );
    assert_eq!(
        to_u256(&reorged.derivation.state().root()),
        rollup.stateRoot().call().await?
    );

    // Batch 2 is finalized again (through a new provider: the first one's cached nonce is past
    // the reorg); the sync resumes from the data directory, whose commit of batch 2 lies in
    // blocks it does not read again.
    let (index, binding, root, proof) = batch2;
    let resent = ProviderBuilder::new()
        .wallet(EthereumWallet::from(key))
        .connect_http(anvil.endpoint_url());
    let resent = Rollup::new(rollup_addr, &resent);
    let receipt = resent
        .finalizeBatch(index, binding, root, proof)
        .send()
        .await?
        .get_receipt()
        .await?;
    assert!(receipt.status());
    // The fixture's last two batches, committed and finalized in turn.
    for ((_, data, commitment), (index, binding, root, proof)) in all.into_iter().skip(2) {
        for receipt in [
            resent
                .commitBatch(index, data, commitment)
                .send()
                .await?
                .get_receipt()
                .await?,
            resent
                .finalizeBatch(index, binding, root, proof)
                .send()
                .await?
                .get_receipt()
                .await?,
        ] {
            assert!(receipt.status());
        }
    }
    let d = sync_latest(&plain, &dir, rollup_addr, chain_id, 2)
        .await?
        .0
        .derivation;
    assert_eq!(d.last_batch(), 4);
    assert_eq!(to_u256(&d.state().root()), rollup.stateRoot().call().await?);
    assert_eq!(d.state().balance(1, 0), 745);
    assert_eq!(d.state().balance(2, 0), 251);

    // An RPC that serves wrong or incomplete L1 data: a clear error (exit status 4), never a
    // wrong state, and a progress that keeps nothing the RPC served. Then a sync through an
    // honest RPC on the same data directory reaches the right root with no manual step.
    let faults = [
        (
            support::Fault::CorruptCalldata,
            "does not match the data binding L1 computed from it",
        ),
        (support::Fault::WrongRoot, "but L1 finalized"),
        (support::Fault::DropCommits, "its commit was not seen"),
        (support::Fault::DropFinalized, "the RPC left logs out"),
    ];
    for (fault, message) in faults {
        let proxy =
            rollup_test_utils::proxy::Proxy::start(&anvil.endpoint(), support::script(fault))
                .await?;
        let url = proxy.url.clone();
        let faulty = dir.join(format!("{fault:?}"));
        // Run without blocking the runtime: the proxy's tasks serve the command on it.
        let sync_cli = |rpc: &str| {
            tokio::process::Command::new(env!("CARGO_BIN_EXE_escape"))
                .args([
                    "sync",
                    "--json",
                    "--page",
                    "3",
                    "--confirmations",
                    "0",
                    "--rpc-url",
                    rpc,
                    "--rollup",
                ])
                .arg(rollup_addr.to_string())
                .arg("--data-dir")
                .arg(&faulty)
                .output()
        };
        let out = sync_cli(&url).await?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(4), "{fault:?}: {stderr}");
        assert!(stderr.contains(message), "{fault:?}: {stderr}");
        assert!(
            stderr.contains("sync again through another --rpc-url"),
            "{fault:?}: {stderr}"
        );
        let honest = sync_cli(&anvil.endpoint()).await?;
        assert!(
            honest.status.success(),
            "{fault:?}: {}",
            String::from_utf8_lossy(&honest.stderr)
        );
        let synced: serde_json::Value = serde_json::from_slice(&honest.stdout)?;
        assert_eq!(
            synced["stateRoot"],
            rollup_protocol::field::to_hex(&d.state().root())
        );
    }

    // A node that indexes only recent transaction hashes (geth keeps about a year) answers null
    // for old commits by hash: the client reads them by block and position, and syncs.
    let forgetful = rollup_test_utils::proxy::Proxy::start(
        &anvil.endpoint(),
        std::sync::Arc::new(|call| match call.method.as_str() {
            "eth_getTransactionByHash" => {
                rollup_test_utils::proxy::Act::Reply(serde_json::Value::Null)
            }
            _ => rollup_test_utils::proxy::Act::Forward,
        }),
    )
    .await?;
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_escape"))
        .args(["sync", "--json", "--confirmations", "0", "--rpc-url"])
        .arg(&forgetful.url)
        .arg("--rollup")
        .arg(rollup_addr.to_string())
        .arg("--data-dir")
        .arg(dir.join("forgetful"))
        .output()
        .await?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let synced: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(
        synced["stateRoot"],
        rollup_protocol::field::to_hex(&d.state().root())
    );

    // The command line, on the same data directory and the same anvil.
    // Any funded key may send an escape (the owner in the proof is paid): anvil's second account.
    let sender_key = format!("0x{}", alloy::hex::encode(anvil.keys()[1].to_bytes()));
    let escape = |args: &[&str]| -> Result<serde_json::Value> {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_escape"))
            .args(args)
            .env("ESCAPE_PRIVATE_KEY", &sender_key)
            .args([
                "--rpc-url",
                anvil.endpoint().as_str(),
                "--rollup",
                &rollup_addr.to_string(),
                "--confirmations",
                "0",
            ])
            .arg("--data-dir")
            .arg(&dir)
            .arg("--json")
            .output()?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned().into());
        }
        Ok(serde_json::from_slice(&out.stdout)?)
    };
    let synced = escape(&["sync", "--page", "3"])?;
    assert_eq!(synced["lastFinalizedBatch"], 4);
    assert_eq!(escape(&["balance", "--account", "1"])?["balance"], "745");
    let proof: rollup_protocol::state::BalanceProof =
        serde_json::from_value(escape(&["proof", "--account", "2"])?)?;
    assert_eq!(proof.balance, 251);
    assert!(
        proof.verify(d.state().root()),
        "the proof holds against the finalized root"
    );
    snapshots(
        &plain,
        &anvil.endpoint(),
        &dir,
        rollup_addr,
        chain_id,
        &escape,
    )
    .await?;
    let status = escape(&["status"])?;
    assert_eq!(status["escapeMode"], false);
    assert_eq!(status["escapeCanBeActivated"], false);
    let empty = std::env::temp_dir().join(format!("rollup-escape-empty-{}", std::process::id()));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_escape"))
        .args(["balance", "--account", "1", "--data-dir"])
        .arg(&empty)
        .output()?;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("run `escape sync` first"));

    // The operator stops: a new deposit waits past its deadline, then anyone activates escape mode
    // and Alice's finalized balance goes to her L1 address, once.
    let bob: Address = accounts[2]["owner"].as_str().ok_or("owner")?.parse()?;
    let fee = rollup.requestFee(bob).call().await?;
    let deposit = TransactionRequest::default()
        .with_from(bob)
        .with_to(rollup_addr)
        .with_value(U256::from(7u64) + fee)
        .with_input(rollup.depositEth(U256::ZERO, U256::ZERO).calldata().clone());
    assert!(
        plain
            .send_transaction(deposit)
            .await?
            .get_receipt()
            .await?
            .status()
    );
    // The sender (anvil's second account) deposits through the CLI with its derived L2 key, then
    // asks for a forced exit: requests 4 and 5, which the stopped operator never processes.
    let deposited = escape(&["deposit", "--amount", "5"])?;
    assert_eq!(deposited["account"], 3);
    escape(&["force-exit", "--token", "0"])?;
    assert_eq!(rollup.totalRequests().call().await?, U256::from(6u64));
    let too_early = escape(&["activate-escape"])
        .err()
        .ok_or("escape mode before the deadline")?;
    assert!(
        too_early.to_string().contains("DeadlineNotPassed"),
        "{too_early}"
    );
    harness::past_every_deadline(&plain).await?;
    assert_eq!(escape(&["status"])?["escapeCanBeActivated"], true);
    let not_yet = escape(&["escape", "--account", "1"])
        .err()
        .ok_or("escape before escape mode")?;
    assert!(
        not_yet.to_string().contains("EscapeModeNotActive"),
        "{not_yet}"
    );
    escape(&["activate-escape"])?;
    let alice: Address = accounts[1]["owner"].as_str().ok_or("owner")?.parse()?;
    let paid = escape(&["escape", "--account", "1"])?;
    assert_eq!(paid["amount"], "745");
    assert_eq!(rollup.pending(alice, 0).call().await?, U256::from(745u64));
    // A second escape sends nothing and says the balance was credited.
    let twice = escape(&["escape", "--account", "1"])?;
    assert_eq!(twice["transaction"], serde_json::Value::Null);
    assert_eq!(twice["amount"], "745");
    assert_eq!(rollup.pending(alice, 0).call().await?, U256::from(745u64));

    // Bob's deposit that no batch processed is refunded, once.
    let bob_hex = bob.to_string();
    let refunded = escape(&["reclaim", "--owner", bob_hex.as_str()])?;
    assert_eq!(refunded["refunded"].as_array().map(Vec::len), Some(1));
    assert_eq!(refunded["refunded"][0]["request"], 3);
    assert_eq!(rollup.pending(bob, 0).call().await?, U256::from(7u64));
    // Without --owner, every other unprocessed deposit: the sender's (a forced exit is not one).
    let rest = escape(&["reclaim"])?;
    assert_eq!(rest["refunded"].as_array().map(Vec::len), Some(1));
    assert_eq!(rest["refunded"][0]["request"], 4);
    let again = escape(&["reclaim"])?;
    assert_eq!(again["refunded"].as_array().map(Vec::len), Some(0));
    assert_eq!(again["alreadyRefunded"], serde_json::json!([3, 4]));
    assert_eq!(again["unseenRequests"], serde_json::json!([]));

    // The L2 key a wallet derives from the same L1 key.
    let l1: PrivateKeySigner = anvil.keys()[1].clone().into();
    let sig = alloy::signers::SignerSync::sign_message_sync(
        &l1,
        rollup_protocol::constants::L2_KEY_MESSAGE.as_bytes(),
    )?;
    let expected = rollup_protocol::eddsa::SecretKey::from_l1_signature(&sig.as_bytes())?.public();
    let derived = escape(&["key"])?;
    assert_eq!(
        derived["pubkeyX"],
        rollup_protocol::field::to_hex(&expected.x)
    );
    assert_eq!(
        derived["pubkeyY"],
        rollup_protocol::field::to_hex(&expected.y)
    );

    // The data directory is bound to its rollup.
    let other = sync_latest(&plain, &dir, Address::repeat_byte(1), chain_id, 2).await;
    assert!(matches!(other, Err(SyncError::OtherRollup { .. })));

    // Following `finalized` (the client's default): anvil's finalized block lags its head by
    // `FINALITY_LAG` blocks, so a new data directory syncs to a tip below the head and never past
    // L1's finalized block; once that many blocks are mined on top, it reaches every batch and
    // L1's root.
    let fresh = dir.with_extension("finalized");
    let head = plain.get_block_number().await?;
    let behind = sync_following(
        &plain,
        &fresh,
        rollup_addr,
        chain_id,
        1_000,
        Follow::Finalized,
    )
    .await;
    let finalized = plain
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Finalized)
        .await?
        .ok_or("no finalized block")?
        .header
        .number;
    assert!(finalized < head, "anvil's finalized block lags its head");
    match behind {
        // The rollup's deployment is not finalized yet.
        Err(SyncError::NotSettled { head, .. }) => assert_eq!(head, finalized),
        Ok((behind, _)) => assert!(behind.tip.number <= finalized, "{:?}", behind.tip),
        Err(e) => return Err(e.into()),
    }
    plain
        .raw_request::<_, ()>("anvil_mine".into(), (U256::from(FINALITY_LAG + 1),))
        .await?;
    let (caught_up, _) = sync_following(
        &plain,
        &fresh,
        rollup_addr,
        chain_id,
        1_000,
        Follow::Finalized,
    )
    .await?;
    assert!(caught_up.tip.number >= head);
    assert_eq!(
        U256::from(caught_up.derivation.last_batch()),
        rollup.lastFinalizedBatch().call().await?
    );
    assert_eq!(
        to_u256(&caught_up.derivation.state().root()),
        rollup.stateRoot().call().await?
    );
    std::fs::remove_dir_all(&fresh)?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
