//! What the devnet and its load example share: the batch verifier for a chunk size.

use std::path::Path;

use rollup_bindings::deploy::BatchVerifier;

/// The batch verifier for batches of `capacity` `slots`-slot chunks on `chain`, in the checkout at
/// `root`: the committed one for the reference shape, else generated from the development SRS once
/// and kept in the prover's artifact cache `cache` ([`verifier_gen::dev_batch_verifier`]), where
/// the operator finds the same keys.
pub fn batch_verifier(
    root: &Path,
    cache: &Path,
    slots: usize,
    capacity: usize,
    chain: u64,
) -> eyre::Result<BatchVerifier> {
    if slots == verifier_gen::REFERENCE_SLOTS
        && chain == verifier_gen::REFERENCE_CHAIN_ID
        && capacity == verifier_gen::REFERENCE_CAPACITY
    {
        return Ok(rollup_bindings::deploy::committed_verifier(root)?);
    }
    eprintln!(
        "devnet: the batch verifier for {capacity} {slots}-slot chunk(s) (generated once with its keys, minutes; then cached)"
    );
    let path = verifier_gen::dev_batch_verifier(cache, slots, capacity, chain)?;
    Ok(BatchVerifier::beside(path)?)
}
