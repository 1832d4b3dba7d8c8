//! The batch stage: one proof that a batch's chunk proofs verify and are one batch.
//!
//! The batch circuit is snark-verifier's aggregation circuit (halo2-base, SHPLONK) over
//! `capacity` chunk proofs made with the Poseidon transcript ([`crate::Transcript::Poseidon`]),
//! with the batch rules of [`rollup_circuits::batch`] on their public inputs. Its public inputs
//! are, in order:
//!
//! - the KZG accumulator, `4 · LIMBS` limbs ([`ACCUMULATOR_INPUTS`]): the two points whose pairing
//!   check finishes the verification of every chunk proof at once (the verifier of this proof
//!   runs it);
//! - the batch's `old_root, new_root, C_B, z, Y_L1, y_lo, y_hi`
//!   ([`rollup_circuits::batch::BATCH_INPUTS`]);
//! - the digest of the chunk verifying key ([`key_digest`]): the chunk keys are witnesses of the
//!   batch circuit (snark-verifier's "preprocessed as witness"), hashed in-circuit, and all equal;
//!   whoever checks a batch proof pins this digest, so a proof of any other circuit, however
//!   shaped, is not a chunk proof to it.
//!
//! A batch of fewer than `capacity` chunks is padded with its last chunk proof again; the batch
//! rules ignore padding (see [`rollup_circuits::batch::constrain`]).
//!
//! Its layout (columns at `2^k` rows and the break points of halo2-base's virtual cells) is fixed
//! at key generation and stored with the key ([`BatchLayout`]).

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use halo2_base::gates::circuit::CircuitBuilderStage;
use halo2_base::gates::flex_gate::MultiPhaseThreadBreakPoints;
use halo2_base::halo2_proofs::SerdeFormat;
use halo2_base::halo2_proofs::halo2curves::CurveAffine;
use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, Fq, G1Affine};
use halo2_base::halo2_proofs::halo2curves::ff::{Field, PrimeField};
use halo2_base::halo2_proofs::halo2curves::group::prime::PrimeCurveAffine;
use halo2_base::halo2_proofs::plonk::{ProvingKey, VerifyingKey, keygen_pk, keygen_vk};
use halo2_base::halo2_proofs::poly::commitment::{Params, ParamsProver};
use halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use rollup_circuits::Fr;
pub use rollup_circuits::batch::BATCH_INPUTS;
use rollup_circuits::batch::{CHUNK_INPUTS, constrain};
use rollup_protocol::codec::Record;
use rollup_protocol::constants::{RECORD_FIELDS, TAG_KEY};
use rollup_protocol::poseidon;
use serde::{Deserialize, Serialize};
use snark_verifier_sdk::halo2::aggregation::{AggregationCircuit, AggregationConfigParams};
use snark_verifier_sdk::snark_verifier::loader::native::NativeLoader;
use snark_verifier_sdk::snark_verifier::pcs::AccumulationDecider;
use snark_verifier_sdk::snark_verifier::pcs::kzg::{KzgAccumulator, KzgDecidingKey};
use snark_verifier_sdk::snark_verifier::util::arithmetic::fe_to_limbs;
use snark_verifier_sdk::snark_verifier::verifier::plonk::PlonkProtocol;
use snark_verifier_sdk::{BITS, CircuitExt, LIMBS, SHPLONK, Snark};

use crate::node::{Children, chunk_inputs, chunk_key_digest};
use crate::{ProverError, Result, Transcript, halo2, io};

/// Public inputs the accumulator takes: two G1 points, two coordinates each, `LIMBS` limbs each.
pub const ACCUMULATOR_INPUTS: usize = 4 * LIMBS;

/// All public inputs of a batch proof: the accumulator, the batch's five, the key digest.
pub const BATCH_PUBLIC_INPUTS: usize = ACCUMULATOR_INPUTS + BATCH_INPUTS + 1;

/// Rows halo2 keeps for blinding at the bottom of each column, left out of halo2-base's layout.
const BLINDING_ROWS: usize = 20;

/// What key generation fixed about the batch circuit's layout, stored beside its proving key: the
/// columns ([`AggregationConfigParams`]) and where halo2-base breaks its virtual cells into
/// columns (the prover must lay the witness out exactly as the key was made).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BatchLayout {
    /// Columns, `k` and lookup bits.
    pub config: AggregationConfigParams,
    /// Break points of the virtual cells, per phase and column.
    pub break_points: MultiPhaseThreadBreakPoints,
}

/// The digest of a chunk verifying key as the batch circuit computes it:
/// `H(TAG_KEY; limbs of every fixed and permutation commitment's x and y, the transcript's
/// initial state)`, with `LIMBS` limbs of `BITS` bits per coordinate, little end first.
pub fn key_digest(protocol: &PlonkProtocol<G1Affine>) -> Result<Fr> {
    let mut elements = Vec::with_capacity(protocol.preprocessed.len() * 2 * LIMBS + 1);
    for point in &protocol.preprocessed {
        let coordinates = Option::from(point.coordinates()).ok_or_else(|| {
            ProverError::Halo2("a preprocessed commitment is the identity".into())
        })?;
        let coordinates: halo2_base::halo2_proofs::halo2curves::Coordinates<G1Affine> = coordinates;
        elements.extend(fe_to_limbs::<Fq, Fr, LIMBS, BITS>(*coordinates.x()));
        elements.extend(fe_to_limbs::<Fq, Fr, LIMBS, BITS>(*coordinates.y()));
    }
    elements.extend(protocol.transcript_initial_state);
    Ok(poseidon::hash(TAG_KEY, &elements))
}

/// The batch circuit over `snarks` (1 to `capacity` chunk proofs of `slots`-slot chunks, in batch
/// order) and the chunks' `records`, at `stage`, with the columns of `config`. `params` are the
/// batch circuit's (only their generator is read).
pub fn circuit(
    stage: CircuitBuilderStage,
    config: AggregationConfigParams,
    params: &ParamsKZG<Bn256>,
    snarks: Vec<Snark>,
    records: &[Vec<Record>],
    capacity: usize,
    slots: usize,
) -> Result<AggregationCircuit> {
    let real = snarks.len();
    circuit_over(
        stage,
        config,
        params,
        snarks,
        records,
        Tree {
            children: Children::Chunks,
            fan_in: capacity,
        },
        real,
        slots,
    )
}

/// The elements of `records` (the batch's real chunks), `slots` per chunk, and zeros for the rest
/// of `capacity` chunks (padding, and key generation's witness): what [`constrain`] takes.
fn elements(
    records: &[Vec<Record>],
    capacity: usize,
    slots: usize,
) -> Result<Vec<Vec<[Fr; RECORD_FIELDS]>>> {
    let mut out = Vec::with_capacity(capacity);
    for chunk in records {
        let fields = chunk
            .iter()
            .map(Record::fields)
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|_| ProverError::NotOneBatch)?;
        out.push(fields);
    }
    out.resize(
        capacity.max(out.len()),
        vec![[Fr::ZERO; RECORD_FIELDS]; slots],
    );
    Ok(out)
}

/// How a batch circuit's chunks reach it: `fan_in` proofs of `children` (chunk proofs at depth 0,
/// nodes of a level above, [`crate::node`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tree {
    /// What it verifies.
    pub children: Children,
    /// How many.
    pub fan_in: usize,
}

impl Tree {
    /// Chunks a batch proof holds: `fan_in` times the chunks each child carries.
    pub fn capacity(self) -> usize {
        self.fan_in * self.children.chunks_each()
    }

    /// Levels of nodes below the batch circuit.
    pub fn depth(self) -> u32 {
        match self.children {
            Children::Chunks => 0,
            Children::Nodes { level } => level,
        }
    }
}

/// The batch circuit over `snarks` (1 to `tree.fan_in` proofs of `tree.children`, in batch order;
/// fewer are padded with the last again) whose first `real` chunks are the batch's (the rest, in
/// the chunk proofs or nodes given, padding) with records `records` (one list per real chunk; none
/// for key generation), for `slots`-slot chunks, at `stage`, with the columns of `config`. The
/// batch rules ([`constrain`]) see the flat list of every child's chunk inputs.
#[allow(clippy::too_many_arguments)]
pub fn circuit_over(
    stage: CircuitBuilderStage,
    config: AggregationConfigParams,
    params: &ParamsKZG<Bn256>,
    mut snarks: Vec<Snark>,
    records: &[Vec<Record>],
    tree: Tree,
    real: usize,
    slots: usize,
) -> Result<AggregationCircuit> {
    let size = ProverError::BatchSize {
        chunks: real,
        capacity: tree.capacity(),
    };
    let Some(last) = snarks.last().cloned() else {
        return Err(size);
    };
    if snarks.len() > tree.fan_in || real > tree.capacity() || real == 0 {
        return Err(size);
    }
    let given = snarks.len();
    snarks.resize(tree.fan_in, last);
    let mut circuit = AggregationCircuit::new::<SHPLONK>(
        stage,
        config,
        params,
        snarks,
        tree.children.universality(),
    );
    let chunks = chunk_inputs(&circuit, tree.children)?;
    let batch = match tree.children {
        Children::Chunks => {
            let records = elements(records, chunks.len(), slots)?;
            let range = circuit.builder.range_chip();
            let ctx = circuit.builder.main(0);
            constrain(ctx, &range, &chunks, &records, real, slots)
        }
        Children::Nodes { .. } => {
            // The nodes hold the per-slot rules; the real ones are those given.
            let parts = crate::node::summaries(&mut circuit, tree.children)?;
            let flags: Vec<bool> = (0..tree.fan_in).map(|j| j < given).collect();
            let range = circuit.builder.range_chip();
            let ctx = circuit.builder.main(0);
            rollup_circuits::tree::constrain_over(ctx, &range, &chunks, &parts, &flags, slots)
        }
    }
    .ok_or(size)?;
    let digest = chunk_key_digest(&mut circuit, tree.children)?;
    let public = &mut circuit.builder.assigned_instances[0];
    public.extend(batch);
    public.push(digest);
    Ok(circuit)
}

/// The public inputs of `circuit` (one instance column).
pub fn instances(circuit: &AggregationCircuit) -> Vec<Vec<Fr>> {
    circuit.instances()
}

/// Whether the accumulator at the head of a batch proof's public inputs passes the pairing check
/// with `params` (the verifier's last step; a proof whose chunk proofs do not verify yields an
/// accumulator that fails it). Inputs too short, or limbs that are not coordinates of curve points,
/// are `false`.
pub fn decide(params: &ParamsKZG<Bn256>, public_inputs: &[Fr]) -> bool {
    let Some(limbs) = public_inputs.get(..ACCUMULATOR_INPUTS) else {
        return false;
    };
    // A coordinate is three limbs of BITS bits, little end first; limbs out of that range (which the
    // circuit never outputs) or a value not below the base field's modulus are refused, never
    // reduced.
    let coordinate = |i: usize| -> Option<Fq> {
        let mut value = alloy_primitives::U256::ZERO;
        for (j, limb) in limbs.get(i * LIMBS..(i + 1) * LIMBS)?.iter().enumerate() {
            let limb = alloy_primitives::U256::from_le_bytes(limb.to_repr());
            let bits = if j + 1 == LIMBS {
                256 - BITS * (LIMBS - 1)
            } else {
                BITS
            };
            if limb >> bits != alloy_primitives::U256::ZERO {
                return None;
            }
            value |= limb << (BITS * j);
        }
        Option::from(Fq::from_repr(value.to_le_bytes()))
    };
    let point = |i: usize| -> Option<G1Affine> {
        Option::from(G1Affine::from_xy(
            coordinate(2 * i)?,
            coordinate(2 * i + 1)?,
        ))
    };
    let (Some(lhs), Some(rhs)) = (point(0), point(1)) else {
        return false;
    };
    if bool::from(lhs.is_identity()) && bool::from(rhs.is_identity()) {
        return false;
    }
    let dk: KzgDecidingKey<Bn256> = (params.get_g()[0], params.g2(), params.s_g2()).into();
    <SHPLONK as AccumulationDecider<G1Affine, NativeLoader>>::decide(
        &dk,
        KzgAccumulator::<G1Affine, NativeLoader>::new(lhs, rhs),
    )
    .is_ok()
}

/// Verifies a batch proof natively: the proof with `transcript`, then its accumulator
/// ([`decide`]).
pub fn verify(
    params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    public_inputs: &[Fr],
    proof: &[u8],
    transcript: Transcript,
) -> Result<bool> {
    Ok(decide(params, public_inputs)
        && crate::verify_with(
            params,
            vk,
            std::slice::from_ref(&public_inputs.to_vec()),
            proof,
            transcript,
        )?)
}

/// Generates the batch circuit's keys and layout at `2^k` rows for `capacity` proofs of the chunk
/// circuit whose protocol is `chunk` (dummy proofs of its shape stand in for real ones: key
/// generation reads no witness).
pub fn keygen(
    params: &ParamsKZG<Bn256>,
    chunk: &PlonkProtocol<G1Affine>,
    capacity: usize,
    slots: usize,
) -> Result<(ProvingKey<G1Affine>, BatchLayout)> {
    keygen_over(
        params,
        chunk,
        Tree {
            children: Children::Chunks,
            fan_in: capacity,
        },
        slots,
    )
}

/// Generates the keys and layout of the batch circuit over `tree` at `2^k` rows, its children's
/// protocol `child` ([`Children::protocol`]; dummy proofs of its shape stand in).
pub fn keygen_over(
    params: &ParamsKZG<Bn256>,
    child: &PlonkProtocol<G1Affine>,
    tree: Tree,
    slots: usize,
) -> Result<(ProvingKey<G1Affine>, BatchLayout)> {
    let dummy = snark_verifier_sdk::halo2::gen_dummy_snark_from_protocol::<SHPLONK>(child.clone());
    aggregation_keygen(params, |config| {
        circuit_over(
            CircuitBuilderStage::Keygen,
            config,
            params,
            vec![dummy; tree.fan_in],
            &[],
            tree,
            tree.capacity(),
            slots,
        )
    })
}

/// Keys and layout of an aggregation circuit (`build` lays it out for key generation with the
/// columns it is given) at `params`' `2^k` rows: halo2-base then chooses as few columns as those
/// rows hold. Shared by the batch and compression stages.
pub(crate) fn aggregation_keygen(
    params: &ParamsKZG<Bn256>,
    build: impl FnOnce(AggregationConfigParams) -> Result<AggregationCircuit>,
) -> Result<(ProvingKey<G1Affine>, BatchLayout)> {
    let k = params.k();
    let mut circuit = build(AggregationConfigParams {
        degree: k,
        lookup_bits: k as usize - 1,
        ..Default::default()
    })?;
    let config = circuit.calculate_params(Some(BLINDING_ROWS));
    let vk = keygen_vk(params, &circuit).map_err(halo2)?;
    let pk = keygen_pk(params, vk, &circuit).map_err(halo2)?;
    let layout = BatchLayout {
        config,
        break_points: circuit.break_points(),
    };
    Ok((pk, layout))
}

/// The keys cached at `path` ([`read_keys`]), or else those `keygen` makes, cached there
/// ([`write_keys`]); `what` names them in the warning about a cached file that does not load.
pub(crate) fn cached_keys(
    path: &Path,
    what: &str,
    keygen: impl FnOnce() -> Result<(ProvingKey<G1Affine>, BatchLayout)>,
) -> Result<(ProvingKey<G1Affine>, BatchLayout)> {
    match read_keys(path) {
        Ok(keys) => Ok(keys),
        Err(e) => {
            if path.exists() {
                tracing::warn!(
                    path = %path.display(),
                    error = %e,
                    "the cached {what} key does not load: generating it again"
                );
            }
            let (pk, layout) = keygen()?;
            write_keys(&pk, &layout, path)?;
            Ok((pk, layout))
        }
    }
}

/// The length of every proof of `protocol`. snark-verifier reads a proof at fixed offsets: bytes
/// past its end would be ignored (and its debug builds assert the length), so a proof given to an
/// aggregation stage must be exactly this long.
pub(crate) fn proof_length(protocol: &PlonkProtocol<G1Affine>) -> usize {
    snark_verifier_sdk::halo2::gen_dummy_snark_from_protocol::<SHPLONK>(protocol.clone())
        .proof()
        .len()
}

/// The SRS `srs` at `2^k` points, refused unless its secret is the one of the stage whose proofs
/// it aggregates (`expected`, that stage's parameters digest): a proof made with another secret
/// never passes the final pairing.
pub(crate) fn same_srs(
    srs: &crate::SrsSource,
    cache: &Path,
    k: u32,
    expected: [u8; 32],
    stage: &str,
    inner: &str,
) -> Result<ParamsKZG<Bn256>> {
    let params = srs.load(cache, k)?;
    if crate::ptau::params_digest(&params) != expected {
        return Err(ProverError::Halo2(format!(
            "the {stage} circuit's SRS is not the {inner} circuit's (another secret): no {inner} proof would aggregate"
        )));
    }
    Ok(params)
}

/// The first bytes of a verifying key's digest ([`crate::vk_digest`]), as cache names hold them.
pub(crate) fn vk_prefix(vk: &VerifyingKey<G1Affine>) -> [u8; 8] {
    let digest = crate::vk_digest(vk);
    let mut prefix = [0u8; 8];
    prefix.copy_from_slice(&digest[..8]);
    prefix
}

/// Proves an aggregation `circuit` laid out as `layout` fixed, with `transcript`; returns its
/// public inputs and proof, the proof checked natively and its accumulator decided.
pub(crate) fn prove_aggregation(
    params: &ParamsKZG<Bn256>,
    pk: &ProvingKey<G1Affine>,
    layout: &BatchLayout,
    mut circuit: AggregationCircuit,
    transcript: Transcript,
) -> Result<(Vec<Fr>, Vec<u8>)> {
    circuit.set_break_points(layout.break_points.clone());
    let public = instances(&circuit);
    let proof = crate::prove_with(params, pk, circuit, &public, transcript)?;
    let public = public.into_iter().next().unwrap_or_default();
    if !decide(params, &public) {
        return Err(ProverError::InvalidProof);
    }
    Ok((public, proof))
}

/// Whether `proof` verifies natively ([`verify`]) with `vk`, with [`BATCH_PUBLIC_INPUTS`] inputs
/// whose last is `key_digest` (the chunk key the deployment pins).
pub(crate) fn verify_pinned(
    params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    key_digest: Fr,
    public_inputs: &[Fr],
    proof: &[u8],
    transcript: Transcript,
) -> Result<bool> {
    Ok(public_inputs.len() == BATCH_PUBLIC_INPUTS
        && public_inputs.get(BATCH_PUBLIC_INPUTS - 1) == Some(&key_digest)
        && verify(params, vk, public_inputs, proof, transcript)?)
}

/// Writes a batch key and its layout (the layout as JSON beside it, `<path>.layout.json`).
pub fn write_keys(pk: &ProvingKey<G1Affine>, layout: &BatchLayout, path: &Path) -> Result<()> {
    let json = serde_json::to_vec_pretty(layout).map_err(|e| ProverError::Halo2(e.to_string()))?;
    let layout_path = layout_path(path);
    rollup_durable::write_with(&layout_path, |w| std::io::Write::write_all(w, &json))
        .map_err(io(&layout_path))?;
    crate::atomic_write(path, |w| pk.write(w, SerdeFormat::RawBytesUnchecked))
}

/// Reads what [`write_keys`] wrote.
pub fn read_keys(path: &Path) -> Result<(ProvingKey<G1Affine>, BatchLayout)> {
    let layout_path = layout_path(path);
    let layout: BatchLayout = serde_json::from_reader(BufReader::new(
        File::open(&layout_path).map_err(io(&layout_path))?,
    ))
    .map_err(|e| ProverError::Halo2(format!("{}: {e}", layout_path.display())))?;
    let mut r = BufReader::new(File::open(path).map_err(io(path))?);
    let pk = ProvingKey::read::<_, AggregationCircuit>(
        &mut r,
        SerdeFormat::RawBytesUnchecked,
        layout.config,
    )
    .map_err(io(path))?;
    Ok((pk, layout))
}

fn layout_path(path: &Path) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".layout.json");
    name.into()
}

/// log2 of the batch circuit's rows: the size its keys are made at (`verifier-gen`'s reference
/// build and the operator's alike). Capacity 1 fills 6 advice columns at this size, capacity 2
/// twelve (`docs/benchmarks.md`).
pub const DEFAULT_K: u32 = 20;

/// A batch proof as L1 takes it (`IBatchVerifier.verifyBatch`'s `proof`): the accumulator's limbs
/// as 32-byte big-endian words, then the proof; the other public inputs L1 builds from storage.
/// `None` unless `public_inputs` has a batch proof's [`BATCH_PUBLIC_INPUTS`].
pub fn l1_proof(public_inputs: &[Fr], proof: &[u8]) -> Option<Vec<u8>> {
    if public_inputs.len() != BATCH_PUBLIC_INPUTS {
        return None;
    }
    let mut out: Vec<u8> = public_inputs[..ACCUMULATOR_INPUTS]
        .iter()
        .flat_map(rollup_protocol::field::to_be_bytes)
        .collect();
    out.extend_from_slice(proof);
    Some(out)
}

/// Whether the EVM code `code` (a generated verifier's creation or runtime bytecode) was generated
/// from the verifying key whose transcript representation is `repr`
/// ([`BatchProver::transcript_repr`]): snark-verifier's EVM verifier starts its transcript from that
/// value, a constant in its code. The representation is a hash of the whole key (the circuit's
/// shape and gates, its fixed and permutation commitments), so another batch key's verifier does
/// not carry it: an operator proving with other keys than L1's finds out at start, not from its
/// first rejected proof.
///
/// solc pushes a constant in as few bytes as it needs (`PUSH31` and shorter for a value with
/// leading zero bytes, about one key in 48), so that is the form looked for, as well as a full
/// `PUSH32`. A constant of 20 or more bytes matching by chance is out of reach.
pub fn verifier_pins(code: &[u8], repr: Fr) -> bool {
    const PUSH0: u8 = 0x5f;
    const PUSH32: u8 = 0x7f;
    let word = rollup_protocol::field::to_be_bytes(&repr);
    let zeros = word.iter().take_while(|b| **b == 0).count();
    let minimal = &word[zeros..];
    let pushes = |opcode: u8, data: &[u8]| {
        code.windows(data.len() + 1)
            .any(|w| w[0] == opcode && w[1..] == *data)
    };
    // `minimal` is at most 32 bytes: its PUSH opcode is at most PUSH32.
    let opcode = PUSH0.saturating_add(u8::try_from(minimal.len()).unwrap_or(32));
    pushes(opcode, minimal) || pushes(PUSH32, &word)
}

/// The batch circuit's version: part of the name of every cached batch key. Bump it with any
/// change to the batch circuit's constraints or layout (the batch rules included). 3: over nodes,
/// the per-slot rules moved into the nodes (`rollup_circuits::tree`); over chunk proofs unchanged.
pub const VERSION: u32 = 3;

/// Everything needed to prove batches of one deployment's chunks: the SRS at the batch circuit's
/// size, its keys and layout, and its children's protocol (what the chunk proofs, or the top
/// level's node proofs, look like to snark-verifier).
pub struct BatchProver {
    params: ParamsKZG<Bn256>,
    pk: ProvingKey<G1Affine>,
    layout: BatchLayout,
    child: PlonkProtocol<G1Affine>,
    key_digest: Fr,
    tree: Tree,
    slots: usize,
    shape: crate::BatchShape,
}

impl std::fmt::Debug for BatchProver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchProver")
            .field("k", &self.params.k())
            .field("capacity", &self.tree.capacity())
            .field("depth", &self.tree.depth())
            .field("slots", &self.slots)
            .field("layout", &self.layout.config)
            .finish()
    }
}

impl BatchProver {
    /// Loads the SRS (`srs`, at `2^k` points) and the batch circuit's keys for `capacity` proofs of
    /// `chunk`'s circuit, cached under `cache` (generated and cached on first use, under a name
    /// with the batch circuit's [`VERSION`], the chunk circuit's shape and key, and the SRS).
    ///
    /// Unlike the chunk key, a cached batch key is not regenerated to be compared: at this size
    /// that costs most of key generation (a minute or more). The name is what keeps keys apart, so
    /// [`VERSION`] must change with the circuit; `verifier-gen`'s `generated` test regenerates the
    /// reference batch key and compares its digest with the pinned one, which catches a change made
    /// without it.
    pub fn load(
        cache: &Path,
        srs: &crate::SrsSource,
        chunk: &crate::ChunkProver,
        capacity: usize,
        k: u32,
    ) -> Result<BatchProver> {
        if capacity == 0 {
            return Err(ProverError::BatchSize {
                chunks: 0,
                capacity,
            });
        }
        let params = same_srs(srs, cache, k, chunk.params_digest(), "batch", "chunk")?;
        let protocol = chunk_protocol(chunk.params(), chunk.vk());
        let chunk_vk = vk_prefix(chunk.vk());
        let shape = crate::BatchShape {
            chunk: crate::ChunkShape {
                slots: chunk.slots(),
                chain_id: chunk.chain_id(),
                k: chunk.params().k(),
            },
            chunk_vk,
            capacity,
            k,
            depth: 0,
            child_vk: chunk_vk,
        };
        let path =
            crate::ArtifactCache::new(cache).batch_pk(&shape, &crate::ptau::params_digest(&params));
        let (pk, layout) = cached_keys(&path, "batch", || {
            keygen(&params, &protocol, capacity, chunk.slots())
        })?;
        Ok(BatchProver {
            params,
            pk,
            layout,
            key_digest: key_digest(&protocol)?,
            child: protocol,
            tree: Tree {
                children: Children::Chunks,
                fan_in: capacity,
            },
            slots: chunk.slots(),
            shape,
        })
    }

    /// The batch circuit over `fan_in` proofs of `nodes`' level (a tree of depth `nodes.level()`,
    /// [`crate::node`]): batches of up to `fan_in · ARITY^level` chunks. The SRS at `2^k` points
    /// must have the nodes' secret; keys cached as for [`BatchProver::load`], under a name with the
    /// depth and the node key.
    pub fn load_over_nodes(
        cache: &Path,
        srs: &crate::SrsSource,
        nodes: &crate::node::NodeProver,
        fan_in: usize,
        k: u32,
    ) -> Result<BatchProver> {
        let children = Children::Nodes {
            level: nodes.level(),
        };
        let tree = Tree { children, fan_in };
        if fan_in == 0 {
            return Err(ProverError::BatchSize {
                chunks: 0,
                capacity: 0,
            });
        }
        let params = same_srs(
            srs,
            cache,
            k,
            crate::ptau::params_digest(nodes.params()),
            "batch",
            "node",
        )?;
        let protocol = children.protocol(nodes.params(), nodes.vk());
        let node = nodes.shape();
        let shape = crate::BatchShape {
            chunk: node.chunk,
            chunk_vk: node.chunk_vk,
            capacity: tree.capacity(),
            k,
            depth: tree.depth(),
            child_vk: vk_prefix(nodes.vk()),
        };
        let slots = node.chunk.slots;
        let path =
            crate::ArtifactCache::new(cache).batch_pk(&shape, &crate::ptau::params_digest(&params));
        let (pk, layout) = cached_keys(&path, "batch", || {
            keygen_over(&params, &protocol, tree, slots)
        })?;
        Ok(BatchProver {
            params,
            pk,
            layout,
            key_digest: nodes.key_digest(),
            child: protocol,
            tree,
            slots,
            shape,
        })
    }

    /// What its keys were made for (the name they are cached under).
    pub fn shape(&self) -> crate::BatchShape {
        self.shape
    }

    /// The parameters (SRS) this prover holds.
    pub fn params(&self) -> &ParamsKZG<Bn256> {
        &self.params
    }

    /// The batch circuit's verifying key.
    pub fn vk(&self) -> &VerifyingKey<G1Affine> {
        self.pk.get_vk()
    }

    /// The batch verifying key's transcript representation (a hash of the whole key), which its
    /// generated verifier carries ([`verifier_pins`]).
    pub fn transcript_repr(&self) -> Fr {
        self.pk.get_vk().transcript_repr()
    }

    /// The digest of the chunk verifying key its proofs carry ([`key_digest`]).
    pub fn key_digest(&self) -> Fr {
        self.key_digest
    }

    /// Chunks per batch proof.
    pub fn capacity(&self) -> usize {
        self.tree.capacity()
    }

    /// What its proofs verify, and how many.
    pub fn tree(&self) -> Tree {
        self.tree
    }

    /// Transaction slots per chunk of the chunk circuit it aggregates.
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// The layout fixed at key generation.
    pub fn layout(&self) -> &BatchLayout {
        &self.layout
    }

    /// The child proof (a chunk proof, or a node proof over nodes) `proof` with `public_inputs`,
    /// as the batch circuit takes it.
    pub fn snark(&self, public_inputs: &[Fr], proof: &[u8]) -> Snark {
        Snark::new(
            self.child.clone(),
            vec![public_inputs.to_vec()],
            proof.to_vec(),
        )
    }

    /// Proves that `chunks` (each chunk proof's public inputs and bytes, made with the Poseidon
    /// transcript, in batch order) with `records` (each chunk's) are one batch, with `transcript`;
    /// returns the batch proof's
    /// public inputs ([`BATCH_PUBLIC_INPUTS`]) and bytes, checked natively. Every chunk proof is
    /// checked first: one that does not verify is [`ProverError::InvalidChunkProof`], never a
    /// batch proof that fails at the end. For a batch circuit over chunk proofs (depth 0).
    pub fn prove(
        &self,
        chunks: &[(Vec<Fr>, Vec<u8>)],
        records: &[Vec<Record>],
        transcript: Transcript,
    ) -> Result<(Vec<Fr>, Vec<u8>)> {
        if self.tree.children != Children::Chunks {
            return Err(ProverError::Halo2(
                "this batch circuit verifies node proofs, not chunk proofs".into(),
            ));
        }
        self.prove_children(chunks, records, transcript)
    }

    /// Proves that the first `records.len()` chunks that `nodes` (proofs of the top node level, in
    /// batch order) carry, whose records are `records`, are one batch; the rest are padding. As
    /// [`BatchProver::prove`] otherwise.
    pub fn prove_nodes(
        &self,
        nodes: &[(Vec<Fr>, Vec<u8>)],
        records: &[Vec<Record>],
        transcript: Transcript,
    ) -> Result<(Vec<Fr>, Vec<u8>)> {
        let Children::Nodes { .. } = self.tree.children else {
            return Err(ProverError::Halo2(
                "this batch circuit verifies chunk proofs, not node proofs".into(),
            ));
        };
        self.prove_children(nodes, records, transcript)
    }

    fn prove_children(
        &self,
        children: &[(Vec<Fr>, Vec<u8>)],
        records: &[Vec<Record>],
        transcript: Transcript,
    ) -> Result<(Vec<Fr>, Vec<u8>)> {
        let real = records.len();
        let length = proof_length(&self.child);
        let mut inputs = Vec::new();
        let mut snarks = Vec::with_capacity(children.len());
        for (index, (pi, proof)) in children.iter().enumerate() {
            let snark = self.snark(pi, proof);
            let carried = match self.tree.children {
                Children::Chunks => <[Fr; CHUNK_INPUTS]>::try_from(pi.as_slice())
                    .ok()
                    .map(|c| vec![c]),
                Children::Nodes { level } => crate::node::carried_chunks(pi, level)
                    .filter(|_| pi.last() == Some(&self.key_digest)),
            };
            let Some(carried) = carried else {
                return Err(ProverError::InvalidChunkProof { index });
            };
            if proof.len() != length || !crate::verify_for_aggregation(&self.params, &snark) {
                return Err(ProverError::InvalidChunkProof { index });
            }
            inputs.extend(carried);
            snarks.push(snark);
        }
        if real > inputs.len()
            || rollup_circuits::batch::fold(&inputs[..real], records, self.slots).is_none()
        {
            return Err(ProverError::NotOneBatch);
        }
        // Over nodes, the real chunks are those the nodes' summaries count.
        if let Children::Nodes { level } = self.tree.children {
            let counted: Option<Fr> = children
                .iter()
                .map(|(pi, _)| crate::node::summary_of(pi, level).and_then(|s| s.first().copied()))
                .sum();
            if counted != Some(Fr::from(real as u64)) {
                return Err(ProverError::NotOneBatch);
            }
        }
        let circuit = circuit_over(
            CircuitBuilderStage::Prover,
            self.layout.config,
            &self.params,
            snarks,
            records,
            self.tree,
            real,
            self.slots,
        )?;
        prove_aggregation(&self.params, &self.pk, &self.layout, circuit, transcript)
    }

    /// Whether a batch proof verifies natively ([`verify`]) and carries this deployment's chunk
    /// key digest.
    pub fn verify(
        &self,
        public_inputs: &[Fr],
        proof: &[u8],
        transcript: Transcript,
    ) -> Result<bool> {
        verify_pinned(
            &self.params,
            self.vk(),
            self.key_digest,
            public_inputs,
            proof,
            transcript,
        )
    }
}

/// snark-verifier's view of the chunk circuit: its protocol, compiled from the verifying key
/// (one instance column of [`CHUNK_INPUTS`] values). `params` must be the chunk circuit's size.
pub fn chunk_protocol(
    params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
) -> PlonkProtocol<G1Affine> {
    crate::snark(params, vk, &[Fr::default(); CHUNK_INPUTS], &[]).protocol
}

#[cfg(test)]
mod tests {
    use super::*;
    use halo2_base::halo2_proofs::halo2curves::ff::Field;

    /// A key representation is found pushed in as few bytes as it needs, or as a full word, and not
    /// as other push data.
    #[test]
    fn verifier_pins_finds_minimal_and_full_pushes() {
        let wide = Fr::from(2).pow_vartime([250]) + Fr::from(0xabcd);
        let narrow = Fr::from(2).pow_vartime([240]) + Fr::from(7);
        let word = |x: &Fr| rollup_protocol::field::to_be_bytes(x);
        let code = |push: &[u8]| [&[0x60, 0x80, 0x52][..], push, &[0x00][..]].concat();
        // A 251-bit value: PUSH32.
        let pushed = code(&[&[0x7f][..], &word(&wide)].concat());
        assert!(verifier_pins(&pushed, wide));
        assert!(!verifier_pins(&pushed, narrow));
        // A 241-bit value: PUSH31 of its 31 bytes, as solc emits it; or a full PUSH32.
        let minimal = code(&[&[0x7e][..], &word(&narrow)[1..]].concat());
        assert_eq!(word(&narrow)[0], 0);
        assert!(verifier_pins(&minimal, narrow));
        assert!(verifier_pins(
            &code(&[&[0x7f][..], &word(&narrow)].concat()),
            narrow
        ));
        // The right bytes behind another push length are not a push of the value.
        assert!(!verifier_pins(
            &code(&[&[0x7f][..], &word(&narrow)[1..]].concat()),
            narrow
        ));
        assert!(!verifier_pins(&code(&[]), wide));
    }

    /// Accumulator limbs the circuit never outputs are refused, never reduced or panicked on: a
    /// limb past its bits, a coordinate not below the base field's modulus, the identity, too few
    /// inputs.
    #[test]
    fn decide_refuses_malformed_accumulators() {
        let params = crate::dev_srs(4);
        let zeros = vec![Fr::ZERO; BATCH_PUBLIC_INPUTS];
        assert!(!decide(&params, &zeros), "the identity");
        assert!(
            !decide(&params, &zeros[..ACCUMULATOR_INPUTS - 1]),
            "too short"
        );
        for (at, limb) in [
            (2, Fr::from(2).pow_vartime([80])),
            (0, Fr::from(2).pow_vartime([88])),
            (1, -Fr::ONE),
        ] {
            let mut inputs = zeros.clone();
            inputs[at] = limb;
            assert!(!decide(&params, &inputs), "limb {at}");
        }
        // x = p, just past the base field: every limb in range, the value not.
        let p = alloy_primitives::U256::from_str_radix(
            "30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd47",
            16,
        )
        .unwrap_or_default();
        let mut inputs = zeros;
        let mask = (alloy_primitives::U256::from(1u8) << BITS) - alloy_primitives::U256::from(1u8);
        for (j, input) in inputs.iter_mut().take(LIMBS).enumerate() {
            let limb = (p >> (BITS * j)) & mask;
            *input = Option::from(Fr::from_repr(limb.to_le_bytes())).unwrap_or(Fr::ZERO);
        }
        assert!(!decide(&params, &inputs), "x = p");
    }
}
