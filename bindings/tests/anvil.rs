//! End to end on a real anvil: deploy through the production Foundry script, then
//! call the rollup through the bindings and decode its custom errors.

use std::path::{Path, PathBuf};

use alloy::network::EthereumWallet;
use alloy::node_bindings::Anvil;
use alloy::primitives::{U256, utils::parse_ether};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use rollup_bindings::deploy::deploy;
use rollup_bindings::halo2_batch_verifier::Halo2BatchVerifier;
use rollup_bindings::irollup::IRollup::IRollupErrors;
use rollup_bindings::rollup::Rollup;
use rollup_bindings::{RollupError, decode_rollup_error, rollup_error};

type TestResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[tokio::test]
async fn deploy_deposit_and_decode_errors() -> TestResult {
    // The real anvil binary (tools/bin/anvil links to it): killed when `anvil` drops.
    let anvil = Anvil::at(root().join("tools/bin/anvil")).try_spawn()?;
    let deployer_key = anvil.keys().first().ok_or("anvil has no account")?.clone();
    let deployer = anvil.addresses()[0];
    let deployed = deploy(
        &root(),
        &anvil.endpoint(),
        &format!("0x{}", alloy::hex::encode(deployer_key.to_bytes())),
        anvil.chain_id(),
        &rollup_bindings::deploy::committed_verifier(&root())?.params(),
    )?;
    let address_of = |name: &str| {
        deployed
            .address(name)
            .ok_or(format!("no {name} in the broadcast log"))
    };
    let rollup_addr = address_of("Rollup")?;
    let timelock_addr = address_of("Timelock")?;
    let hasher_addr = address_of("ProtocolHasher")?;
    let verifier_addr = address_of("Halo2BatchVerifier")?;

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
    let verifier = Halo2BatchVerifier::new(verifier_addr, &provider);
    assert!(
        !verifier
            .verifyBatch([U256::ZERO; 7], Default::default())
            .call()
            .await?,
        "the generated verifier accepts no empty proof"
    );
    let committed = rollup_bindings::deploy::committed_verifier(&root())?;
    assert_eq!(
        format!("{:#066x}", verifier.KEY_DIGEST().call().await?),
        committed.key_digest,
        "the chunk key digest the committed verifier was generated with"
    );
    assert_eq!(verifier.CAPACITY().call().await?, U256::from(1));
    assert_eq!(rollup.maxChunksPerBatch().call().await?, U256::from(1));

    assert_eq!(rollup.CHUNK_SLOTS().call().await?, U256::from(1));
    assert_eq!(
        rollup.totalRequests().call().await?,
        U256::from(1),
        "the constructor queues the fee account's creation"
    );
    assert_ne!(rollup.stateRoot().call().await?, U256::ZERO);

    let fee = rollup.requestFee(user_addr).call().await?;
    let receipt = rollup
        .depositEth(U256::ZERO, U256::ZERO)
        .value(parse_ether("1")? + fee)
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
    assert_eq!(
        event.record.len(),
        rollup_protocol::codec::record_len(rollup_protocol::tx::TxType::Deposit),
        "a deposit record"
    );
    assert_eq!(rollup.totalRequests().call().await?, U256::from(2));
    assert_eq!(
        provider.get_balance(rollup_addr).await?,
        parse_ether("1")? + fee,
        "the deposit and its fee"
    );
    let base = rollup.REQUEST_FEE().call().await?;
    assert_eq!(
        rollup.pending(deployer, 0).call().await?,
        base,
        "the base fee is owed to the fee recipient (the deployer)"
    );
    assert_eq!(
        rollup.lockedFees().call().await?,
        fee - base,
        "the account-creation surcharge is locked"
    );

    // Custom errors decode from the revert data of a simulated call.
    let err = rollup
        .commitBatch(U256::from(1), Default::default(), U256::ZERO)
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
