//! The compression stage for real: a batch proof (Poseidon transcript) compressed at k = 22 into a
//! proof with the batch proof's public inputs and a new accumulator, checked natively with the
//! pairing; a flipped proof byte and any changed public input are refused, and so is a batch proof
//! that does not verify (another public input, or the L1 transcript).
//!
//! Ignored by default, too heavy for every CI run: the SRS at k = 22 (about a minute), compression
//! keygen (about 2 minutes), a batch proof (about 150 s) and a compression proof (about 6 minutes,
//! 11.8 GB), on 2 cores. Run it with `cargo test -p rollup-prover --test compress -- --ignored`.

use halo2_base::halo2_proofs::halo2curves::ff::Field;
use rollup_circuits::Fr;
use rollup_circuits::sample;
use rollup_prover::batch::{ACCUMULATOR_INPUTS, BATCH_PUBLIC_INPUTS, BatchProver};
use rollup_prover::compress::{self, CompressProver};
use rollup_prover::{ChunkProver, ProverError, SrsSource, Transcript};

const CHAIN_ID: u64 = 31337;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

#[test]
#[ignore = "heavy: k = 22, about 12 minutes and 12 GB on 2 cores"]
fn a_compressed_proof_carries_its_batch_proofs_inputs_and_nothing_else() -> Result<()> {
    let cache = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("keys");
    let chunks = ChunkProver::load(&cache, &SrsSource::Development, 1, CHAIN_ID, 13)?;
    let batch = BatchProver::load(
        &cache,
        &SrsSource::Development,
        &chunks,
        1,
        rollup_prover::batch::DEFAULT_K,
    )?;
    let mut batch_chunks = sample::history(1, CHAIN_ID)?[1..2].to_vec();
    sample::bind_batch(&mut batch_chunks)?;
    let chunk = &batch_chunks[0];
    let recursive = chunks.prove_with(chunk, Transcript::Poseidon)?;
    let inputs = [(chunk.public_inputs().to_vec(), recursive)];
    let records = [chunk.records.clone()];
    let (batch_public, batch_proof) = batch.prove(&inputs, &records, Transcript::Poseidon)?;
    let compressor =
        CompressProver::load(&cache, &SrsSource::Development, &batch, compress::DEFAULT_K)?;
    assert_eq!(compressor.layout().config.num_advice, 2, "a thin layout");

    let (public, proof) = compressor.prove(&batch_public, &batch_proof, Transcript::Evm)?;
    assert_eq!(public.len(), BATCH_PUBLIC_INPUTS);
    assert_eq!(
        public[ACCUMULATOR_INPUTS..],
        batch_public[ACCUMULATOR_INPUTS..],
        "the batch proof's inputs, passed through"
    );
    assert_ne!(
        public[..ACCUMULATOR_INPUTS],
        batch_public[..ACCUMULATOR_INPUTS]
    );
    assert!(compressor.verify(&public, &proof, Transcript::Evm)?);
    assert!(!compressor.verify(&public, &proof, Transcript::Poseidon)?);
    for at in [0, proof.len() / 2, proof.len() - 1] {
        let mut bad = proof.clone();
        bad[at] ^= 1;
        assert!(
            !compressor.verify(&public, &bad, Transcript::Evm)?,
            "byte {at}"
        );
    }
    for i in 0..public.len() {
        let mut wrong = public.clone();
        wrong[i] += Fr::ONE;
        assert!(
            !compressor.verify(&wrong, &proof, Transcript::Evm)?,
            "input {i}"
        );
    }

    // A batch proof for other inputs, with appended bytes, or made for L1 (the Keccak transcript)
    // is refused before proving.
    for i in [0, ACCUMULATOR_INPUTS + 1, BATCH_PUBLIC_INPUTS - 1] {
        let mut wrong = batch_public.clone();
        wrong[i] += Fr::ONE;
        assert!(
            matches!(
                compressor.prove(&wrong, &batch_proof, Transcript::Evm),
                Err(ProverError::InvalidBatchProof)
            ),
            "input {i}"
        );
    }
    let mut longer = batch_proof.clone();
    longer.push(0);
    assert!(matches!(
        compressor.prove(&batch_public, &longer, Transcript::Evm),
        Err(ProverError::InvalidBatchProof)
    ));
    let (evm_public, evm_proof) = batch.prove(&inputs, &records, Transcript::Evm)?;
    assert!(matches!(
        compressor.prove(&evm_public, &evm_proof, Transcript::Evm),
        Err(ProverError::InvalidBatchProof)
    ));
    Ok(())
}
