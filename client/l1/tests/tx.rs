//! The L1 transaction manager on a real anvil: a transaction not mined in time is replaced with
//! higher fees under the same nonce and stored before each broadcast; a restarted manager resumes
//! the stored transaction instead of signing a new nonce; a call that reverts, or needs fees above
//! the cap, is refused before anything is signed or stored; a nonce gap below the transaction it
//! waits for is filled.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, Bytes, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::sol_types::SolCall;
use rollup_bindings::irollup::IRollup;
use rollup_l1::{Outbox, Pending, TxError, TxManager, TxPolicy};
use rollup_test_utils::{Result, anvil, deploy_rollup, keys};

/// An outbox in memory, stored as JSON as a database would hold it.
#[derive(Default)]
struct Memory(Mutex<HashMap<String, String>>);

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn plain(e: BoxError) -> Box<dyn std::error::Error> {
    e
}

impl Outbox for Memory {
    fn load(&self, key: &str) -> std::result::Result<Option<Pending>, BoxError> {
        let map = self.0.lock().map_err(|e| e.to_string())?;
        Ok(map.get(key).map(|s| serde_json::from_str(s)).transpose()?)
    }

    fn save(&self, key: &str, tx: &Pending) -> std::result::Result<(), BoxError> {
        let json = serde_json::to_string(tx)?;
        self.0
            .lock()
            .map_err(|e| e.to_string())?
            .insert(key.into(), json);
        Ok(())
    }

    fn nonces(&self) -> std::result::Result<Vec<u64>, BoxError> {
        let map = self.0.lock().map_err(|e| e.to_string())?;
        map.values()
            .map(|s| Ok(serde_json::from_str::<Pending>(s)?.nonce))
            .collect()
    }
}

fn policy(chain_id: u64) -> TxPolicy {
    TxPolicy {
        chain_id,
        poll: Duration::from_millis(50),
        bump_after: Duration::from_millis(300),
        max_fee_per_gas: 1_000_000_000_000,
        max_fee_per_blob_gas: 1_000_000_000_000,
        confirmations: 1,
        gas_margin_tenths: 12,
    }
}

type Plain = alloy::providers::RootProvider;

/// A provider on `anvil`, its chain id, and a manager sending from `key` through it.
async fn manager(
    anvil: &alloy::node_bindings::AnvilInstance,
    key: &alloy::signers::local::PrivateKeySigner,
) -> Result<(Plain, u64, TxManager<Plain>)> {
    let provider = ProviderBuilder::new()
        .connect_http(anvil.endpoint_url())
        .root()
        .clone();
    let chain_id = provider.get_chain_id().await?;
    let l1 = TxManager::new(
        provider.clone(),
        EthereumWallet::from(key.clone()),
        policy(chain_id),
    );
    Ok((provider, chain_id, l1))
}

/// Waits until the transaction stored under `key` has a replacement, then mines a block.
async fn mine_once_replaced(provider: &Plain, outbox: &Memory, key: &str) -> Result {
    let start = std::time::Instant::now();
    while outbox
        .load(key)
        .map_err(plain)?
        .map_or(0, |t| t.versions.len())
        < 2
    {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no replacement stored"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    provider
        .raw_request::<_, serde_json::Value>("evm_mine".into(), ())
        .await?;
    Ok(())
}

#[tokio::test]
async fn an_unmined_transaction_is_bumped_under_its_nonce_and_a_restart_resumes_it() -> Result {
    let anvil = anvil()?;
    let rollup = deploy_rollup(&anvil)?;
    let key = keys(&anvil).remove(1);
    let from = key.address();
    let (provider, chain_id, l1) = manager(&anvil, &key).await?;
    let outbox = Arc::new(Memory::default());

    // Refused before signing: a reverting call and fees above the cap store nothing.
    let bad = IRollup::executeBatchCall {
        batchIndex: U256::from(99),
        withdrawals: vec![],
    }
    .abi_encode();
    match l1.stage(&*outbox, "execute:99", rollup, bad.into()).await {
        Err(TxError::Reverted { data }) => assert!(
            rollup_bindings::decode_rollup_error(&data).is_some(),
            "the revert data is the rollup's custom error: {data}"
        ),
        other => return Err(format!("a reverting call was staged: {other:?}").into()),
    }
    let capped = TxManager::new(
        provider.clone(),
        EthereumWallet::from(key.clone()),
        TxPolicy {
            max_fee_per_gas: 1,
            ..policy(chain_id)
        },
    );
    let to = Address::repeat_byte(0x42);
    assert!(matches!(
        capped.stage(&*outbox, "capped", to, Bytes::new()).await,
        Err(TxError::FeeCap { cap: 1, .. })
    ));
    assert!(outbox.0.lock().map_err(|e| e.to_string())?.is_empty());

    // Mining paused: the staged transaction is stored before its broadcast, then replaced.
    provider
        .raw_request::<_, serde_json::Value>("evm_setAutomine".into(), (false,))
        .await?;
    let (tx, resumed) = l1.stage(&*outbox, "step", to, Bytes::new()).await?;
    assert!(!resumed);
    assert_eq!(
        outbox.load("step").map_err(plain)?,
        Some(tx.clone()),
        "stored when staged"
    );
    l1.broadcast(&tx).await?;
    let waiting = tokio::spawn({
        let (l1, tx, outbox) = (l1.clone(), tx.clone(), outbox.clone());
        async move {
            let receipt = l1.confirm(&*outbox, "step", tx).await?;
            Ok::<_, BoxError>((receipt, outbox.load("step")?))
        }
    });
    // Mined only once the manager has stored a replacement (a slow machine only waits longer).
    mine_once_replaced(&provider, &outbox, "step").await?;
    let (receipt, stored) = waiting.await?.map_err(plain)?;
    let stored = stored.ok_or("the confirmed transaction left the outbox")?;
    assert!(
        stored.versions.len() >= 2,
        "not bumped: {} version(s)",
        stored.versions.len()
    );
    assert!(
        stored
            .versions
            .windows(2)
            .all(|w| w[1].max_fee_per_gas > w[0].max_fee_per_gas),
        "every version pays more than the one before"
    );
    assert!(
        stored
            .versions
            .iter()
            .any(|v| v.hash == receipt.transaction_hash),
        "the mined transaction is one of the stored versions"
    );
    assert_eq!(provider.get_transaction_count(from).await?, tx.nonce + 1);

    // A restart: the same key resumes the stored transaction (same nonce), its broadcast is
    // harmless, and its receipt is found at once.
    let restarted = TxManager::new(
        provider.clone(),
        EthereumWallet::from(key),
        policy(chain_id),
    );
    let (again, resumed) = restarted
        .stage(&*outbox, "step", to, Bytes::from(vec![1]))
        .await?;
    assert!(resumed);
    assert_eq!(again.nonce, tx.nonce);
    restarted.broadcast(&again).await?;
    let receipt = restarted.confirm(&*outbox, "step", again).await?;
    assert!(receipt.status());
    assert_eq!(
        provider.get_transaction_count(from).pending().await?,
        tx.nonce + 1,
        "nothing was sent twice (mining is still paused: a new nonce would be pending)"
    );
    Ok(())
}

/// A transaction whose step another sender did first stays in a mempool after its outbox entry is
/// gone, so the next step is signed one nonce above it; if that mempool then drops it, the next
/// step waits behind a gap. The manager fills the gap and its transaction is mined, but never
/// fills a nonce a stored entry holds.
#[tokio::test]
async fn a_dropped_transaction_below_the_pending_one_is_filled() -> Result {
    let anvil = anvil()?;
    let key = keys(&anvil).remove(2);
    let from = key.address();
    let (provider, _, l1) = manager(&anvil, &key).await?;
    let outbox = Memory::default();
    provider
        .raw_request::<_, serde_json::Value>("evm_setAutomine".into(), (false,))
        .await?;
    let mined = provider.get_transaction_count(from).await?;

    // The orphan: staged and broadcast; the mempool then forgets it.
    let to = Address::repeat_byte(0x42);
    let (orphan, _) = l1.stage(&outbox, "orphan", to, Bytes::new()).await?;
    l1.broadcast(&orphan).await?;
    let (next, _) = l1.stage(&outbox, "next", to, Bytes::from(vec![7])).await?;
    assert_eq!(
        (orphan.nonce, next.nonce),
        (mined, mined + 1),
        "signed above the orphan"
    );
    l1.broadcast(&next).await?;
    let orphan_hash = orphan.versions.first().ok_or("no version")?.hash;
    provider
        .raw_request::<_, serde_json::Value>("anvil_dropTransaction".into(), (orphan_hash,))
        .await?;

    // While the outbox holds the orphan (a step the book still owns, to be resent), its nonce is
    // never filled: several rounds of bumps pass and nothing is mined at it.
    let held = tokio::time::timeout(
        Duration::from_secs(2),
        l1.confirm(&outbox, "next", next.clone()),
    )
    .await;
    assert!(held.is_err(), "confirmed past a held nonce: {held:?}");
    provider
        .raw_request::<_, serde_json::Value>("evm_mine".into(), ())
        .await?;
    assert_eq!(
        provider.get_transaction_count(from).await?,
        mined,
        "a held nonce was filled"
    );

    // The book forgets the orphan, as it does when L1 shows its step done by someone else: the
    // manager fills the gap and the next step is mined.
    outbox.0.lock().map_err(|e| e.to_string())?.clear();
    let waiting = tokio::spawn({
        let l1 = l1.clone();
        async move {
            let outbox = Memory::default();
            outbox.save("next", &next)?;
            Ok::<_, BoxError>(l1.confirm(&outbox, "next", next).await?)
        }
    });
    let start = std::time::Instant::now();
    while !waiting.is_finished() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the transaction above the gap was never mined"
        );
        provider
            .raw_request::<_, serde_json::Value>("evm_mine".into(), ())
            .await?;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let receipt = waiting.await?.map_err(plain)?;
    assert!(receipt.status());
    assert_eq!(
        provider.get_transaction_count(from).await?,
        mined + 2,
        "the gap's nonce and the step's are both used"
    );
    assert!(
        provider
            .get_transaction_receipt(orphan_hash)
            .await?
            .is_none(),
        "the gap was closed by a filler, not by the dropped transaction"
    );
    Ok(())
}

/// A blob transaction (the sidecar in EIP-7594 form, as L1 takes it since Fusaka): staged with its
/// pubdata, simulated with its versioned hash, replaced with every fee doubled while it waits (up to
/// four times the market, then broadcast again as it is), mined
/// with the blob L1 commits to; a restart resumes it; a blob fee above the cap is refused first.
#[tokio::test]
async fn a_blob_transaction_is_replaced_with_every_fee_doubled_up_to_4x_the_market() -> Result {
    let anvil = anvil()?;
    let key = keys(&anvil).remove(1);
    let (provider, chain_id, l1) = manager(&anvil, &key).await?;
    let outbox = Arc::new(Memory::default());
    let to = Address::repeat_byte(0x44);
    let pubdata = Bytes::from(b"\x02fifteen bytes!".repeat(40));

    let capped = TxManager::new(
        provider.clone(),
        EthereumWallet::from(key.clone()),
        TxPolicy {
            max_fee_per_blob_gas: 1,
            ..policy(chain_id)
        },
    );
    assert!(matches!(
        capped
            .stage_with_blob(&*outbox, "capped", to, Bytes::new(), Some(pubdata.clone()))
            .await,
        Err(TxError::BlobFeeCap { cap: 1, .. })
    ));

    provider
        .raw_request::<_, serde_json::Value>("evm_setAutomine".into(), (false,))
        .await?;
    let (tx, _) = l1
        .stage_with_blob(&*outbox, "blob", to, Bytes::new(), Some(pubdata.clone()))
        .await?;
    assert_eq!(tx.sender().map_err(|e| e.to_string())?, key.address());
    l1.broadcast(&tx).await?;
    let waiting = tokio::spawn({
        let (l1, tx, outbox) = (l1.clone(), tx.clone(), outbox.clone());
        async move { l1.confirm(&*outbox, "blob", tx).await }
    });
    mine_once_replaced(&provider, &outbox, "blob").await?;
    let receipt = waiting.await?.map_err(|e| e.to_string())?;
    let stored = outbox
        .load("blob")
        .map_err(plain)?
        .ok_or("left the outbox")?;
    for w in stored.versions.windows(2) {
        assert!(w[1].max_fee_per_gas >= 2 * w[0].max_fee_per_gas, "{w:?}");
        assert!(
            w[1].max_priority_fee_per_gas >= 2 * w[0].max_priority_fee_per_gas,
            "{w:?}"
        );
        assert!(
            w[1].max_fee_per_blob_gas >= 2 * w[0].max_fee_per_blob_gas,
            "{w:?}"
        );
    }
    assert!(stored.versions.iter().all(|v| v.max_fee_per_blob_gas > 0));
    let mined = provider
        .get_transaction_by_hash(receipt.transaction_hash)
        .await?
        .ok_or("no transaction")?;
    let blob = rollup_protocol::blob::blob_of_pubdata(&pubdata)?;
    assert_eq!(
        alloy::consensus::Transaction::blob_versioned_hashes(&mined),
        Some(&[rollup_l1::blob::versioned_hash(&blob)?][..]),
        "L1 commits to the blob of the pubdata"
    );

    // A restart resumes it: nothing is signed again.
    let (again, resumed) = l1
        .stage_with_blob(&*outbox, "blob", to, Bytes::new(), Some(pubdata))
        .await?;
    assert!(resumed);
    assert_eq!(again, stored);
    assert_eq!(
        provider
            .get_transaction_count(key.address())
            .pending()
            .await?,
        tx.nonce + 1
    );

    // While the market stays where it is, the doubling stops at 4x the market: the first version
    // pays the market, then 2x and 4x, and every later round broadcasts the 4x version again.
    let (tx, _) = l1
        .stage_with_blob(
            &*outbox,
            "held",
            to,
            Bytes::new(),
            Some(Bytes::from_static(b"\x00")),
        )
        .await?;
    l1.broadcast(&tx).await?;
    let waiting = tokio::spawn({
        let (l1, tx, outbox) = (l1.clone(), tx.clone(), outbox.clone());
        async move { l1.confirm(&*outbox, "held", tx).await }
    });
    let versions = || -> Result<Vec<_>> {
        Ok(outbox
            .load("held")
            .map_err(plain)?
            .map(|t| t.versions)
            .unwrap_or_default())
    };
    let start = std::time::Instant::now();
    while versions()?.len() < 3 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no second replacement"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Ten more rounds of `bump_after`.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let held = versions()?;
    assert_eq!(held.len(), 3, "{held:?}");
    assert_eq!(held[2].max_fee_per_gas, 4 * held[0].max_fee_per_gas);
    assert_eq!(
        held[2].max_fee_per_blob_gas,
        4 * held[0].max_fee_per_blob_gas
    );
    provider
        .raw_request::<_, serde_json::Value>("evm_mine".into(), ())
        .await?;
    let receipt = waiting.await?.map_err(|e| e.to_string())?;
    assert_eq!(receipt.transaction_hash, held[2].hash);
    Ok(())
}
