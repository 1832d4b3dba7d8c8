//! Blob sources against a real anvil holding two blob transactions: the node, its beacon API, a
//! directory and the cache each serve the right blob; sources that serve a wrong blob, another
//! transaction's blob, a damaged file or nothing are refused with what they did, and the next source
//! is tried; with no honest source left the error lists every outcome.

use std::collections::HashMap;
use std::sync::Arc;

use alloy::network::{EthereumWallet, TransactionBuilder, TransactionBuilder4844};
use alloy::primitives::{Address, B256, Bytes};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use rollup_escape::blobs::{BlobReader, Source, Wanted};
use rollup_l1::blob::sidecar;
use rollup_protocol::blob::blob_of_pubdata;
use rollup_test_utils::proxy::{Act, Proxy};
use rollup_test_utils::{self as harness, Result};

/// Posts `pubdata` in one blob; the blob as it should be read back.
async fn post<P: Provider>(provider: &P, pubdata: &[u8]) -> Result<(Wanted, Vec<u8>)> {
    let sidecar = sidecar(pubdata)?;
    let versioned_hash = sidecar.versioned_hashes().next().ok_or("no blob")?;
    let fee = provider.get_blob_base_fee().await?;
    let tx = TransactionRequest::default()
        .with_to(Address::repeat_byte(0xda))
        .with_blob_sidecar(sidecar.into())
        .with_max_fee_per_blob_gas(fee.max(1) * 2);
    let receipt = provider.send_transaction(tx).await?.get_receipt().await?;
    assert!(receipt.status());
    Ok((
        Wanted {
            versioned_hash,
            tx: receipt.transaction_hash,
            block: receipt.block_number.ok_or("no block")?,
        },
        blob_of_pubdata(pubdata)?,
    ))
}

fn temp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("escape-blobs-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[tokio::test]
async fn every_source_is_checked_against_the_versioned_hash_and_the_next_one_tried() -> Result {
    let anvil = harness::anvil()?;
    let key = harness::keys(&anvil).first().ok_or("no key")?.clone();
    let l1 = ProviderBuilder::new()
        .wallet(EthereumWallet::from(key))
        .connect_http(anvil.endpoint_url());
    let (wanted, blob) = post(&l1, &b"\x02records of batch one".repeat(100)).await?;
    let (other_tx, other_blob) = post(&l1, &b"\x02batch two".repeat(70)).await?;
    assert_ne!(wanted.versioned_hash, other_tx.versioned_hash);

    // The node, then its beacon API, each alone.
    let cache = temp("cache");
    let node = BlobReader::new(Some(cache.clone()), true, vec![]);
    assert_eq!(node.blob(&l1, &wanted).await?, blob);
    let cached = cache.join(format!("{}.blob", wanted.versioned_hash));
    assert_eq!(std::fs::read(&cached)?, blob, "an accepted blob is cached");
    let beacon = BlobReader::new(None, false, vec![Source::Beacon(anvil.endpoint())]);
    assert_eq!(beacon.blob(&l1, &wanted).await?, blob);
    assert_eq!(beacon.blob(&l1, &other_tx).await?, other_blob);

    // The cache alone (no other source) serves it; damaged, it is refused, and the node's copy
    // replaces it.
    let cache_only = BlobReader::new(Some(cache.clone()), false, vec![]);
    assert_eq!(cache_only.blob(&l1, &wanted).await?, blob);
    let mut damaged = blob.clone();
    damaged[100] ^= 1;
    std::fs::write(&cached, &damaged)?;
    let e = cache_only
        .blob(&l1, &wanted)
        .await
        .err()
        .ok_or("damaged cache accepted")?;
    assert!(e.to_string().contains("none with versioned hash"), "{e}");
    assert_eq!(node.blob(&l1, &wanted).await?, blob);
    assert_eq!(std::fs::read(&cached)?, blob);

    // A directory archive laid out as the cache is.
    let archive = BlobReader::new(
        None,
        false,
        vec![Source::Archive(cache.display().to_string())],
    );
    assert_eq!(archive.blob(&l1, &wanted).await?, blob);

    // HTTP archives that lie: a wrong blob, another transaction's, nothing. Each is refused and
    // the next tried, down to an honest beacon API.
    let name = format!("/{}.blob", wanted.versioned_hash);
    let mut files = HashMap::new();
    files.insert(
        format!("/wrong{name}"),
        blob_of_pubdata(b"\x02not these records")?,
    );
    files.insert(format!("/other{name}"), other_blob.clone());
    let http = harness::static_http(files).await?;
    let liars = vec![
        Source::Archive(format!("{http}/wrong")),
        Source::Archive(format!("{http}/other")),
        Source::Archive(format!("{http}/empty")),
    ];
    let mut then_honest = liars.clone();
    then_honest.push(Source::Beacon(anvil.endpoint()));
    assert_eq!(
        BlobReader::new(None, false, then_honest)
            .blob(&l1, &wanted)
            .await?,
        blob
    );
    let e = BlobReader::new(None, false, liars)
        .blob(&l1, &wanted)
        .await
        .err()
        .ok_or("a lie accepted")?;
    // A wrong blob and another transaction's look alike to the client (neither has the versioned
    // hash); each is refused, and the archive with nothing says so.
    assert_eq!(e.tried.len(), 3);
    for (i, source) in ["wrong", "other"].iter().enumerate() {
        assert!(e.tried[i].source.ends_with(source), "{e}");
        assert!(
            e.tried[i].outcome.contains("served 1 blob(s), none with"),
            "{e}"
        );
    }
    assert!(e.tried[2].outcome.contains("has no such blob"), "{e}");
    assert!(e.to_string().contains("give a blob archive"), "{e}");

    // A node that serves another transaction's blob for this one.
    let other_hex = Bytes::from(other_blob);
    let liar = Proxy::start(
        &anvil.endpoint(),
        Arc::new(move |call| match call.method.as_str() {
            "anvil_getBlobByHash" => Act::Reply(serde_json::json!(other_hex)),
            "anvil_getBlobsByTransactionHash" => Act::Reply(serde_json::json!([other_hex])),
            _ => Act::Forward,
        }),
    )
    .await?;
    let lying_node = ProviderBuilder::new().connect_http(liar.url.parse()?);
    let e = BlobReader::new(None, true, vec![])
        .blob(&lying_node, &wanted)
        .await
        .err()
        .ok_or("the node's lie accepted")?;
    assert!(e.tried[0].outcome.contains("refused"), "{e}");
    // A versioned hash L1 never committed to, named with a real transaction: the node serves that
    // transaction's blob, which is refused; the beacon API has none with that hash.
    let unknown = Wanted {
        versioned_hash: B256::repeat_byte(1),
        ..wanted
    };
    let e = BlobReader::new(None, true, vec![Source::Beacon(anvil.endpoint())])
        .blob(&l1, &unknown)
        .await
        .err()
        .ok_or("an unknown blob found")?;
    assert!(e.tried[0].outcome.contains("refused"), "{e}");
    assert!(
        e.tried[1].outcome.contains("none with") || e.tried[1].outcome.contains("has no such"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&cache);
    Ok(())
}
