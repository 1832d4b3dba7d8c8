//! The batch stage for real: a chunk proof (Poseidon transcript) aggregated into a batch proof at
//! k = 20 (development SRS, one chunk per batch proof: the smallest batch circuit), checked
//! natively with the pairing on its accumulator; what it proves is the core's batch binding and
//! roots and the chunk key's digest; a flipped proof byte, any changed public input, a chunk proof
//! for other public inputs and a proof of another chunk circuit are each refused.
//!
//! Heavy: SRS at k = 20 (about 15 s, cached in the target directory), batch keygen (about
//! 75 s) and one batch proof (about 135 s, 4.4 GB), on 2 cores.

use halo2_base::gates::circuit::CircuitBuilderStage;
use halo2_base::halo2_proofs::halo2curves::ff::Field;
use rollup_circuits::Fr;
use rollup_circuits::sample;
use rollup_prover::batch::{
    self, ACCUMULATOR_INPUTS, BATCH_INPUTS, BATCH_PUBLIC_INPUTS, BatchProver,
};
use rollup_prover::{
    Backend, ChunkProver, CpuBackend, ProofKind, ProofTask, ProverError, SrsSource, Transcript,
};

const CHAIN_ID: u64 = 31337;
const CHUNK_K: u32 = 13;
const BATCH_K: u32 = 20;

/// The batch circuit's version and the digest of its verifying key for one proof of the 1-slot
/// chunk circuit at k = 13, at k = 20 over the development SRS. Cached batch keys are not
/// regenerated to be checked (`BatchProver::load`): on a clean checkout this test generates the key
/// and catches a change of the circuit made without bumping `batch::VERSION`.
/// The digest also changes with the chunk circuit (the batch circuit verifies its proofs; cached
/// batch keys are named by the chunk key too): chunk circuit v6 changed it, not the batch circuit.
const REFERENCE_BATCH_VK: (u32, &str) = (
    3,
    "2ef3634927d851097cbdd30d9c375853f5e9629085d553fe60ed66258bc875ad",
);

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

#[test]
fn a_batch_proof_proves_its_batch_and_nothing_else() -> Result<()> {
    let cache = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("keys");
    let chunks = ChunkProver::load(&cache, &SrsSource::Development, 1, CHAIN_ID, CHUNK_K)?;
    let (chunk_params, chunk_vk) = (chunks.params().clone(), chunks.vk().clone());
    let batch_prover = BatchProver::load(&cache, &SrsSource::Development, &chunks, 1, BATCH_K)?;
    let digest = alloy_primitives::hex::encode(rollup_prover::vk_digest(batch_prover.vk()));
    assert_eq!(
        (batch::VERSION, digest.as_str()),
        REFERENCE_BATCH_VK,
        "the batch circuit changed: bump rollup_prover::batch::VERSION (cached batch keys are named by it) and set REFERENCE_BATCH_VK to (the new version, {digest:?})"
    );
    let backend = CpuBackend::new(chunks).with_batch(batch_prover);
    let prover = backend.batch().ok_or("no batch prover")?;

    // A batch of one chunk (account 1's deposit), bound to the batch's challenge, through the
    // pipeline: a recursive chunk task, then the batch task over its artifact.
    let mut batch_chunks = sample::history(1, CHAIN_ID)?[1..2].to_vec();
    let binding = sample::bind_batch(&mut batch_chunks)?;
    let chunk = &batch_chunks[0];
    let recursive = backend.prove(&ProofTask::RecursiveChunk {
        index: 1,
        chunk: Box::new(chunk.clone()),
    })?;
    let expected = binding.public_inputs(chunk.old_root, chunk.new_root);
    let records = vec![chunk.records.clone()];
    let task = ProofTask::Batch {
        index: 1,
        chunks: vec![recursive.clone()],
        records: records.clone(),
        expected,
        recursive: false,
    };
    let artifact = backend.prove(&task)?;
    assert_eq!(artifact.kind, ProofKind::Batch);
    assert_eq!(artifact.vk_digest, rollup_prover::vk_digest(prover.vk()));
    assert!(backend.verify(&artifact)?);
    let (public, proof) = (artifact.public_inputs.clone(), artifact.proof.clone());
    assert_eq!(public.len(), BATCH_PUBLIC_INPUTS);
    assert_eq!(
        public[ACCUMULATOR_INPUTS..ACCUMULATOR_INPUTS + BATCH_INPUTS],
        expected
    );
    assert_eq!(public[BATCH_PUBLIC_INPUTS - 1], prover.key_digest());
    assert_eq!(
        prover.key_digest(),
        batch::key_digest(&batch::chunk_protocol(&chunk_params, &chunk_vk))?
    );
    assert!(prover.verify(&public, &proof, Transcript::Evm)?);

    // The proof's bytes and every public input are bound.
    for at in [0, proof.len() / 2, proof.len() - 1] {
        let mut bad = proof.clone();
        bad[at] ^= 1;
        assert!(!prover.verify(&public, &bad, Transcript::Evm)?, "byte {at}");
    }
    for i in 0..public.len() {
        let mut wrong = public.clone();
        wrong[i] += Fr::ONE;
        assert!(
            !prover.verify(&wrong, &proof, Transcript::Evm)?,
            "input {i}"
        );
    }

    // The backend takes only recursive chunk artifacts of its own key, and refuses a batch task
    // whose chunks fold to other public inputs than the core computed.
    let mut evm = recursive.clone();
    evm.kind = ProofKind::Chunk;
    let task = ProofTask::Batch {
        index: 1,
        chunks: vec![evm],
        records: records.clone(),
        expected,
        recursive: false,
    };
    assert!(matches!(
        backend.prove(&task),
        Err(ProverError::InvalidChunkProof { index: 0 })
    ));
    let mut other = expected;
    other[1] += Fr::ONE;
    let task = ProofTask::Batch {
        index: 1,
        chunks: vec![recursive.clone()],
        records: records.clone(),
        expected: other,
        recursive: false,
    };
    assert!(matches!(
        backend.prove(&task),
        Err(ProverError::UnexpectedInputs(ProofKind::Batch))
    ));
    // Records other than the chunk's (its deposit made a noop: another commitment) are refused the
    // same way.
    let mut shuffled = records.clone();
    shuffled[0][0] = rollup_protocol::codec::Record::Noop;
    assert_ne!(shuffled, records);
    let task = ProofTask::Batch {
        index: 1,
        chunks: vec![recursive.clone()],
        records: shuffled,
        expected,
        recursive: false,
    };
    assert!(matches!(
        backend.prove(&task),
        Err(ProverError::UnexpectedInputs(ProofKind::Batch))
    ));
    let chunk_proof = recursive.proof.clone();

    // A chunk proof for other public inputs: the prover refuses it up front; and a batch circuit
    // built over it anyway (what a cheating prover would do) exposes an accumulator that fails
    // the pairing, so no batch proof of it verifies.
    let mut other = chunk.public_inputs().to_vec();
    other[1] += Fr::ONE;
    let forged = vec![(other.clone(), chunk_proof.clone())];
    assert!(matches!(
        prover.prove(&forged, &records, Transcript::Evm),
        Err(ProverError::InvalidChunkProof { index: 0 })
    ));
    let circuit = batch::circuit(
        CircuitBuilderStage::Mock,
        prover.layout().config,
        prover.params(),
        vec![prover.snark(&other, &chunk_proof)],
        &records,
        1,
        1,
    )?;
    let exposed = batch::instances(&circuit).concat();
    assert_eq!(
        exposed[ACCUMULATOR_INPUTS + 1],
        other[1],
        "it is exposed as given"
    );
    assert!(!batch::decide(prover.params(), &exposed));
    // A flipped byte in the chunk proof is refused up front too.
    let mut flipped = chunk_proof.clone();
    flipped[40] ^= 1;
    assert!(matches!(
        prover.prove(
            &[(chunk.public_inputs().to_vec(), flipped)],
            &records,
            Transcript::Evm
        ),
        Err(ProverError::InvalidChunkProof { index: 0 })
    ));

    // Chunk proofs that are not one batch (the same chunk twice: its roots do not chain) are
    // refused before any proving.
    let twice = vec![
        (chunk.public_inputs().to_vec(), chunk_proof.clone()),
        (chunk.public_inputs().to_vec(), chunk_proof.clone()),
    ];
    assert!(matches!(
        prover.prove(
            &twice,
            &[records[0].clone(), records[0].clone()],
            Transcript::Evm
        ),
        Err(ProverError::NotOneBatch)
    ));
    // So are bytes appended to it, which snark-verifier would never read.
    let mut longer = chunk_proof.clone();
    longer.push(0);
    assert!(matches!(
        prover.prove(
            &[(chunk.public_inputs().to_vec(), longer)],
            &records,
            Transcript::Evm
        ),
        Err(ProverError::InvalidChunkProof { index: 0 })
    ));

    // A valid proof of another chunk circuit of the same shape (the circuit for another chain id:
    // its signature constants differ) aggregates to a valid accumulator, but the batch proof
    // carries that circuit's key digest, which is not the one the verifier pins.
    let foreign = ChunkProver::load(&cache, &SrsSource::Development, 1, CHAIN_ID + 1, CHUNK_K)?;
    let mut foreign_chunks = sample::history(1, CHAIN_ID + 1)?[1..2].to_vec();
    sample::bind_batch(&mut foreign_chunks)?;
    let foreign_proof = foreign.prove_with(&foreign_chunks[0], Transcript::Poseidon)?;
    let foreign_snark = rollup_prover::snark(
        foreign.params(),
        foreign.vk(),
        &foreign_chunks[0].public_inputs(),
        &foreign_proof,
    );
    let circuit = batch::circuit(
        CircuitBuilderStage::Mock,
        prover.layout().config,
        prover.params(),
        vec![foreign_snark],
        &[foreign_chunks[0].records.clone()],
        1,
        1,
    )?;
    let exposed = batch::instances(&circuit).concat();
    assert!(batch::decide(prover.params(), &exposed), "a valid proof");
    assert_ne!(exposed[BATCH_PUBLIC_INPUTS - 1], prover.key_digest());
    assert_eq!(
        exposed[BATCH_PUBLIC_INPUTS - 1],
        batch::key_digest(&batch::chunk_protocol(foreign.params(), foreign.vk()))?
    );
    Ok(())
}
