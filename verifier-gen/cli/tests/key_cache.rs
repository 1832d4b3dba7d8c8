//! A cached proving key is used only for the circuit it was made for: a file holding another
//! circuit's key (an older circuit version under the same name, another chain id) or no key at all
//! is replaced by the current circuit's key, never used to prove or to generate a verifier.

use std::path::Path;

use halo2_base::halo2_proofs::halo2curves::bn256::G1Affine;
use halo2_base::halo2_proofs::plonk::ProvingKey;
use rollup_circuits::chunk::ChunkCircuit;
use rollup_prover as prover;
use verifier_gen::{REFERENCE_CHAIN_ID, REFERENCE_K, REFERENCE_SLOTS};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

#[test]
fn a_cached_key_of_another_circuit_is_made_again() -> Result<()> {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let dir = target.join(format!("key-cache-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("chunk.pk");
    let params = prover::cached_dev_srs(target, REFERENCE_K)?;
    let digest = |pk: &ProvingKey<G1Affine>| prover::vk_digest(pk.get_vk());
    let current = digest(&prover::keygen(
        &params,
        &ChunkCircuit::keygen(REFERENCE_SLOTS, REFERENCE_CHAIN_ID),
    )?);

    // The file holds the key of another circuit (the chain id is a constant of the circuit).
    let other = prover::cached_pk(&params, &path, REFERENCE_SLOTS, REFERENCE_CHAIN_ID + 1)?;
    assert_ne!(digest(&other), current, "another circuit, another key");
    let pk = prover::cached_pk(&params, &path, REFERENCE_SLOTS, REFERENCE_CHAIN_ID)?;
    assert_eq!(digest(&pk), current, "the stale key was not used");
    assert_eq!(
        digest(&prover::read_pk(&path)?),
        current,
        "the file now holds the current key"
    );

    // A file that holds no key at all.
    std::fs::write(&path, b"not a proving key")?;
    let pk = prover::cached_pk(&params, &path, REFERENCE_SLOTS, REFERENCE_CHAIN_ID)?;
    assert_eq!(digest(&pk), current);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
