//! The proving pipeline's vocabulary: a [`ProofTask`] says what to prove, a [`Backend`] proves it,
//! and a [`ProofArtifact`] is the result, with the public inputs it proves and the digest of the
//! verifying key it verifies against. The operator's coordinator holds tasks and artifacts; which
//! backend proves them (this process's CPU today; a GPU, a remote worker or a shadow prover
//! later) is configuration, and a stage is a task kind, not a change to the code around it.
//!
//! The pipeline ends in the proof L1 verifies ([`Backend::last_stage`]): either the batch proof
//! (chunk proofs → batch proof), or, when the backend compresses, the compressed proof (chunk
//! proofs → batch proof for recursion → compressed proof, [`crate::compress`]), whose verifier
//! is cheaper on L1 and whose public inputs are laid out the same way.

use std::fmt::Debug;

use halo2_base::halo2_proofs::SerdeFormat;
use halo2_base::halo2_proofs::halo2curves::bn256::G1Affine;
use halo2_base::halo2_proofs::plonk::VerifyingKey;
use rollup_circuits::Fr;
use rollup_circuits::batch::{BATCH_INPUTS, CHUNK_INPUTS};
use rollup_protocol::Chunk;
use rollup_protocol::codec::Record;

use crate::batch::{ACCUMULATOR_INPUTS, BatchProver};
use crate::compress::CompressProver;
use crate::node::{NodeProver, NodeRecords};
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
    /// ([`crate::batch`]), with the EVM transcript (the proof L1 verifies, without compression).
    Batch,
    /// The same batch proof with the Poseidon transcript, for the compression stage to verify in
    /// a circuit; verified natively here, never on L1.
    RecursiveBatch,
    /// An aggregation node ([`crate::node`]): a tree level between the chunk proofs and the batch
    /// circuit, with the Poseidon transcript; verified natively here, never on L1. Its level is in
    /// its task and in the number of its public inputs ([`crate::node::node_inputs`]).
    Node,
    /// A recursive batch proof proven again in the thin compression circuit
    /// ([`crate::compress`]), with the EVM transcript: the proof L1 verifies, with compression.
    Compressed,
}

impl ProofKind {
    /// The transcript its proofs are made with.
    pub fn transcript(self) -> Transcript {
        match self {
            ProofKind::Chunk | ProofKind::Batch | ProofKind::Compressed => Transcript::Evm,
            ProofKind::RecursiveChunk | ProofKind::RecursiveBatch | ProofKind::Node => {
                Transcript::Poseidon
            }
        }
    }

    /// Whether it proves a whole batch (stored by batch index), not a chunk.
    pub fn is_batch(self) -> bool {
        matches!(
            self,
            ProofKind::Batch | ProofKind::RecursiveBatch | ProofKind::Compressed
        )
    }

    /// Its name in logs and metrics (`snake_case`, as stored).
    pub fn name(self) -> &'static str {
        match self {
            ProofKind::Chunk => "chunk",
            ProofKind::RecursiveChunk => "recursive_chunk",
            ProofKind::Batch => "batch",
            ProofKind::RecursiveBatch => "recursive_batch",
            ProofKind::Node => "node",
            ProofKind::Compressed => "compressed",
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
    /// A batch's chunk proofs, aggregated into one: [`ProofKind::Batch`] for L1, or
    /// [`ProofKind::RecursiveBatch`] for the compression stage (`recursive`).
    Batch {
        /// The batch's index.
        index: u64,
        /// Its chunks' [`ProofKind::RecursiveChunk`] artifacts, in order, each made at the batch's
        /// challenge (at depth `d ≥ 1`, the top level's node artifacts).
        chunks: Vec<ProofArtifact>,
        /// Its chunks' records, in order: the batch circuit ties them to the chunks' commitments
        /// and evaluates them.
        records: Vec<Vec<Record>>,
        /// What the core computed of the batch: `old_root, new_root, C_B, z, Y_L1, y_lo, y_hi`,
        /// the public inputs the batch proof must have after its accumulator.
        expected: [Fr; BATCH_INPUTS],
        /// Whether it is made for the compression stage (the Poseidon transcript).
        recursive: bool,
    },
    /// An aggregation node of a batch's tree ([`ProofKind::Node`]): `children` proofs of the level
    /// below, carrying `carried` (the chunk inputs its proof must pass through, padding included).
    Node {
        /// The batch's index.
        batch: u64,
        /// Its level: 1 over chunk proofs.
        level: u32,
        /// Its position in its level, from 0, in batch order.
        position: u32,
        /// 1 to [`crate::node::ARITY`] artifacts of the level below, in order:
        /// [`ProofKind::RecursiveChunk`] at level 1, [`ProofKind::Node`] above.
        children: Vec<ProofArtifact>,
        /// The chunk inputs it carries, in order: its children's, a missing child counted as a
        /// copy of the last (the node pads itself so).
        carried: Vec<[Fr; CHUNK_INPUTS]>,
        /// Its real chunks' records and the blob stream's state before them
        /// ([`NodeRecords::of_batch`]): a level-1 node's witness, and at every level what its
        /// summary must say.
        records: Box<NodeRecords>,
    },
    /// A batch's [`ProofKind::RecursiveBatch`] proof, compressed ([`ProofKind::Compressed`]).
    Compress {
        /// The batch's index.
        index: u64,
        /// The recursive batch proof.
        batch: Box<ProofArtifact>,
        /// What the core computed of the batch, as for [`ProofTask::Batch`]: the compressed
        /// proof passes the batch proof's inputs through.
        expected: [Fr; BATCH_INPUTS],
    },
}

impl ProofTask {
    /// The kind of proof it asks for.
    pub fn kind(&self) -> ProofKind {
        match self {
            ProofTask::Chunk { .. } => ProofKind::Chunk,
            ProofTask::RecursiveChunk { .. } => ProofKind::RecursiveChunk,
            ProofTask::Batch {
                recursive: false, ..
            } => ProofKind::Batch,
            ProofTask::Batch {
                recursive: true, ..
            } => ProofKind::RecursiveBatch,
            ProofTask::Compress { .. } => ProofKind::Compressed,
            ProofTask::Node { .. } => ProofKind::Node,
        }
    }

    /// Its chunk's index in the rollup's chunk sequence, its batch's index for a batch, or a node's
    /// [`node_key`].
    pub fn index(&self) -> u64 {
        match self {
            ProofTask::Chunk { index, .. }
            | ProofTask::RecursiveChunk { index, .. }
            | ProofTask::Batch { index, .. }
            | ProofTask::Compress { index, .. } => *index,
            ProofTask::Node {
                batch,
                level,
                position,
                ..
            } => node_key(*batch, *level, *position),
        }
    }

    /// The chunk it proves (none for a batch).
    pub fn chunk(&self) -> Option<&Chunk> {
        match self {
            ProofTask::Chunk { chunk, .. } | ProofTask::RecursiveChunk { chunk, .. } => Some(chunk),
            ProofTask::Batch { .. } | ProofTask::Compress { .. } | ProofTask::Node { .. } => None,
        }
    }

    /// Whether `artifact` is a proof for this task: its kind, and the public inputs the core computed
    /// ([`ProofTask::public_inputs`]; for a batch, the five after the accumulator, of a batch proof's
    /// [`crate::batch::BATCH_PUBLIC_INPUTS`]). Whether it verifies is the backend's to say, and
    /// whether its key is the one proofs are made with now is the caller's
    /// ([`ProofTask::accepts_from`]).
    pub fn accepts(&self, artifact: &ProofArtifact) -> bool {
        if artifact.kind != self.kind() {
            return false;
        }
        match self {
            ProofTask::Chunk { chunk, .. } | ProofTask::RecursiveChunk { chunk, .. } => {
                artifact.public_inputs == chunk.public_inputs()
            }
            ProofTask::Batch { expected, .. } | ProofTask::Compress { expected, .. } => {
                artifact.public_inputs.len() == crate::batch::BATCH_PUBLIC_INPUTS
                    && artifact.public_inputs[ACCUMULATOR_INPUTS..ACCUMULATOR_INPUTS + BATCH_INPUTS]
                        == expected[..]
            }
            ProofTask::Node {
                level,
                carried,
                records,
                ..
            } => {
                let summary = carried.first().and_then(|c| records.summary(c[3]));
                crate::node::carried_chunks(&artifact.public_inputs, *level).as_ref()
                    == Some(carried)
                    && summary.is_some()
                    && crate::node::summary_of(&artifact.public_inputs, *level)
                        == summary.as_ref().map(|s| &s[..])
            }
        }
    }

    /// Whether `artifact` is a proof for this task ([`ProofTask::accepts`]) under `backend`'s current
    /// key for its kind: a proof stored under a key that governance has since replaced (with the
    /// verifier behind it) would verify against nothing on L1, so it is made again.
    pub fn accepts_from(&self, backend: &dyn Backend, artifact: &ProofArtifact) -> bool {
        self.accepts(artifact) && self.key_in(backend) == Some(artifact.vk_digest)
    }

    /// The digest of the key `backend` proves this task with (a node's is its level's), or `None`
    /// when it does not prove its kind: what a proof queue names as the task's circuit.
    pub fn key_in(&self, backend: &dyn Backend) -> Option<[u8; 32]> {
        match self {
            ProofTask::Node { level, .. } => backend.node_vk_digest(*level),
            _ => backend.vk_digest(self.kind()),
        }
    }

    /// The public inputs its proof must have, as the core computes them; for a batch, the five
    /// after the accumulator (the accumulator is the prover's, the key digest the backend's); for
    /// a node, its chunks' and its summary.
    pub fn public_inputs(&self) -> Vec<Fr> {
        match self {
            ProofTask::Chunk { chunk, .. } | ProofTask::RecursiveChunk { chunk, .. } => {
                chunk.public_inputs().to_vec()
            }
            ProofTask::Batch { expected, .. } | ProofTask::Compress { expected, .. } => {
                expected.to_vec()
            }
            ProofTask::Node {
                carried, records, ..
            } => {
                let mut out = carried.concat();
                out.extend(
                    carried
                        .first()
                        .and_then(|c| records.summary(c[3]))
                        .unwrap_or_default(),
                );
                out
            }
        }
    }
}

/// The index a node task and its stored artifact are known by: batch `batch`, `level`,
/// `position`, as `batch · 2¹⁶ + level · 2⁸ + position` (levels and positions are below 2⁸: a batch
/// holds at most `MAX_CHUNKS_PER_BATCH` chunks), so that a batch's nodes sort together, level by
/// level.
pub fn node_key(batch: u64, level: u32, position: u32) -> u64 {
    (batch << 16) | (u64::from(level & 0xff) << 8) | u64::from(position & 0xff)
}

/// The batch, level and position a [`node_key`] names.
pub fn node_key_parts(key: u64) -> (u64, u32, u32) {
    (key >> 16, ((key >> 8) & 0xff) as u32, (key & 0xff) as u32)
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
    /// What its batch proofs need of L1's batch verifier ([`BatchKey`]); `None` when it does not
    /// prove batches.
    fn batch_key(&self) -> Option<BatchKey> {
        None
    }
    /// The kind of proof L1 verifies from it: [`ProofKind::Batch`], or [`ProofKind::Compressed`]
    /// when it compresses batch proofs.
    fn last_stage(&self) -> ProofKind {
        ProofKind::Batch
    }
    /// Levels of aggregation nodes between the chunk proofs and the batch proof ([`crate::node`]):
    /// 0 when the batch circuit verifies chunk proofs itself.
    fn tree_depth(&self) -> u32 {
        0
    }
    /// The digest of its node key for `level` (1 to [`Backend::tree_depth`]), or `None`.
    fn node_vk_digest(&self, level: u32) -> Option<[u8; 32]> {
        let _ = level;
        None
    }
}

/// What a backend's batch proofs need of the verifier L1 runs them through, all of it checkable
/// against the deployed contracts before the first proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchKey {
    /// The chunk key digest its proofs carry (the adapter's `KEY_DIGEST`).
    pub chunk_key_digest: Fr,
    /// Chunk proofs per batch proof (the adapter's `CAPACITY`).
    pub capacity: usize,
    /// The transcript representation of the verifying key of the proofs L1 verifies (the batch
    /// key, or the compression key when it compresses), which the generated verifier's code
    /// carries ([`crate::batch::verifier_pins`]).
    pub transcript_repr: Fr,
}

/// The digest that names a verifying key: keccak-256 of its serialization (halo2's raw bytes).
/// Two artifacts with the same digest verify against the same key.
pub fn vk_digest(vk: &VerifyingKey<G1Affine>) -> [u8; 32] {
    alloy_primitives::keccak256(vk.to_bytes(SerdeFormat::RawBytes)).0
}

/// Proves in this process, on the CPU: chunks always, batches once given a batch prover
/// ([`CpuBackend::with_batch`]), and compresses them once given a compression prover
/// ([`CpuBackend::with_compress`]). In a build with the `cuda` feature the halo2 it calls runs its
/// MSMs and FFTs on the GPU, with the same keys and proof bytes ([`crate::BACKEND`]).
#[derive(Debug)]
pub struct CpuBackend {
    chunk: ChunkProver,
    chunk_vk: [u8; 32],
    batch: Option<(BatchProver, [u8; 32])>,
    compress: Option<(CompressProver, [u8; 32])>,
    /// Node provers by level, from 1.
    nodes: Vec<(NodeProver, [u8; 32])>,
}

impl CpuBackend {
    /// A backend proving chunks with `chunk`.
    pub fn new(chunk: ChunkProver) -> CpuBackend {
        let chunk_vk = vk_digest(chunk.vk());
        CpuBackend {
            chunk,
            chunk_vk,
            batch: None,
            compress: None,
            nodes: Vec::new(),
        }
    }

    /// Its chunk prover.
    pub fn chunk(&self) -> &ChunkProver {
        &self.chunk
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

    /// The same, proving the aggregation nodes of a tree with `nodes` (levels 1, 2, … in order);
    /// its batch prover must be over the top level's proofs
    /// ([`BatchProver::load_over_nodes`]). Refused unless the levels follow one another.
    pub fn with_nodes(mut self, nodes: Vec<NodeProver>) -> Result<CpuBackend> {
        for (i, node) in nodes.iter().enumerate() {
            if node.level() as usize != i + 1 {
                return Err(ProverError::Halo2(format!(
                    "node prover {i} is of level {}, not {}",
                    node.level(),
                    i + 1
                )));
            }
        }
        self.nodes = nodes
            .into_iter()
            .map(|n| {
                let digest = vk_digest(n.vk());
                (n, digest)
            })
            .collect();
        Ok(self)
    }

    /// The same, compressing its batch proofs with `compress` (made for its batch prover's key):
    /// L1 then verifies [`ProofKind::Compressed`] proofs.
    pub fn with_compress(mut self, compress: CompressProver) -> CpuBackend {
        let digest = vk_digest(compress.vk());
        self.compress = Some((compress, digest));
        self
    }

    fn prove_batch(
        &self,
        kind: ProofKind,
        chunks: &[ProofArtifact],
        records: &[Vec<Record>],
        expected: &[Fr; BATCH_INPUTS],
    ) -> Result<ProofArtifact> {
        let (batch, digest) = self.batch.as_ref().ok_or(ProverError::NoProver(kind))?;
        let depth = batch.tree().depth();
        if depth as usize != self.nodes.len() {
            return Err(ProverError::NoProver(ProofKind::Node));
        }
        if depth > 0 {
            return self.prove_batch_over_nodes(kind, chunks, records, expected, depth);
        }
        for (index, artifact) in chunks.iter().enumerate() {
            if artifact.kind != ProofKind::RecursiveChunk || artifact.vk_digest != self.chunk_vk {
                return Err(ProverError::InvalidChunkProof { index });
            }
        }
        // The chunk proofs must fold into what the core computed before minutes go into a batch
        // proof of them (a chunk proof made at another batch's challenge would not).
        let folded = chunks
            .iter()
            .map(|a| <[Fr; CHUNK_INPUTS]>::try_from(a.public_inputs.as_slice()).ok())
            .collect::<Option<Vec<_>>>()
            .and_then(|inputs| rollup_circuits::batch::fold(&inputs, records, batch.slots()));
        if folded.as_ref() != Some(expected) {
            return Err(ProverError::UnexpectedInputs(kind));
        }
        let inputs: Vec<(Vec<Fr>, Vec<u8>)> = chunks
            .iter()
            .map(|a| (a.public_inputs.clone(), a.proof.clone()))
            .collect();
        let proven = batch.prove(&inputs, records, kind.transcript())?;
        batch_artifact(kind, proven, expected, *digest)
    }

    /// The batch task over the top level's node artifacts `nodes`: the batch's chunks are the first
    /// `records.len()` they carry, which must fold to `expected`.
    fn prove_batch_over_nodes(
        &self,
        kind: ProofKind,
        nodes: &[ProofArtifact],
        records: &[Vec<Record>],
        expected: &[Fr; BATCH_INPUTS],
        depth: u32,
    ) -> Result<ProofArtifact> {
        let (batch, digest) = self.batch.as_ref().ok_or(ProverError::NoProver(kind))?;
        let key = self.node_vk_digest(depth);
        let mut carried = Vec::new();
        for (index, artifact) in nodes.iter().enumerate() {
            let chunks = crate::node::carried_chunks(&artifact.public_inputs, depth)
                .filter(|_| artifact.kind == ProofKind::Node && Some(artifact.vk_digest) == key)
                .ok_or(ProverError::InvalidChunkProof { index })?;
            carried.extend(chunks);
        }
        let folded = carried
            .get(..records.len())
            .and_then(|real| rollup_circuits::batch::fold(real, records, batch.slots()));
        if folded.as_ref() != Some(expected) {
            return Err(ProverError::UnexpectedInputs(kind));
        }
        let inputs: Vec<(Vec<Fr>, Vec<u8>)> = nodes
            .iter()
            .map(|a| (a.public_inputs.clone(), a.proof.clone()))
            .collect();
        let proven = batch.prove_nodes(&inputs, records, kind.transcript())?;
        batch_artifact(kind, proven, expected, *digest)
    }

    fn prove_node(
        &self,
        level: u32,
        children: &[ProofArtifact],
        carried: &[[Fr; CHUNK_INPUTS]],
        records: &NodeRecords,
    ) -> Result<ProofArtifact> {
        let kind = ProofKind::Node;
        let (node, digest) = level
            .checked_sub(1)
            .and_then(|i| self.nodes.get(i as usize))
            .ok_or(ProverError::NoProver(kind))?;
        let (child_kind, child_key) = match level {
            1 => (ProofKind::RecursiveChunk, Some(self.chunk_vk)),
            _ => (ProofKind::Node, self.node_vk_digest(level - 1)),
        };
        for (index, artifact) in children.iter().enumerate() {
            if artifact.kind != child_kind || Some(artifact.vk_digest) != child_key {
                return Err(ProverError::InvalidChunkProof { index });
            }
        }
        let inputs: Vec<(Vec<Fr>, Vec<u8>)> = children
            .iter()
            .map(|a| (a.public_inputs.clone(), a.proof.clone()))
            .collect();
        let (public_inputs, proof) = node.prove(&inputs, records)?;
        if crate::node::carried_chunks(&public_inputs, level).as_deref() != Some(carried) {
            return Err(ProverError::UnexpectedInputs(kind));
        }
        Ok(ProofArtifact {
            kind,
            public_inputs,
            proof,
            vk_digest: *digest,
        })
    }

    fn compress(
        &self,
        batch: &ProofArtifact,
        expected: &[Fr; BATCH_INPUTS],
    ) -> Result<ProofArtifact> {
        let kind = ProofKind::Compressed;
        let (compress, digest) = self.compress.as_ref().ok_or(ProverError::NoProver(kind))?;
        if batch.kind != ProofKind::RecursiveBatch
            || Some(batch.vk_digest) != self.vk_digest(ProofKind::RecursiveBatch)
        {
            return Err(ProverError::InvalidBatchProof);
        }
        passes_through(kind, &batch.public_inputs, expected)?;
        let proven = compress.prove(&batch.public_inputs, &batch.proof, kind.transcript())?;
        batch_artifact(kind, proven, expected, *digest)
    }
}

/// A batch stage's artifact of `kind` from what its prover returned, refused unless its public inputs
/// pass `expected` through.
fn batch_artifact(
    kind: ProofKind,
    (public_inputs, proof): (Vec<Fr>, Vec<u8>),
    expected: &[Fr; BATCH_INPUTS],
    vk_digest: [u8; 32],
) -> Result<ProofArtifact> {
    passes_through(kind, &public_inputs, expected)?;
    Ok(ProofArtifact {
        kind,
        public_inputs,
        proof,
        vk_digest,
    })
}

/// Refuses batch-proof public inputs whose five after the accumulator are not `expected`.
fn passes_through(
    kind: ProofKind,
    public_inputs: &[Fr],
    expected: &[Fr; BATCH_INPUTS],
) -> Result<()> {
    if public_inputs.get(ACCUMULATOR_INPUTS..ACCUMULATOR_INPUTS + BATCH_INPUTS)
        != Some(expected.as_slice())
    {
        return Err(ProverError::UnexpectedInputs(kind));
    }
    Ok(())
}

impl Backend for CpuBackend {
    /// [`crate::BACKEND`]: `cuda` in a build with the `cuda` feature, whose halo2 proves on the GPU.
    fn name(&self) -> &str {
        crate::BACKEND
    }

    fn params_digest(&self) -> [u8; 32] {
        self.chunk.params_digest()
    }

    fn vk_digest(&self, kind: ProofKind) -> Option<[u8; 32]> {
        match kind {
            // One circuit, one key: the transcript is the prover's choice, not the key's.
            ProofKind::Chunk | ProofKind::RecursiveChunk => Some(self.chunk_vk),
            ProofKind::Batch | ProofKind::RecursiveBatch => {
                self.batch.as_ref().map(|(_, digest)| *digest)
            }
            ProofKind::Compressed => self.compress.as_ref().map(|(_, digest)| *digest),
            // One key per level: `node_vk_digest`.
            ProofKind::Node => None,
        }
    }

    fn tree_depth(&self) -> u32 {
        self.nodes.len() as u32
    }

    fn node_vk_digest(&self, level: u32) -> Option<[u8; 32]> {
        let i = level.checked_sub(1)?;
        self.nodes.get(i as usize).map(|(_, digest)| *digest)
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
                chunks,
                records,
                expected,
                ..
            } => self.prove_batch(kind, chunks, records, expected),
            ProofTask::Compress {
                batch, expected, ..
            } => self.compress(batch, expected),
            ProofTask::Node {
                level,
                children,
                carried,
                records,
                ..
            } => self.prove_node(*level, children, carried, records),
        }
    }

    fn batch_key(&self) -> Option<BatchKey> {
        let batch = self.batch()?;
        Some(BatchKey {
            chunk_key_digest: batch.key_digest(),
            capacity: batch.capacity(),
            transcript_repr: match &self.compress {
                Some((compress, _)) => compress.vk().transcript_repr(),
                None => batch.transcript_repr(),
            },
        })
    }

    fn last_stage(&self) -> ProofKind {
        if self.compress.is_some() {
            ProofKind::Compressed
        } else {
            ProofKind::Batch
        }
    }

    fn verify(&self, artifact: &ProofArtifact) -> Result<bool> {
        // A proof a parent stage verifies in-circuit must be exactly its protocol's length: native
        // verification ignores bytes appended to a valid proof, which the parent refuses, so such an
        // artifact stored from a worker would fail its parent on every attempt.
        let exact = match artifact.kind {
            ProofKind::RecursiveChunk => Some(crate::batch::chunk_protocol(
                self.chunk.params(),
                self.chunk.vk(),
            )),
            ProofKind::RecursiveBatch => self
                .batch
                .as_ref()
                .map(|(b, _)| crate::compress::batch_protocol(b.params(), b.vk())),
            _ => None,
        };
        if exact.is_some_and(|p| crate::batch::proof_length(&p) != artifact.proof.len()) {
            return Ok(false);
        }
        if artifact.kind == ProofKind::Node {
            // Its level is the one whose node inputs it has.
            let level = (1..=self.tree_depth())
                .find(|l| artifact.public_inputs.len() == crate::node::node_inputs(*l));
            return match level {
                Some(level) if self.node_vk_digest(level) == Some(artifact.vk_digest) => {
                    match self.nodes.get(level as usize - 1) {
                        Some((node, _)) => node.verify(&artifact.public_inputs, &artifact.proof),
                        None => Ok(false),
                    }
                }
                _ => Ok(false),
            };
        }
        if self.vk_digest(artifact.kind) != Some(artifact.vk_digest) {
            return Ok(false);
        }
        let transcript = artifact.kind.transcript();
        match artifact.kind {
            ProofKind::Chunk | ProofKind::RecursiveChunk => crate::verify_with(
                self.chunk.params(),
                self.chunk.vk(),
                std::slice::from_ref(&artifact.public_inputs),
                &artifact.proof,
                transcript,
            ),
            ProofKind::Batch | ProofKind::RecursiveBatch => match &self.batch {
                Some((batch, _)) => {
                    batch.verify(&artifact.public_inputs, &artifact.proof, transcript)
                }
                None => Ok(false),
            },
            ProofKind::Compressed => match &self.compress {
                Some((compress, _)) => {
                    compress.verify(&artifact.public_inputs, &artifact.proof, transcript)
                }
                None => Ok(false),
            },
            ProofKind::Node => Ok(false),
        }
    }
}
