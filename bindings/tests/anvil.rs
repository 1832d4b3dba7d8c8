//! End to end on a real anvil: deploy through the production Foundry script, then
//! call the rollup through the bindings and decode its custom errors.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use alloy::network::EthereumWallet;
use alloy::node_bindings::Anvil;
use alloy::primitives::{Address, U256, utils::parse_ether};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use rollup_bindings::irollup::IRollup::IRollupErrors;
use rollup_bindings::rollup::Rollup;
use rollup_bindings::unset_verifier::UnsetVerifier;
use rollup_bindings::{RollupError, decode_rollup_error, rollup_error};

type TestResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

/// The script's parameters (see `script/Deploy.s.sol`): cleared so that the
/// deployment is the default one whatever the caller's environment holds.
const DEPLOY_PARAMS: [&str; 10] = [
    "OWNER",
    "SEQUENCER",
    "TIMELOCK_ADMIN",
    "TIMELOCK_DELAY",
    "VERIFIER",
    "VERIFIER_BYTECODE",
    "CHUNK_SLOTS",
    "FEE_RECIPIENT",
    "FEE_PUBKEY_X",
    "FEE_PUBKEY_Y",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A directory removed when dropped, for the script's output and broadcast log, so that
/// the test never writes into the repository's `broadcast/`.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TestResult<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_nanos();
        let dir = std::env::temp_dir().join(format!(
            "rollup-bindings-{tag}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir)?;
        Ok(Self(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// How long the deployment may take before the test fails instead of hanging.
const DEPLOY_TIMEOUT: Duration = Duration::from_secs(180);

/// Runs `script/Deploy.s.sol` against `rpc` with the default parameters and
/// returns the created contracts, by name, from its broadcast log.
///
/// `--slow` sends each transaction after the previous one is mined: anvil's
/// automine can leave a transaction that arrives while a block is being mined
/// in its pool forever (foundry-rs/foundry#10122), which hung this test once
/// in about forty runs without it.
fn deploy(rpc: &str, key_hex: &str, chain_id: u64) -> TestResult<Vec<(String, Address)>> {
    let dir = TempDir::new("deploy")?;
    let broadcast = dir.0.join("broadcast");
    let log_path = dir.0.join("forge.log");
    let log = std::fs::File::create(&log_path)?;
    let mut cmd = Command::new(root().join("tools/bin/forge"));
    cmd.args(["script", "script/Deploy.s.sol:Deploy", "--root"])
        .arg(root())
        .args(["--rpc-url", rpc, "--private-key", key_hex])
        .args(["--broadcast", "--slow"])
        .env("FOUNDRY_BROADCAST", &broadcast)
        .current_dir(root())
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    for var in DEPLOY_PARAMS {
        cmd.env_remove(var);
    }
    let mut child = cmd.spawn()?;
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if start.elapsed() > DEPLOY_TIMEOUT {
            child.kill()?;
            child.wait()?;
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    if !status.is_some_and(|s| s.success()) {
        let what = status.map_or_else(
            || format!("timed out after {DEPLOY_TIMEOUT:?}"),
            |s| s.to_string(),
        );
        let output = std::fs::read_to_string(&log_path).unwrap_or_default();
        return Err(format!("forge script failed ({what}):\n{output}").into());
    }
    let run = broadcast.join(format!("Deploy.s.sol/{chain_id}/run-latest.json"));
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(run)?)?;
    let mut deployed = vec![];
    for tx in json["transactions"].as_array().into_iter().flatten() {
        if tx["transactionType"] == "CREATE" {
            let name = tx["contractName"].as_str().ok_or("no contractName")?;
            let addr = tx["contractAddress"].as_str().ok_or("no contractAddress")?;
            deployed.push((name.to_string(), addr.parse()?));
        }
    }
    Ok(deployed)
}

fn address_of(deployed: &[(String, Address)], name: &str) -> TestResult<Address> {
    deployed
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, a)| *a)
        .ok_or_else(|| format!("no {name} in the broadcast log").into())
}

#[tokio::test]
async fn deploy_deposit_and_decode_errors() -> TestResult {
    // The real anvil binary (tools/bin/anvil links to it): killed when `anvil` drops.
    let anvil = Anvil::at(root().join("tools/bin/anvil")).try_spawn()?;
    let deployer_key = anvil.keys().first().ok_or("anvil has no account")?.clone();
    let deployer = anvil.addresses()[0];
    let deployed = deploy(
        &anvil.endpoint(),
        &format!("0x{}", alloy::hex::encode(deployer_key.to_bytes())),
        anvil.chain_id(),
    )?;
    let rollup_addr = address_of(&deployed, "Rollup")?;
    let timelock_addr = address_of(&deployed, "Timelock")?;
    let hasher_addr = address_of(&deployed, "ProtocolHasher")?;
    let verifier_addr = address_of(&deployed, "UnsetVerifier")?;

    // A user (anvil's second account) talks to the rollup through the bindings.
    let user: PrivateKeySigner = anvil.keys()[1].clone().into();
    let user_addr = user.address();
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(user))
        .connect_http(anvil.endpoint_url());
    let rollup = Rollup::new(rollup_addr, &provider);

    // The script's wiring, read back.
    assert_eq!(rollup.sequencer().call().await?, deployer);
    assert_eq!(rollup.owner().call().await?, deployer);
    assert_eq!(rollup.governance().call().await?, timelock_addr);
    assert_eq!(rollup.hasher().call().await?, hasher_addr);
    assert_eq!(rollup.verifier().call().await?, verifier_addr);
    assert!(
        !UnsetVerifier::new(verifier_addr, &provider)
            .verifyChunk([U256::ZERO; 3], Default::default())
            .call()
            .await?,
        "the unset verifier accepts nothing"
    );

    assert_eq!(rollup.CHUNK_SLOTS().call().await?, U256::from(4));
    assert_eq!(
        rollup.totalRequests().call().await?,
        U256::from(1),
        "the constructor queues the fee account's creation"
    );
    assert_ne!(rollup.stateRoot().call().await?, U256::ZERO);

    let receipt = rollup
        .depositEth(U256::ZERO, U256::ZERO)
        .value(parse_ether("1")?)
        .send()
        .await?
        .get_receipt()
        .await?;
    assert!(receipt.status());
    let queued: Vec<_> = receipt
        .inner
        .logs()
        .iter()
        .filter_map(|l| l.log_decode::<Rollup::RequestQueued>().ok())
        .collect();
    assert_eq!(queued.len(), 1);
    let event = &queued[0].inner.data;
    assert_eq!(event.requestIndex, U256::from(1));
    assert_eq!(
        event.accountId, 1,
        "the first account after the fee account"
    );
    let account = rollup.accountOf(user_addr).call().await?;
    assert!(account.exists);
    assert_eq!(account.accountId, 1);
    let block = provider
        .get_block_by_number(receipt.block_number.ok_or("no block number")?.into())
        .await?
        .ok_or("no block")?;
    assert!(event.deadline > block.header.timestamp);
    assert_eq!(event.record.len(), 74, "a deposit record");
    assert_eq!(rollup.totalRequests().call().await?, U256::from(2));
    assert_eq!(provider.get_balance(rollup_addr).await?, parse_ether("1")?);

    // Custom errors decode from the revert data of a simulated call.
    let err = rollup
        .commitBatch(vec![])
        .call()
        .await
        .err()
        .ok_or("a commit by a non-sequencer succeeded")?;
    match rollup_error(&err) {
        Some(RollupError::Rollup(IRollupErrors::NotSequencer(e))) => {
            assert_eq!(e.caller, user_addr)
        }
        other => return Err(format!("expected NotSequencer, got {other:?}").into()),
    }
    let err = rollup
        .activateEscapeMode()
        .call()
        .await
        .err()
        .ok_or("escape mode before the deadline")?;
    let data = err.as_revert_data().ok_or("no revert data")?;
    match decode_rollup_error(&data) {
        Some(RollupError::Rollup(IRollupErrors::DeadlineNotPassed(e))) => {
            assert_eq!(e.requestIndex, U256::ZERO, "the oldest request");
            assert!(e.deadline > U256::from(block.header.timestamp));
        }
        other => return Err(format!("expected DeadlineNotPassed, got {other:?}").into()),
    }
    assert!(!rollup.escapeMode().call().await?);
    Ok(())
}
