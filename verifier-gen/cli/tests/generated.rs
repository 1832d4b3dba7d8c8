//! The committed batch verifier (`contracts/verifier/Halo2BatchVerifier.sol`, `.bin` and `.json`)
//! and the proof fixture's bytecode and key digest are what `verifier-gen --stage batch solidity`
//! makes from the current circuits: a change to either circuit that is not followed by
//! `verifier-gen --stage batch solidity` and `fixtures` fails here.

use std::path::Path;

use rollup_circuits::chunk::ChunkCircuit;
use rollup_prover as prover;
use verifier_gen::{REFERENCE_CHAIN_ID, REFERENCE_K, REFERENCE_SLOTS};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// The circuit version and the digest of the reference verifying key (`REFERENCE_SLOTS`,
/// `REFERENCE_CHAIN_ID`, the development SRS at `REFERENCE_K`).
const REFERENCE_VK: (u32, &str) = (
    6,
    "28e85b529cff2dbd40a7c6e6d8dc6edaf70ab3231be5e5e4ad0e41ed4e110a71",
);

/// Cached chunk keys are named by the circuit's version: a change to the circuit must bump it.
#[test]
fn the_reference_chunk_key_is_pinned() -> Result<()> {
    let params = prover::cached_dev_srs(Path::new(env!("CARGO_TARGET_TMPDIR")), REFERENCE_K)?;
    let pk = prover::keygen(
        &params,
        &ChunkCircuit::keygen(REFERENCE_SLOTS, REFERENCE_CHAIN_ID),
    )?;
    let digest = alloy_primitives::hex::encode(prover::vk_digest(pk.get_vk()));
    assert_eq!(
        (rollup_circuits::chunk::VERSION, digest.as_str()),
        REFERENCE_VK,
        "the chunk circuit changed: bump rollup_circuits::chunk::VERSION (cached keys are named by it) and set REFERENCE_VK to (the new version, {digest:?})"
    );
    Ok(())
}

const REGENERATE_BATCH: &str = "regenerate: cargo run -p verifier-gen --bin verifier-gen -- --dev-srs --stage batch solidity && cargo run -p verifier-gen --bin verifier-gen -- --dev-srs --stage batch fixtures (with tools/bin on PATH)";

/// The same for the batch stage: `contracts/verifier/Halo2BatchVerifier.sol` and `.bin`, and the batch
/// fixture's bytecode and key digest, are what the reference batch circuit generates. The batch key
/// (k = 20) is cached in the target directory beside the prover's batch test, which checks its digest.
#[test]
fn committed_batch_verifier_and_fixture_are_current() -> Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("keys");
    let chunk = prover::ChunkProver::load(
        &cache,
        &prover::SrsSource::Development,
        REFERENCE_SLOTS,
        REFERENCE_CHAIN_ID,
        REFERENCE_K,
    )?;
    let batch = prover::batch::BatchProver::load(
        &cache,
        &prover::SrsSource::Development,
        &chunk,
        verifier_gen::REFERENCE_CAPACITY,
        verifier_gen::REFERENCE_BATCH_K,
    )?;
    let source = verifier_gen::batch_solidity(batch.params(), batch.vk());
    let committed = std::fs::read_to_string(root.join(verifier_gen::BATCH_VERIFIER_PATH))?;
    assert!(
        committed == source,
        "{} is stale; {REGENERATE_BATCH}",
        verifier_gen::BATCH_VERIFIER_PATH
    );
    let bin = format!(
        "0x{}",
        alloy_primitives::hex::encode(verifier_gen::compile(&source)?)
    );
    let bin_path = Path::new(verifier_gen::BATCH_VERIFIER_PATH).with_extension("bin");
    let committed_bin = std::fs::read_to_string(root.join(&bin_path))?;
    assert!(
        committed_bin.trim() == bin,
        "{} is stale; {REGENERATE_BATCH}",
        bin_path.display()
    );
    // What the operator checks at start against the deployed code: this key's verifier carries the
    // key's transcript representation, another key's (the chunk key's) does not.
    let code = alloy_primitives::hex::decode(committed_bin.trim())?;
    assert!(prover::batch::verifier_pins(&code, batch.transcript_repr()));
    assert!(!prover::batch::verifier_pins(
        &code,
        chunk.vk().transcript_repr()
    ));
    let fixture: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(
        root.join("contracts/test/vectors/batch_proofs.json"),
    )?)?;
    assert!(
        fixture["verifierBytecode"].as_str() == Some(bin.as_str()),
        "contracts/test/vectors/batch_proofs.json was made for another verifier; {REGENERATE_BATCH}"
    );
    assert_eq!(
        fixture["keyDigest"].as_str(),
        Some(rollup_protocol::field::to_hex(&batch.key_digest()).as_str()),
        "contracts/test/vectors/batch_proofs.json pins another chunk key; {REGENERATE_BATCH}"
    );
    let params_path = Path::new(verifier_gen::BATCH_VERIFIER_PATH).with_extension("json");
    let committed_params: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join(&params_path))?)?;
    assert_eq!(
        committed_params,
        verifier_gen::batch_params_json(&batch, REFERENCE_CHAIN_ID, &code),
        "{} is stale; {REGENERATE_BATCH}",
        params_path.display()
    );
    Ok(())
}

const REGENERATE_COMPRESSED: &str = "regenerate (about 40 minutes and 13 GB on 2 cores): verifier-gen --dev-srs --slots 4 --k 15 --capacity 4 --depth 1 --stage compress fixtures --batch-sizes 1,3 (with tools/bin on PATH)";

/// The compressed fixture (`contracts/test/vectors/compressed_proofs.json`) takes about 22 minutes
/// to make, so CI cannot remake it; what is checked instead, cheaply: it was made from the circuit
/// versions of today (each bumped with any change to its circuit, the chunk's and the batch's
/// pinned by their reference keys above), it pins today's chunk key for its chunk size, and its
/// deployment parameters name its own bytecode and key digest.
#[test]
fn committed_compressed_fixture_is_current() -> Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let fixture: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(
        root.join("contracts/test/vectors/compressed_proofs.json"),
    )?)?;
    let made = &fixture["madeFrom"];
    let number = |v: &serde_json::Value| v.as_u64().ok_or(REGENERATE_COMPRESSED);
    for (field, version) in [
        ("chunkVersion", rollup_circuits::chunk::VERSION),
        ("batchVersion", prover::batch::VERSION),
        ("nodeVersion", prover::node::VERSION),
        ("compressVersion", prover::compress::VERSION),
    ] {
        assert_eq!(
            number(&made[field])?,
            u64::from(version),
            "compressed_proofs.json was made with another {field}; {REGENERATE_COMPRESSED}"
        );
    }
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("keys");
    let chunk = prover::ChunkProver::load(
        &cache,
        &prover::SrsSource::Development,
        usize::try_from(number(&fixture["slots"])?)?,
        number(&fixture["chainId"])?,
        u32::try_from(number(&made["chunkK"])?)?,
    )?;
    let digest =
        prover::batch::key_digest(&prover::batch::chunk_protocol(chunk.params(), chunk.vk()))?;
    let digest = rollup_protocol::field::to_hex(&digest);
    assert_eq!(
        fixture["keyDigest"].as_str(),
        Some(digest.as_str()),
        "compressed_proofs.json pins another chunk key; {REGENERATE_COMPRESSED}"
    );
    let params: serde_json::Value = serde_json::from_str(
        fixture["verifierParams"]
            .as_str()
            .ok_or("no verifierParams")?,
    )?;
    let bytecode = alloy_primitives::hex::decode(
        fixture["verifierBytecode"]
            .as_str()
            .ok_or("no verifierBytecode")?,
    )?;
    assert_eq!(
        params["bytecodeHash"].as_str(),
        Some(alloy_primitives::keccak256(&bytecode).to_string().as_str()),
        "compressed_proofs.json's parameters name another bytecode; {REGENERATE_COMPRESSED}"
    );
    assert_eq!(params["keyDigest"].as_str(), Some(digest.as_str()));
    Ok(())
}
