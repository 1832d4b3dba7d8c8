//! End to end on anvil with the real contracts and the real verifier: the Foundry fixture's history
//! (deposits made on L1, four chunks committed and finalized with their real proofs), then the
//! state re-derived from L1 alone.

use std::path::{Path, PathBuf};

use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::node_bindings::Anvil;
use alloy::primitives::{Address, Bytes, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use rollup_bindings::deploy::deploy;
use rollup_bindings::rollup::Rollup;
use rollup_escape::derive::Derivation;
use rollup_escape::l1::L1Reader;
use rollup_protocol::Config;

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn u256(v: &serde_json::Value) -> Result<U256> {
    Ok(v.as_str().ok_or("not a string")?.parse()?)
}

#[tokio::test]
async fn state_rederived_from_l1_matches_every_finalized_root() -> Result {
    let fixture: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(
        root().join("contracts/test/vectors/chunk_proofs.json"),
    )?)?;
    let accounts = fixture["accounts"].as_array().ok_or("accounts")?;
    let chunks = fixture["chunks"].as_array().ok_or("chunks")?;

    let anvil = Anvil::at(root().join("tools/bin/anvil")).try_spawn()?;
    let key = anvil.keys().first().ok_or("no anvil key")?.clone();
    let deployed = deploy(
        &root(),
        &anvil.endpoint(),
        &format!("0x{}", alloy::hex::encode(key.to_bytes())),
        anvil.chain_id(),
        &[
            ("CHUNK_SLOTS", fixture["slots"].to_string()),
            (
                "VERIFIER_BYTECODE",
                root()
                    .join("contracts/verifier/Halo2Verifier.bin")
                    .display()
                    .to_string(),
            ),
            (
                "FEE_RECIPIENT",
                accounts[0]["owner"].as_str().ok_or("owner")?.to_string(),
            ),
        ],
    )?;
    let rollup_addr = deployed.address("Rollup").ok_or("no Rollup")?;
    let sequencer = ProviderBuilder::new()
        .wallet(EthereumWallet::from(PrivateKeySigner::from(key)))
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
        let tx = TransactionRequest::default()
            .with_from(owner)
            .with_to(rollup_addr)
            .with_value(amount)
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

    // The sequencer commits the four chunks as two batches and finalizes them with the real proofs.
    let field = |c: &serde_json::Value, i: usize| u256(&c["publicInputs"][i]);
    for pair in chunks.chunks(2) {
        let data: Vec<Bytes> = pair
            .iter()
            .map(|c| Ok(c["pubdata"].as_str().ok_or("pubdata")?.parse()?))
            .collect::<Result<_>>()?;
        assert!(
            rollup
                .commitBatch(data)
                .send()
                .await?
                .get_receipt()
                .await?
                .status()
        );
        let index = rollup.lastCommittedBatch().call().await?;
        let dcs = pair
            .iter()
            .map(|c| field(c, 2))
            .collect::<Result<Vec<_>>>()?;
        let roots = pair
            .iter()
            .map(|c| field(c, 1))
            .collect::<Result<Vec<_>>>()?;
        let proofs: Vec<Bytes> = pair
            .iter()
            .map(|c| Ok(c["proof"].as_str().ok_or("proof")?.parse()?))
            .collect::<Result<_>>()?;
        let receipt = rollup
            .finalizeBatch(index, dcs, roots, proofs)
            .send()
            .await?
            .get_receipt()
            .await?;
        assert!(receipt.status());
    }
    let l1_root = rollup.stateRoot().call().await?;

    // The escape client, from L1 alone, in pages of two blocks.
    let slots = usize::try_from(fixture["slots"].as_u64().ok_or("slots")?)?;
    let mut reader = L1Reader::new(&plain, rollup_addr, slots, 2);
    let head = reader.head().await?;
    let batches = reader.finalized_batches(0, head).await?;
    assert_eq!(batches.len(), 2);
    let mut derivation = Derivation::new(Config {
        chain_id: fixture["chainId"].as_u64().ok_or("chainId")?,
        chunk_slots: slots,
    });
    for b in batches {
        derivation.apply(b)?;
    }
    assert_eq!(
        U256::from_be_bytes(rollup_protocol::field::to_be_bytes(
            &derivation.state().root()
        )),
        l1_root
    );
    assert_eq!(derivation.state().balance(1, 0), 745);
    assert_eq!(derivation.state().balance(2, 0), 251);
    Ok(())
}
