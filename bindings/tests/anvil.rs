//! End to end on a real anvil: deploy through the production Foundry script, then
//! call the rollup through the bindings and decode its custom errors.

use std::path::{Path, PathBuf};
use std::process::Command;

use alloy::network::EthereumWallet;
use alloy::node_bindings::Anvil;
use alloy::primitives::{Address, U256, utils::parse_ether};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use rollup_bindings::decode_rollup_error;
use rollup_bindings::irollup::IRollup::IRollupErrors;
use rollup_bindings::rollup::Rollup;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs `script/Deploy.s.sol` against `rpc` and returns the deployed addresses by contract name.
fn deploy(rpc: &str, key_hex: &str) -> Result<Vec<(String, Address)>, Box<dyn std::error::Error>> {
    let broadcast =
        std::env::temp_dir().join(format!("rollup-bindings-test-{}", std::process::id()));
    let out = Command::new(root().join("tools/bin/forge"))
        .args(["script", "script/Deploy.s.sol:Deploy", "--root"])
        .arg(root())
        .args(["--rpc-url", rpc, "--broadcast", "--private-key", key_hex])
        .env("FOUNDRY_BROADCAST", &broadcast)
        .current_dir(root())
        .output()?;
    if !out.status.success() {
        return Err(format!(
            "forge script failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    let log = std::fs::read_to_string(broadcast.join("Deploy.s.sol/31337/run-latest.json"))?;
    let json: serde_json::Value = serde_json::from_str(&log)?;
    let mut deployed = vec![];
    for tx in json["transactions"].as_array().into_iter().flatten() {
        if tx["transactionType"] == "CREATE" {
            let name = tx["contractName"].as_str().unwrap_or_default().to_string();
            let addr: Address = tx["contractAddress"].as_str().unwrap_or_default().parse()?;
            deployed.push((name, addr));
        }
    }
    let _ = std::fs::remove_dir_all(&broadcast);
    Ok(deployed)
}

#[tokio::test]
async fn deploy_deposit_and_decode_errors() -> TestResult {
    let anvil = Anvil::at(root().join("tools/bin/anvil")).try_spawn()?;
    let deployer_key = anvil.keys()[0].clone();
    let deployed = deploy(
        &anvil.endpoint(),
        &format!("0x{}", alloy::hex::encode(deployer_key.to_bytes())),
    )?;
    let rollup_addr = deployed
        .iter()
        .find(|(n, _)| n == "Rollup")
        .map(|(_, a)| *a)
        .ok_or("no Rollup in the broadcast log")?;
    assert!(deployed.iter().any(|(n, _)| n == "Timelock"));
    assert!(deployed.iter().any(|(n, _)| n == "ProtocolHasher"));

    // A user (anvil's second account) talks to the rollup through the bindings.
    let user: PrivateKeySigner = anvil.keys()[1].clone().into();
    let user_addr = user.address();
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(user))
        .connect_http(anvil.endpoint_url());
    let rollup = Rollup::new(rollup_addr, &provider);

    assert_eq!(rollup.CHUNK_SLOTS().call().await?, U256::from(4));
    assert_eq!(
        rollup.totalRequests().call().await?,
        U256::from(1),
        "the fee account's request"
    );
    let empty_root = rollup.stateRoot().call().await?;
    assert_ne!(empty_root, U256::ZERO);

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
    assert_eq!(queued[0].inner.data.requestIndex, U256::from(1));
    assert_eq!(queued[0].inner.data.record.len(), 74, "a deposit record");
    assert_eq!(rollup.totalRequests().call().await?, U256::from(2));
    assert_eq!(provider.get_balance(rollup_addr).await?, parse_ether("1")?);

    // Custom errors decode from the revert data.
    let err = rollup
        .commitBatch(vec![])
        .call()
        .await
        .err()
        .ok_or("commit by a non-sequencer succeeded")?;
    let data = err.as_revert_data().ok_or("no revert data")?;
    match decode_rollup_error(&data) {
        Some(IRollupErrors::NotSequencer(e)) => assert_eq!(e.caller, user_addr),
        other => return Err(format!("expected NotSequencer, got {other:?}").into()),
    }
    let err = rollup
        .activateEscapeMode()
        .call()
        .await
        .err()
        .ok_or("escape mode before the deadline")?;
    let data = err.as_revert_data().ok_or("no revert data")?;
    assert!(matches!(
        decode_rollup_error(&data),
        Some(IRollupErrors::DeadlineNotPassed(_))
    ));
    Ok(())
}
