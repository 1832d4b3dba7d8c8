//! Chunk proofs for aggregation: made with the Poseidon transcript, they verify natively with
//! that transcript only, the CPU backend proves and checks them as `RecursiveChunk` artifacts
//! beside the L1 ones, and snark-verifier's succinct verifier (what an aggregation circuit runs)
//! accepts them (one slot, k = 13, development SRS).

use halo2_base::halo2_proofs::halo2curves::ff::Field;
use rollup_circuits::Fr;
use rollup_circuits::sample;
use rollup_prover::{
    Backend, ChunkProver, CpuBackend, ProofKind, ProofTask, SrsSource, Transcript, snark,
    verify_for_aggregation, verify_with,
};

const CHAIN_ID: u64 = 31337;
const K: u32 = 13;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

#[test]
fn recursive_chunk_proofs_verify_with_their_own_transcript_only() -> Result<()> {
    let cache = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("transcripts");
    let prover = ChunkProver::load(&cache, &SrsSource::Development, 1, CHAIN_ID, K)?;
    let (params, vk) = (prover.params().clone(), prover.vk().clone());
    let backend = CpuBackend::new(prover);
    let chunk = sample::history(1, CHAIN_ID)?.pop().ok_or("empty history")?;

    let recursive = backend.prove(&ProofTask::RecursiveChunk {
        index: 1,
        chunk: Box::new(chunk.clone()),
    })?;
    let evm = backend.prove(&ProofTask::Chunk {
        index: 1,
        chunk: Box::new(chunk),
    })?;
    assert_eq!(recursive.kind, ProofKind::RecursiveChunk);
    assert_eq!(recursive.public_inputs, evm.public_inputs);
    assert_eq!(recursive.vk_digest, evm.vk_digest, "one circuit, one key");
    assert!(backend.verify(&recursive)?);
    assert!(backend.verify(&evm)?);

    // Each proof verifies with its own transcript only: relabelled, it is refused.
    let mut relabelled = recursive.clone();
    relabelled.kind = ProofKind::Chunk;
    assert!(!backend.verify(&relabelled)?);
    let mut relabelled = evm.clone();
    relabelled.kind = ProofKind::RecursiveChunk;
    assert!(!backend.verify(&relabelled)?);
    // Bytes appended to a recursive proof pass native verification but not the batch circuit's
    // reading: the backend refuses them, so a worker cannot store a proof its parent would refuse.
    let mut longer = recursive.clone();
    longer.proof.push(0);
    assert!(!backend.verify(&longer)?);

    let public = vec![recursive.public_inputs.clone()];
    assert!(verify_with(
        &params,
        &vk,
        &public,
        &recursive.proof,
        Transcript::Poseidon
    )?);
    for at in [0, recursive.proof.len() / 2, recursive.proof.len() - 1] {
        let mut bad = recursive.proof.clone();
        bad[at] ^= 1;
        assert!(
            !verify_with(&params, &vk, &public, &bad, Transcript::Poseidon)?,
            "proof byte {at} flipped, proof accepted"
        );
    }
    for i in 0..public[0].len() {
        let mut wrong = public.clone();
        wrong[0][i] += Fr::ONE;
        assert!(
            !verify_with(&params, &vk, &wrong, &recursive.proof, Transcript::Poseidon)?,
            "public input {i} changed, proof accepted"
        );
    }

    // What the aggregation stage does with it: snark-verifier's succinct verifier and the
    // pairing accept the recursive proof, and refuse the L1 one, a flipped byte and a changed
    // public input.
    let input = &recursive.public_inputs;
    assert!(verify_for_aggregation(
        &params,
        &snark(&params, &vk, input, &recursive.proof)
    ));
    assert!(!verify_for_aggregation(
        &params,
        &snark(&params, &vk, input, &evm.proof)
    ));
    let mut bad = recursive.proof.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 1;
    assert!(!verify_for_aggregation(
        &params,
        &snark(&params, &vk, input, &bad)
    ));
    let mut wrong = input.clone();
    wrong[0] += Fr::ONE;
    assert!(!verify_for_aggregation(
        &params,
        &snark(&params, &vk, &wrong, &recursive.proof)
    ));
    Ok(())
}
