//! What the devnet and its load example share: the verifier for a chunk size.

use std::path::{Path, PathBuf};

/// The verifier's creation bytecode file for `slots`-slot chunks on `chain`, in the checkout at
/// `root`: the committed one for the reference size, else generated from the development SRS
/// once and kept in the prover's artifact cache (`target/verifier-gen`).
pub fn verifier_bin(root: &Path, slots: usize, chain: u64) -> eyre::Result<PathBuf> {
    if slots == verifier_gen::REFERENCE_SLOTS && chain == verifier_gen::REFERENCE_CHAIN_ID {
        return Ok(rollup_bindings::deploy::committed_verifier(root));
    }
    let cache = root.join("target/verifier-gen");
    let shape = rollup_prover::ChunkShape::new(slots, chain);
    let path = rollup_prover::ArtifactCache::new(&cache)
        .chunk_verifier(&shape, &rollup_prover::development_params_digest());
    if !path.exists() {
        eprintln!(
            "devnet: generating the verifier for {slots}-slot chunks (k = {}; once, then cached)",
            shape.k
        );
        let prover = rollup_prover::ChunkProver::load(
            &cache,
            &rollup_prover::SrsSource::Development,
            slots,
            chain,
            shape.k,
        )?;
        let (_, code) = verifier_gen::chunk_verifier(&prover)?;
        rollup_durable::write(&path, format!("0x{}", alloy::hex::encode(code)))?;
    }
    Ok(path)
}
