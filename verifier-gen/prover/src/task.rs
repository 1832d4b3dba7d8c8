//! The proving pipeline's vocabulary: a [`ProofTask`] says what to prove, a [`Backend`] proves it,
//! and a [`ProofArtifact`] is the result, with the public inputs it proves and the digest of the
//! verifying key it verifies against. The operator's coordinator holds tasks and artifacts; which
//! backend proves them (this process's CPU today; a GPU, a remote worker or a shadow prover
//! later) is configuration, and a later stage (aggregating a batch's chunk proofs) is a new task
//! kind, not a change to the code around it.

use std::fmt::Debug;

use halo2_base::halo2_proofs::SerdeFormat;
use halo2_base::halo2_proofs::halo2curves::bn256::G1Affine;
use halo2_base::halo2_proofs::plonk::VerifyingKey;
use rollup_circuits::Fr;
use rollup_circuits::batch::BATCH_INPUTS;
use rollup_protocol::Chunk;

use crate::batch::{ACCUMULATOR_INPUTS, BatchProver};
use crate::{ChunkProver, ProverError, Result, Transcript};

/// The kinds of proof the pipeline makes (stored by name, `snake_case`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum ProofKind {
    /// One chunk's transition, verified on L1 (EVM transcript).
    Chunk,
    /// One chunk's transition with the Poseidon transcript, for the aggregation stage to verify
    /// in a circuit; verified natively here, never on L1.
    RecursiveChunk,
    /// A batch: its recursive chunk proofs verified and chained in the batch circuit
    /// ([`crate::batch`]), with the EVM transcript (the proof L1 verifies).
    Batch,
}

impl ProofKind {
    /// The transcript its proofs are made with.
    pub fn transcript(self) -> Transcript {
        match self {
            ProofKind::Chunk | ProofKind::Batch => Transcript::Evm,
            ProofKind::RecursiveChunk => Transcript::Poseidon,
        }
    }
}

/// What to prove.
#[derive(Debug, Clone)]
pub enum ProofTask {
    /// A sealed chunk, with the core's witnesses; `index` is its position in the rollup's chunk
    /// sequence (for logs and bookkeeping).
    Chunk {
        /// The chunk's index.
        index: u64,
        /// The chunk.
        chunk: Box<Chunk>,
    },
    /// The same, proven for aggregation ([`ProofKind::RecursiveChunk`]).
    RecursiveChunk {
        /// The chunk's index.
        index: u64,
        /// The chunk.
        chunk: Box<Chunk>,
    },
    /// A batch's chunk proofs, aggregated into one ([`ProofKind::Batch`]).
    Batch {
        /// The batch's index.
        index: u64,
        /// Its chunks' [`ProofKind::RecursiveChunk`] artifacts, in order, each made at the batch's
        /// challenge.
        chunks: Vec<ProofArtifact>,
        /// What the core computed of the batch: `old_root, new_root, C_B, z, Y`, the public inputs
        /// the batch proof must have after its accumulator.
        expected: [Fr; BATCH_INPUTS],
    },
}

impl ProofTask {
    /// The kind of proof it asks for.
    pub fn kind(&self) -> ProofKind {
        match self {
            ProofTask::Chunk { .. } => ProofKind::Chunk,
            ProofTask::RecursiveChunk { .. } => ProofKind::RecursiveChunk,
            ProofTask::Batch { .. } => ProofKind::Batch,
        }
    }

    /// Its chunk's index in the rollup's chunk sequence, or its batch's index for a batch.
    pub fn index(&self) -> u64 {
        match self {
            ProofTask::Chunk { index, .. }
            | ProofTask::RecursiveChunk { index, .. }
            | ProofTask::Batch { index, .. } => *index,
        }
    }

    /// The chunk it proves (none for a batch).
    pub fn chunk(&self) -> Option<&Chunk> {
        match self {
            ProofTask::Chunk { chunk, .. } | ProofTask::RecursiveChunk { chunk, .. } => Some(chunk),
            ProofTask::Batch { .. } => None,
        }
    }

    /// Whether `artifact` is a proof for this task: its kind, and the public inputs the core computed
    /// ([`ProofTask::public_inputs`]; for a batch, the five after the accumulator, of a batch proof's
    /// [`crate::batch::BATCH_PUBLIC_INPUTS`]). Whether it verifies is the backend's to say.
    pub fn accepts(&self, artifact: &ProofArtifact) -> bool {
        if artifact.kind != self.kind() {
            return false;
        }
        match self {
            ProofTask::Chunk { chunk, .. } | ProofTask::RecursiveChunk { chunk, .. } => {
                artifact.public_inputs == chunk.public_inputs()
            }
            ProofTask::Batch { expected, .. } => {
                artifact.public_inputs.len() == crate::batch::BATCH_PUBLIC_INPUTS
                    && artifact.public_inputs[ACCUMULATOR_INPUTS..ACCUMULATOR_INPUTS + BATCH_INPUTS]
                        == expected[..]
            }
        }
    }

    /// The public inputs its proof must have, as the core computes them; for a batch, the five
    /// after the accumulator (the accumulator is the prover's, the key digest the backend's).
    pub fn public_inputs(&self) -> Vec<Fr> {
        match self {
            ProofTask::Chunk { chunk, .. } | ProofTask::RecursiveChunk { chunk, .. } => {
                chunk.public_inputs().to_vec()
            }
            ProofTask::Batch { expected, .. } => expected.to_vec(),
        }
    }
}

/// A proof, with what it proves and what verifies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofArtifact {
    /// Its kind.
    pub kind: ProofKind,
    /// Its public inputs (one instance column).
    pub public_inputs: Vec<Fr>,
    /// The proof bytes, in the form the L1 verifier reads after the public inputs.
    pub proof: Vec<u8>,
    /// The digest of the verifying key it verifies against ([`vk_digest`]).
    pub vk_digest: [u8; 32],
}

/// Something that proves tasks. Blocking: callers run it off their async runtime.
pub trait Backend: Send + Sync + Debug {
    /// A name for logs and metrics (`cpu`, …).
    fn name(&self) -> &str;
    /// The digest of the KZG parameters it proves with (what the L1 verifier records).
    fn params_digest(&self) -> [u8; 32];
    /// The digest of its verifying key for `kind`, or `None` when it does not prove that kind.
    fn vk_digest(&self, kind: ProofKind) -> Option<[u8; 32]>;
    /// Proves `task`; the proof is checked natively before it is returned.
    fn prove(&self, task: &ProofTask) -> Result<ProofArtifact>;
    /// Whether `artifact` verifies natively against this backend's key for its kind (false for a
    /// kind it does not know, or a key digest other than its own).
    fn verify(&self, artifact: &ProofArtifact) -> Result<bool>;
    /// What its batch proofs pin of the chunk circuit, as L1's batch verifier records it: the chunk
    /// key digest (`KEY_DIGEST`) and the chunk proofs per batch proof (`CAPACITY`); `None` when it
    /// does not prove batches.
    fn batch_key(&self) -> Option<(Fr, usize)> {
        None
    }
}

/// The digest that names a verifying key: keccak-256 of its serialization (halo2's raw bytes).
/// Two artifacts with the same digest verify against the same key.
pub fn vk_digest(vk: &VerifyingKey<G1Affine>) -> [u8; 32] {
    alloy_primitives::keccak256(vk.to_bytes(SerdeFormat::RawBytes)).0
}

/// Proves in this process, on the CPU: chunks always, batches once given a batch prover
/// ([`CpuBackend::with_batch`]).
#[derive(Debug)]
pub struct CpuBackend {
    chunk: ChunkProver,
    chunk_vk: [u8; 32],
    batch: Option<(BatchProver, [u8; 32])>,
}

impl CpuBackend {
    /// A backend proving chunks with `chunk`.
    pub fn new(chunk: ChunkProver) -> CpuBackend {
        let chunk_vk = vk_digest(chunk.vk());
        CpuBackend {
            chunk,
            chunk_vk,
            batch: None,
        }
    }

    /// Its batch prover, if it has one.
    pub fn batch(&self) -> Option<&BatchProver> {
        self.batch.as_ref().map(|(b, _)| b)
    }

    /// The same, proving batches with `batch` too.
    pub fn with_batch(mut self, batch: BatchProver) -> CpuBackend {
        let digest = vk_digest(batch.vk());
        self.batch = Some((batch, digest));
        self
    }
}

impl Backend for CpuBackend {
    fn name(&self) -> &str {
        "cpu"
    }

    fn params_digest(&self) -> [u8; 32] {
        self.chunk.params_digest()
    }

    fn vk_digest(&self, kind: ProofKind) -> Option<[u8; 32]> {
        match kind {
            // One circuit, one key: the transcript is the prover's choice, not the key's.
            ProofKind::Chunk | ProofKind::RecursiveChunk => Some(self.chunk_vk),
            ProofKind::Batch => self.batch.as_ref().map(|(_, digest)| *digest),
        }
    }

    fn prove(&self, task: &ProofTask) -> Result<ProofArtifact> {
        let kind = task.kind();
        match task {
            ProofTask::Chunk { chunk, .. } | ProofTask::RecursiveChunk { chunk, .. } => {
                Ok(ProofArtifact {
                    kind,
                    public_inputs: task.public_inputs(),
                    proof: self.chunk.prove_with(chunk, kind.transcript())?,
                    vk_digest: self.chunk_vk,
                })
            }
            ProofTask::Batch {
                chunks, expected, ..
            } => {
                let (batch, digest) = self.batch.as_ref().ok_or(ProverError::NoProver(kind))?;
                for (index, artifact) in chunks.iter().enumerate() {
                    if artifact.kind != ProofKind::RecursiveChunk
                        || artifact.vk_digest != self.chunk_vk
                    {
                        return Err(ProverError::InvalidChunkProof { index });
                    }
                }
                let inputs: Vec<(Vec<Fr>, Vec<u8>)> = chunks
                    .iter()
                    .map(|a| (a.public_inputs.clone(), a.proof.clone()))
                    .collect();
                let (public_inputs, proof) = batch.prove(&inputs, kind.transcript())?;
                if public_inputs.get(ACCUMULATOR_INPUTS..ACCUMULATOR_INPUTS + BATCH_INPUTS)
                    != Some(expected.as_slice())
                {
                    return Err(ProverError::UnexpectedInputs(kind));
                }
                Ok(ProofArtifact {
                    kind,
                    public_inputs,
                    proof,
                    vk_digest: *digest,
                })
            }
        }
    }

    fn batch_key(&self) -> Option<(Fr, usize)> {
        self.batch().map(|b| (b.key_digest(), b.capacity()))
    }

    fn verify(&self, artifact: &ProofArtifact) -> Result<bool> {
        if self.vk_digest(artifact.kind) != Some(artifact.vk_digest) {
            return Ok(false);
        }
        match artifact.kind {
            ProofKind::Chunk | ProofKind::RecursiveChunk => crate::verify_with(
                self.chunk.params(),
                self.chunk.vk(),
                std::slice::from_ref(&artifact.public_inputs),
                &artifact.proof,
                artifact.kind.transcript(),
            ),
            ProofKind::Batch => match &self.batch {
                Some((batch, _)) => batch.verify(
                    &artifact.public_inputs,
                    &artifact.proof,
                    artifact.kind.transcript(),
                ),
                None => Ok(false),
            },
        }
    }
}
