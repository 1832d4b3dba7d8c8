//! Aggregation nodes: a tree below the batch circuit, so that a batch of more chunks than one
//! circuit can verify on a real machine is still one batch proof.
//!
//! The batch circuit ([`crate::batch`]) verifies its children in-circuit and applies the batch
//! rules to the chunk inputs they carry. At depth 0 its children are chunk proofs: capacity 4 at
//! k = 21 (13.3 GiB) is the most this 24 GB machine holds. A **node** verifies [`ARITY`] proofs of
//! the level below (chunk proofs at level 1, nodes of level `l − 1` at level `l`) and passes every
//! chunk's five public inputs (`old_root, new_root, C, z, y`) through, in order, with the chunk
//! key's digest. A node of level `l` therefore carries `ARITY^l` chunks' inputs, and a batch
//! circuit over `f` such nodes holds `f · ARITY^l` chunks. The rules *between* chunks (roots,
//! challenge, commitment chain) are applied once, at the top, on the flat list. The rules *per
//! slot* are the nodes' (`rollup_circuits::tree`): a level-1 node takes its chunks' records
//! ([`NodeRecords`]), ties them to the chunks' commitments, streams them into the blob from the
//! stream state the records before them left, and evaluates the L1 list; it exposes a
//! [`Summary`](rollup_circuits::tree::Summary) of that, and every node above joins its children's.
//! So the batch circuit over nodes takes no record and costs the same for any number of slots.
//! Padding (at any level, a copy of the last real proof of that level) changes nothing: a node's
//! second child is real only when it was given two.
//!
//! Nodes of one level are independent (workers can prove them in parallel; the in-process operator runs
//! them one at a time), and each node is the size of
//! a capacity-2 batch circuit (k = 20, ≈ 6.6 GiB, `docs/benchmarks.md`). A node's public inputs are
//! its accumulator (the pairing left over from everything below it, folded), the chunks' inputs and
//! the digest ([`node_inputs`]).
//!
//! Keys: a level-1 node loads the chunk keys as witnesses and hashes them to the digest
//! ([`crate::batch::key_digest`]), all equal, as the depth-0 batch circuit does; a node above level 1,
//! and a batch circuit over nodes, has its children's verifying key as constants (one node circuit
//! per level, [`Children::Nodes`]) and constrains the digests its children carry to be equal. So
//! every proof in the tree is pinned to one chunk key, and L1, which pins the digest, sees the same
//! public inputs whatever the depth.

use std::path::Path;

use halo2_base::AssignedValue;
use halo2_base::gates::RangeInstructions;
use halo2_base::gates::circuit::CircuitBuilderStage;
use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, G1Affine};
use halo2_base::halo2_proofs::plonk::{ProvingKey, VerifyingKey};
use halo2_base::halo2_proofs::poly::commitment::Params;
use halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use rollup_circuits::Fr;
pub use rollup_circuits::batch::CHUNK_INPUTS;
pub use rollup_circuits::tree::SUMMARY_INPUTS;
use rollup_circuits::tree::{NativeSummary, Summary};
use rollup_protocol::blob::StreamState;
use rollup_protocol::codec::Record;
use rollup_protocol::constants::RECORD_FIELDS;
use rollup_protocol::constants::TAG_KEY;
use snark_verifier_sdk::halo2::aggregation::{
    AggregationCircuit, AggregationConfigParams, VerifierUniversality,
};
use snark_verifier_sdk::snark_verifier::system::halo2::{Config, compile};
use snark_verifier_sdk::snark_verifier::verifier::plonk::PlonkProtocol;
use snark_verifier_sdk::{CircuitExt, SHPLONK, Snark};

use crate::batch::{
    ACCUMULATOR_INPUTS, BatchLayout, cached_keys, proof_length, prove_aggregation, same_srs,
    vk_prefix,
};
use crate::{ProverError, Result, Transcript};

/// Proofs per node: two, the smallest fan-in, so that a node is as small as aggregation gets
/// (two proofs' verification, the size of a capacity-2 batch circuit).
pub const ARITY: usize = 2;

/// log2 of a node circuit's rows: two proofs' verification (≈ 12M advice cells) in 12 advice
/// columns.
pub const DEFAULT_K: u32 = 20;

/// The node circuit's version: part of the name of every cached node key. Bump it with any change
/// to the node circuit's constraints or layout. 2: the per-slot batch rules and the summary.
pub const VERSION: u32 = 2;

/// What an aggregation circuit (a node, or the batch circuit) verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Children {
    /// Chunk proofs, their keys loaded as witnesses and hashed to the chunk key digest.
    Chunks,
    /// Proofs of the node circuit of `level` (1 or more), each carrying `ARITY^level` chunks'
    /// inputs; that circuit's key is a constant.
    Nodes {
        /// The children's level.
        level: u32,
    },
}

impl Children {
    /// Chunks each child carries: 1 for a chunk proof, `ARITY^level` for a node.
    pub fn chunks_each(self) -> usize {
        match self {
            Children::Chunks => 1,
            Children::Nodes { level } => ARITY.pow(level),
        }
    }

    /// Public inputs of each child proof.
    pub fn public_inputs(self) -> usize {
        match self {
            Children::Chunks => CHUNK_INPUTS,
            Children::Nodes { level } => node_inputs(level),
        }
    }

    /// The level of a node over these children.
    pub fn parent_level(self) -> u32 {
        match self {
            Children::Chunks => 1,
            Children::Nodes { level } => level + 1,
        }
    }

    /// How their keys enter the circuit: as witnesses (chunk keys, hashed to the digest the
    /// circuit exposes) or as constants (a node key: one circuit per level).
    pub(crate) fn universality(self) -> VerifierUniversality {
        match self {
            Children::Chunks => VerifierUniversality::PreprocessedAsWitness,
            Children::Nodes { .. } => VerifierUniversality::None,
        }
    }

    /// snark-verifier's view of a child's circuit: its protocol compiled from `vk` at `params`'
    /// size, one instance column; a node's leads with an accumulator to fold.
    pub fn protocol(
        self,
        params: &ParamsKZG<Bn256>,
        vk: &VerifyingKey<G1Affine>,
    ) -> PlonkProtocol<G1Affine> {
        let config = Config::kzg().with_num_instance(vec![self.public_inputs()]);
        let config = match self {
            Children::Chunks => config,
            Children::Nodes { .. } => {
                config.with_accumulator_indices(AggregationCircuit::accumulator_indices())
            }
        };
        compile(params, vk, config)
    }
}

/// Public inputs of a node of `level`: its accumulator, `ARITY^level` chunks' five, its summary
/// ([`SUMMARY_INPUTS`]), the chunk key digest.
pub fn node_inputs(level: u32) -> usize {
    ACCUMULATOR_INPUTS + ARITY.pow(level) * CHUNK_INPUTS + SUMMARY_INPUTS + 1
}

/// Each chunk's records as their three elements each, as the circuits take them.
type ChunkElements = Vec<Vec<[Fr; RECORD_FIELDS]>>;

/// The records of a node's real chunks (in order) and the blob stream's state before the first of
/// them (the batch's records before it): a level-1 node's witness, and at every level what its
/// summary must say ([`NodeRecords::summary`]). [`NodeRecords::of_batch`] cuts them out of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct NodeRecords {
    /// Each real chunk's records.
    pub records: Vec<Vec<Record>>,
    /// The stream's state after the batch's records before these.
    pub start: StreamState,
}

impl NodeRecords {
    /// The records of the node of `level` at `position` of a batch whose chunks' records are
    /// `batch`: its chunks `ARITY^level · position …` (at most `ARITY^level`), and the state the
    /// chunks before left. Empty records past the batch's end.
    pub fn of_batch(batch: &[Vec<Record>], level: u32, position: usize) -> Result<NodeRecords> {
        let each = ARITY.pow(level);
        let first = (position * each).min(batch.len());
        let before: Vec<Record> = batch[..first].iter().flatten().copied().collect();
        let before =
            rollup_protocol::codec::encode_chunk(&before).map_err(|_| ProverError::NotOneBatch)?;
        Ok(NodeRecords {
            records: batch[first..(first + each).min(batch.len())].to_vec(),
            start: StreamState::after(&before),
        })
    }

    /// The summary a node over these chunks exposes at the challenge `z`
    /// ([`NativeSummary::of_leaf`]: a node above level 1 joins its children's into the same), or
    /// `None` for records that do not encode.
    pub fn summary(&self, z: Fr) -> Option<[Fr; SUMMARY_INPUTS]> {
        if !self.start_is_canonical() {
            return None;
        }
        NativeSummary::of_leaf(&self.records, self.start, z).map(|s| s.inputs())
    }

    /// Whether the start is a state some bytes leave: fill below 31, zeros after it (records from
    /// the wire are checked before use).
    pub fn start_is_canonical(&self) -> bool {
        self.start
            .window
            .get(self.start.fill..)
            .is_some_and(|rest| rest.iter().all(|b| *b == 0))
            && self.start.fill < self.start.window.len()
    }

    /// The witness [`rollup_circuits::tree::leaf`] takes for `chunks` children (the last record
    /// list repeated for a padding child), `slots` per chunk: each record's three elements and the
    /// start as its open word and fill.
    fn witness(&self, chunks: usize, slots: usize) -> Result<(ChunkElements, [Fr; 2])> {
        let mut out = Vec::with_capacity(chunks);
        for records in &self.records {
            if records.len() != slots {
                return Err(ProverError::NotOneBatch);
            }
            out.push(
                records
                    .iter()
                    .map(Record::fields)
                    .collect::<std::result::Result<Vec<_>, _>>()
                    .map_err(|_| ProverError::NotOneBatch)?,
            );
        }
        let last = out.last().cloned().ok_or(ProverError::NotOneBatch)?;
        out.resize(chunks.max(out.len()), last);
        Ok((
            out,
            [self.start.window_native(), Fr::from(self.start.fill as u64)],
        ))
    }
}

/// The chunk inputs an aggregation circuit's `children` carry, in order, as its witnesses: each
/// chunk proof's five, or each node proof's after its accumulator and before its summary. Assigns
/// nothing new.
pub(crate) fn chunk_inputs(
    circuit: &AggregationCircuit,
    children: Children,
) -> Result<Vec<[AssignedValue<Fr>; CHUNK_INPUTS]>> {
    let shape = || ProverError::Halo2("a child proof has the wrong number of public inputs".into());
    let mut chunks = Vec::new();
    for inputs in circuit.previous_instances() {
        if inputs.len() != children.public_inputs() {
            return Err(shape());
        }
        let carried = match children {
            Children::Chunks => inputs.as_slice(),
            Children::Nodes { .. } => inputs
                .get(ACCUMULATOR_INPUTS..ACCUMULATOR_INPUTS + children.chunks_each() * CHUNK_INPUTS)
                .ok_or_else(shape)?,
        };
        for chunk in carried.chunks_exact(CHUNK_INPUTS) {
            chunks.push(<[_; CHUNK_INPUTS]>::try_from(chunk).map_err(|_| shape())?);
        }
    }
    Ok(chunks)
}

/// The summaries node proofs (`children`, nodes) carry, as the circuit's witnesses, loaded as
/// [`Summary`]s; none for chunk proofs.
pub(crate) fn summaries(
    circuit: &mut AggregationCircuit,
    children: Children,
) -> Result<Vec<Summary>> {
    let Children::Nodes { .. } = children else {
        return Ok(Vec::new());
    };
    let at = ACCUMULATOR_INPUTS + children.chunks_each() * CHUNK_INPUTS;
    let cells: Vec<[AssignedValue<Fr>; SUMMARY_INPUTS]> = circuit
        .previous_instances()
        .iter()
        .map(|inputs| {
            inputs
                .get(at..at + SUMMARY_INPUTS)
                .and_then(|s| <[AssignedValue<Fr>; SUMMARY_INPUTS]>::try_from(s).ok())
        })
        .collect::<Option<_>>()
        .ok_or_else(|| ProverError::Halo2("a node proof without its summary".into()))?;
    let range = circuit.builder.range_chip();
    let fp = rollup_circuits::blob::chip(&range);
    let ctx = circuit.builder.main(0);
    Ok(cells.iter().map(|c| Summary::load(ctx, &fp, c)).collect())
}

/// The chunk key digest of an aggregation circuit's `children`, constrained to be the same for all
/// of them: chunk proofs' keys (witnesses) hashed in-circuit as [`crate::batch::key_digest`] does,
/// or the digests node proofs carry as their last public input.
pub(crate) fn chunk_key_digest(
    circuit: &mut AggregationCircuit,
    children: Children,
) -> Result<AssignedValue<Fr>> {
    let none = || ProverError::Halo2("an aggregation circuit of no proofs".into());
    let digests: Vec<AssignedValue<Fr>> = match children {
        Children::Chunks => {
            let keys: Vec<_> = circuit
                .preprocessed()
                .iter()
                .map(|p| p.preprocessed.clone())
                .collect();
            let range = circuit.builder.range_chip();
            let gate = range.gate();
            let ctx = circuit.builder.main(0);
            keys.iter()
                .map(|key| rollup_circuits::batch::hash(ctx, gate, TAG_KEY, key))
                .collect()
        }
        Children::Nodes { .. } => circuit
            .previous_instances()
            .iter()
            .map(|inputs| inputs.last().copied())
            .collect::<Option<_>>()
            .ok_or_else(none)?,
    };
    let (digest, others) = digests.split_first().ok_or_else(none)?;
    let ctx = circuit.builder.main(0);
    for other in others {
        ctx.constrain_equal(digest, other);
    }
    Ok(*digest)
}

/// The node circuit over `snarks` (1 to [`ARITY`] proofs of `children`, in batch order; fewer are
/// padded with the last again, and the copy is not real) at `stage`, with the columns of `config`,
/// for chunks of `slots` slots; a level-1 node takes its chunks' `leaf` records. Its public
/// inputs: the accumulator, the children's chunk inputs, its summary, the chunk key digest
/// ([`node_inputs`]).
pub fn circuit(
    stage: CircuitBuilderStage,
    config: AggregationConfigParams,
    params: &ParamsKZG<Bn256>,
    mut snarks: Vec<Snark>,
    children: Children,
    slots: usize,
    leaf: Option<&NodeRecords>,
) -> Result<AggregationCircuit> {
    let given = snarks.len();
    let size = || ProverError::BatchSize {
        chunks: given * children.chunks_each(),
        capacity: ARITY * children.chunks_each(),
    };
    if given > ARITY {
        return Err(size());
    }
    let flags: Vec<bool> = (0..ARITY).map(|i| i < given).collect();
    let last = snarks.last().cloned().ok_or_else(size)?;
    snarks.resize(ARITY, last);
    let mut circuit =
        AggregationCircuit::new::<SHPLONK>(stage, config, params, snarks, children.universality());
    let chunks = chunk_inputs(&circuit, children)?;
    let parts = summaries(&mut circuit, children)?;
    let range = circuit.builder.range_chip();
    let ctx = circuit.builder.main(0);
    let summary = match children {
        Children::Chunks => {
            let leaf = leaf.ok_or(ProverError::NotOneBatch)?;
            let (records, start) = leaf.witness(chunks.len(), slots)?;
            rollup_circuits::tree::leaf(ctx, &range, &chunks, &records, &flags, start, slots)
        }
        Children::Nodes { .. } => {
            let z = chunks.first().ok_or_else(size)?[3];
            rollup_circuits::tree::join(
                ctx,
                &range,
                &parts,
                &flags,
                children.chunks_each(),
                slots,
                z,
            )
        }
    }
    .ok_or_else(size)?;
    let digest = chunk_key_digest(&mut circuit, children)?;
    let public = &mut circuit.builder.assigned_instances[0];
    public.extend(chunks.into_iter().flatten());
    public.extend(summary.inputs());
    public.push(digest);
    Ok(circuit)
}

/// Generates a node circuit's keys and layout at `params`' `2^k` rows for proofs of `child`
/// (`children`' protocol; dummy proofs of its shape, and Noop records, stand in), for chunks of
/// `slots` slots.
pub fn keygen(
    params: &ParamsKZG<Bn256>,
    child: &PlonkProtocol<G1Affine>,
    children: Children,
    slots: usize,
) -> Result<(ProvingKey<G1Affine>, BatchLayout)> {
    let dummy = snark_verifier_sdk::halo2::gen_dummy_snark_from_protocol::<SHPLONK>(child.clone());
    let leaf = NodeRecords {
        records: vec![vec![Record::Noop; slots]; ARITY],
        start: StreamState::default(),
    };
    crate::batch::aggregation_keygen(params, |config| {
        circuit(
            CircuitBuilderStage::Keygen,
            config,
            params,
            vec![dummy.clone(); ARITY],
            children,
            slots,
            Some(&leaf),
        )
    })
}

/// Everything needed to prove one level's nodes: the SRS at the node circuit's size, its keys and
/// layout, and its children's protocol.
pub struct NodeProver {
    params: ParamsKZG<Bn256>,
    pk: ProvingKey<G1Affine>,
    layout: BatchLayout,
    child: PlonkProtocol<G1Affine>,
    children: Children,
    key_digest: Fr,
    shape: crate::NodeShape,
}

impl std::fmt::Debug for NodeProver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeProver")
            .field("k", &self.params.k())
            .field("level", &self.level())
            .field("layout", &self.layout.config)
            .finish()
    }
}

impl NodeProver {
    /// Level-1 nodes over `chunk`'s proofs: loads the SRS (`srs`, at `2^k` points; the chunk
    /// circuit's secret) and the node keys, cached under `cache` (generated on first use, named by
    /// [`VERSION`], the level, the child key and the SRS; trusted by their name, as batch keys).
    pub fn over_chunks(
        cache: &Path,
        srs: &crate::SrsSource,
        chunk: &crate::ChunkProver,
        k: u32,
    ) -> Result<NodeProver> {
        let params = same_srs(srs, cache, k, chunk.params_digest(), "node", "chunk")?;
        let chunk_shape = crate::ChunkShape {
            slots: chunk.slots(),
            chain_id: chunk.chain_id(),
            k: chunk.params().k(),
        };
        let chunk_vk = vk_prefix(chunk.vk());
        let child = Children::Chunks.protocol(chunk.params(), chunk.vk());
        let key_digest = crate::batch::key_digest(&child)?;
        Self::load(
            cache,
            params,
            child,
            Children::Chunks,
            key_digest,
            crate::NodeShape {
                chunk: chunk_shape,
                chunk_vk,
                level: 1,
                child_vk: chunk_vk,
                k,
            },
        )
    }

    /// Nodes one level above `below`'s, at `2^k` rows (the same SRS secret), keys cached as for
    /// [`NodeProver::over_chunks`].
    pub fn over_nodes(
        cache: &Path,
        srs: &crate::SrsSource,
        below: &NodeProver,
        k: u32,
    ) -> Result<NodeProver> {
        let params = same_srs(
            srs,
            cache,
            k,
            crate::ptau::params_digest(below.params()),
            "node",
            "lower node",
        )?;
        let children = Children::Nodes {
            level: below.level(),
        };
        let child = children.protocol(below.params(), below.vk());
        Self::load(
            cache,
            params,
            child,
            children,
            below.key_digest(),
            crate::NodeShape {
                level: below.level() + 1,
                child_vk: vk_prefix(below.vk()),
                k,
                ..below.shape
            },
        )
    }

    fn load(
        cache: &Path,
        params: ParamsKZG<Bn256>,
        child: PlonkProtocol<G1Affine>,
        children: Children,
        key_digest: Fr,
        shape: crate::NodeShape,
    ) -> Result<NodeProver> {
        let path =
            crate::ArtifactCache::new(cache).node_pk(&shape, &crate::ptau::params_digest(&params));
        let slots = shape.chunk.slots;
        let (pk, layout) = cached_keys(&path, "node", || keygen(&params, &child, children, slots))?;
        Ok(NodeProver {
            params,
            pk,
            layout,
            child,
            children,
            key_digest,
            shape,
        })
    }

    /// Its level: 1 over chunk proofs.
    pub fn level(&self) -> u32 {
        self.children.parent_level()
    }

    /// What its proofs verify.
    pub fn children(&self) -> Children {
        self.children
    }

    /// Chunks each of its proofs carries: `ARITY^level`.
    pub fn chunks(&self) -> usize {
        ARITY * self.children.chunks_each()
    }

    /// What its keys were made for (the name they are cached under).
    pub fn shape(&self) -> crate::NodeShape {
        self.shape
    }

    /// The parameters (SRS) this prover holds.
    pub fn params(&self) -> &ParamsKZG<Bn256> {
        &self.params
    }

    /// The node circuit's verifying key.
    pub fn vk(&self) -> &VerifyingKey<G1Affine> {
        self.pk.get_vk()
    }

    /// The layout fixed at key generation.
    pub fn layout(&self) -> &BatchLayout {
        &self.layout
    }

    /// The digest of the chunk verifying key every proof below it has.
    pub fn key_digest(&self) -> Fr {
        self.key_digest
    }

    /// A child proof (`public_inputs`, `proof`) as the node circuit takes it.
    pub fn snark(&self, public_inputs: &[Fr], proof: &[u8]) -> Snark {
        Snark::new(
            self.child.clone(),
            vec![public_inputs.to_vec()],
            proof.to_vec(),
        )
    }

    /// Proves a node over `children` (1 to [`ARITY`] proofs of the level below, public inputs and
    /// bytes, made with the Poseidon transcript, in batch order), for the level above (the
    /// Poseidon transcript); returns its public inputs ([`node_inputs`]) and bytes, checked
    /// natively, its summary included (against `records`, its real chunks' records and the stream
    /// state before them: else [`ProverError::InvalidProof`]). A level-1 node takes the records as
    /// its witness: one list per child, each hashing to its chunk's commitment, else
    /// [`ProverError::NotOneBatch`]. Every child is
    /// checked first (its length, its inputs' count, its verification with its carried
    /// accumulator, and a node's digest): one that fails is [`ProverError::InvalidChunkProof`]
    /// with its position, never a node proof that fails at the end.
    pub fn prove(
        &self,
        children: &[(Vec<Fr>, Vec<u8>)],
        records: &NodeRecords,
    ) -> Result<(Vec<Fr>, Vec<u8>)> {
        if !records.start_is_canonical() {
            return Err(ProverError::NotOneBatch);
        }
        if self.children == Children::Chunks {
            if records.records.len() != children.len() {
                return Err(ProverError::NotOneBatch);
            }
            for ((inputs, _), records) in children.iter().zip(&records.records) {
                let commitment = rollup_protocol::codec::data_commitment(records).ok();
                if commitment.is_none() || commitment.as_ref() != inputs.get(2) {
                    return Err(ProverError::NotOneBatch);
                }
            }
        }
        let length = proof_length(&self.child);
        let mut snarks = Vec::with_capacity(children.len());
        for (index, (inputs, proof)) in children.iter().enumerate() {
            let snark = self.snark(inputs, proof);
            let digest_ok = match self.children {
                Children::Chunks => true,
                Children::Nodes { .. } => inputs.last() == Some(&self.key_digest),
            };
            if proof.len() != length
                || inputs.len() != self.children.public_inputs()
                || !digest_ok
                || !crate::verify_for_aggregation(&self.params, &snark)
            {
                return Err(ProverError::InvalidChunkProof { index });
            }
            snarks.push(snark);
        }
        let circuit = circuit(
            CircuitBuilderStage::Prover,
            self.layout.config,
            &self.params,
            snarks,
            self.children,
            self.shape.chunk.slots,
            Some(records),
        )?;
        let (public, proof) = prove_aggregation(
            &self.params,
            &self.pk,
            &self.layout,
            circuit,
            Transcript::Poseidon,
        )?;
        // What it says of its chunks is what the core computes of them (the records and the start
        // fix it): a node proof whose summary a batch proof would refuse never leaves here.
        let z = public.get(ACCUMULATOR_INPUTS + 3).copied();
        let expected = z.and_then(|z| records.summary(z));
        if expected.is_none()
            || summary_of(&public, self.level()) != expected.as_ref().map(|s| &s[..])
        {
            return Err(ProverError::InvalidProof);
        }
        Ok((public, proof))
    }
}

impl NodeProver {
    /// Whether a node proof (Poseidon transcript) verifies natively, its accumulator included, with
    /// this level's inputs and the chunk key digest every proof below it has, and is exactly as
    /// long as its parent reads.
    pub fn verify(&self, public_inputs: &[Fr], proof: &[u8]) -> Result<bool> {
        // Exactly its protocol's length, as its parent requires (bytes appended to a valid proof
        // pass native verification but not the parent's).
        let own = Children::Nodes {
            level: self.level(),
        }
        .protocol(&self.params, self.vk());
        Ok(public_inputs.len() == node_inputs(self.level())
            && proof.len() == proof_length(&own)
            && public_inputs.last() == Some(&self.key_digest)
            && crate::batch::verify(
                &self.params,
                self.vk(),
                public_inputs,
                proof,
                Transcript::Poseidon,
            )?)
    }
}

/// A batch circuit and the node levels below it, proving in this process (benches, fixtures): a
/// batch's chunk proofs go up the tree level by level, each level's proofs paired in order (a last
/// one alone is padded by its node), as the operator's coordinator schedules them as tasks.
#[derive(Debug)]
pub struct BatchTree {
    /// Node provers of levels 1, 2, … (none: the batch circuit verifies chunk proofs).
    pub nodes: Vec<NodeProver>,
    /// The batch prover over the top level's proofs.
    pub batch: crate::batch::BatchProver,
}

impl BatchTree {
    /// Proves that `chunks` (chunk proofs with the Poseidon transcript, in batch order, public
    /// inputs and bytes) with `records` (each chunk's) are one batch, with `transcript` for the
    /// batch proof; `progress` hears of
    /// each node proven (level, position, seconds). Returns the batch proof's public inputs and bytes.
    pub fn prove(
        &self,
        chunks: &[(Vec<Fr>, Vec<u8>)],
        records: &[Vec<rollup_protocol::codec::Record>],
        transcript: Transcript,
        mut progress: impl FnMut(u32, usize, f64),
    ) -> Result<(Vec<Fr>, Vec<u8>)> {
        if self.nodes.is_empty() {
            return self.batch.prove(chunks, records, transcript);
        }
        let mut below = chunks.to_vec();
        for node in &self.nodes {
            let mut level = Vec::new();
            for (position, children) in below.chunks(ARITY).enumerate() {
                let started = std::time::Instant::now();
                let mine = NodeRecords::of_batch(records, node.level(), position)?;
                level.push(node.prove(children, &mine)?);
                progress(node.level(), position, started.elapsed().as_secs_f64());
            }
            below = level;
        }
        self.batch.prove_nodes(&below, records, transcript)
    }
}

/// The summary a node proof's `public_inputs` carry (after its chunks' inputs, before the digest);
/// `None` unless it is shaped like a node of `level`'s.
pub fn summary_of(public_inputs: &[Fr], level: u32) -> Option<&[Fr]> {
    if public_inputs.len() != node_inputs(level) {
        return None;
    }
    let at = ACCUMULATOR_INPUTS + ARITY.pow(level) * CHUNK_INPUTS;
    public_inputs.get(at..at + SUMMARY_INPUTS)
}

/// The chunks' public inputs a node proof's `public_inputs` carry (after the accumulator, before
/// the summary), five by five; `None` unless it is shaped like a node of `level`'s.
pub fn carried_chunks(public_inputs: &[Fr], level: u32) -> Option<Vec<[Fr; CHUNK_INPUTS]>> {
    if public_inputs.len() != node_inputs(level) {
        return None;
    }
    public_inputs
        .get(ACCUMULATOR_INPUTS..ACCUMULATOR_INPUTS + ARITY.pow(level) * CHUNK_INPUTS)?
        .chunks_exact(CHUNK_INPUTS)
        .map(|c| <[Fr; CHUNK_INPUTS]>::try_from(c).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
    use halo2_base::halo2_proofs::plonk::keygen_vk;

    /// A verifying key of a tiny circuit with one instance column: enough for snark-verifier to
    /// compile a protocol from.
    fn tiny_vk() -> std::result::Result<(ParamsKZG<Bn256>, VerifyingKey<G1Affine>), ProverError> {
        let mut builder = BaseCircuitBuilder::<Fr>::new(false)
            .use_k(6)
            .use_instance_columns(1);
        let x = builder.main(0).load_witness(Fr::from(3));
        builder.assigned_instances[0].push(x);
        builder.calculate_params(Some(9));
        let params = crate::dev_srs(6);
        let vk = keygen_vk(&params, &builder).map_err(crate::halo2)?;
        Ok((params, vk))
    }

    /// Proofs that carry an accumulator are compiled with it at the head of their instances (the
    /// aggregation circuit then folds it, and a pairing that fails below fails above); chunk proofs
    /// carry none. Without the indices, a node or batch proof's leftover pairing would be dropped,
    /// and any accumulator would pass.
    #[test]
    fn aggregation_proofs_are_compiled_with_their_accumulator() -> Result<()> {
        let (params, vk) = tiny_vk()?;
        let carried: Vec<(usize, usize)> = (0..ACCUMULATOR_INPUTS).map(|i| (0, i)).collect();
        for level in [1, 2, 3] {
            let protocol = Children::Nodes { level }.protocol(&params, &vk);
            assert_eq!(protocol.accumulator_indices, vec![carried.clone()]);
            assert_eq!(protocol.num_instance, vec![node_inputs(level)]);
        }
        assert!(
            Children::Chunks
                .protocol(&params, &vk)
                .accumulator_indices
                .is_empty()
        );
        let batch = crate::compress::batch_protocol(&params, &vk);
        assert_eq!(batch.accumulator_indices, vec![carried]);
        assert_eq!(batch.num_instance, vec![crate::batch::BATCH_PUBLIC_INPUTS]);
        Ok(())
    }

    /// Keys enter as constants wherever the circuit exposes no digest of them (a node over nodes,
    /// the batch circuit over nodes, the compression circuit), and as witnesses only over chunk
    /// proofs, whose key digest is hashed in-circuit and exposed.
    #[test]
    fn keys_are_witnesses_only_where_their_digest_is_exposed() {
        assert_eq!(
            Children::Chunks.universality(),
            VerifierUniversality::PreprocessedAsWitness
        );
        for level in [1, 2, 5] {
            assert_eq!(
                Children::Nodes { level }.universality(),
                VerifierUniversality::None
            );
        }
        assert_eq!(crate::compress::UNIVERSALITY, VerifierUniversality::None);
    }

    /// A start state from the wire is a state some bytes leave, or the records are refused: a
    /// fill of 31 or more, or bytes after the fill, would not be one (and would panic the native
    /// segment).
    #[test]
    fn a_start_state_no_bytes_leave_is_refused() {
        let good = NodeRecords {
            records: vec![vec![Record::Noop; 2]],
            start: StreamState::after(&[9; 40]),
        };
        assert!(good.start_is_canonical());
        assert!(good.summary(Fr::from(5)).is_some());
        let mut full = good.clone();
        full.start.fill = 31;
        assert!(!full.start_is_canonical());
        assert!(full.summary(Fr::from(5)).is_none());
        let mut dirty = good;
        dirty.start.window[30] = 1;
        assert!(!dirty.start_is_canonical());
        assert!(dirty.summary(Fr::from(5)).is_none());
    }

    /// A node of level `l` carries `ARITY^l` chunks, and its inputs are read back in order; inputs
    /// of another length are not a node's.
    #[test]
    fn node_inputs_carry_every_chunk_in_order() {
        assert_eq!(
            node_inputs(1),
            ACCUMULATOR_INPUTS + 2 * CHUNK_INPUTS + SUMMARY_INPUTS + 1
        );
        assert_eq!(Children::Nodes { level: 3 }.chunks_each(), 8);
        assert_eq!(Children::Nodes { level: 3 }.parent_level(), 4);
        assert_eq!(Children::Chunks.parent_level(), 1);
        let inputs: Vec<Fr> = (0..node_inputs(2)).map(|i| Fr::from(i as u64)).collect();
        let chunks = carried_chunks(&inputs, 2).unwrap_or_default();
        assert_eq!(chunks.len(), 4);
        assert_eq!(chunks[0][0], Fr::from(ACCUMULATOR_INPUTS as u64));
        assert_eq!(
            chunks[3][4],
            Fr::from((ACCUMULATOR_INPUTS + 4 * CHUNK_INPUTS - 1) as u64)
        );
        assert_eq!(carried_chunks(&inputs, 1), None);
        assert_eq!(carried_chunks(&inputs[1..], 2), None);
    }
}
