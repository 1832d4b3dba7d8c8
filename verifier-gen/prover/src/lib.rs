//! The prover runtime: SRS, keys and proofs of the rollup's circuits (`rollup-circuits`).
//!
//! Proofs are SHPLONK (KZG on BN254) with one of two Fiat–Shamir transcripts ([`Transcript`]):
//! the Keccak transcript of snark-verifier's EVM verifier, for proofs L1 verifies (the Solidity
//! comes from the `verifier-gen` CLI, which alone links solc and an EVM), or snark-verifier's
//! Poseidon transcript, for proofs a later stage verifies inside a circuit (aggregation). The
//! development SRS comes from a fixed seed: anyone can rebuild its secret and forge
//! proofs for any public inputs, so it is for tests and devnets only, and it is never
//! a default: callers name it ([`SrsSource::Development`]). Production loads a
//! ceremony file ([`SrsSource::File`]): a snarkjs `.ptau` file of the Perpetual Powers
//! of Tau (converted and checked by pairings, [`crate::ptau`]) or halo2's `ParamsKZG`.
//! Every parameter set is named by its digest ([`crate::ptau::params_digest`]), which
//! the deployed verifier records on L1.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};

use halo2_base::halo2_proofs::SerdeFormat;
use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, G1Affine};
use halo2_base::halo2_proofs::plonk::{
    Circuit, ProvingKey, VerifyingKey, create_proof, keygen_pk, keygen_vk, verify_proof,
};
use halo2_base::halo2_proofs::poly::VerificationStrategy;
use halo2_base::halo2_proofs::poly::commitment::{Params, ParamsProver};
use halo2_base::halo2_proofs::poly::kzg::commitment::{KZGCommitmentScheme, ParamsKZG};
use halo2_base::halo2_proofs::poly::kzg::multiopen::{ProverSHPLONK, VerifierSHPLONK};
use halo2_base::halo2_proofs::poly::kzg::strategy::AccumulatorStrategy;
use halo2_base::halo2_proofs::transcript::{
    EncodedChallenge, TranscriptRead, TranscriptReadBuffer, TranscriptWrite, TranscriptWriterBuffer,
};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use snark_verifier_sdk::halo2::{POSEIDON_SPEC, PoseidonTranscript};
use snark_verifier_sdk::snark_verifier::loader::native::NativeLoader;
use snark_verifier_sdk::snark_verifier::pcs::AccumulationDecider;
use snark_verifier_sdk::snark_verifier::pcs::kzg::{KzgDecidingKey, KzgSuccinctVerifyingKey};
use snark_verifier_sdk::snark_verifier::system::halo2::transcript::evm::{
    ChallengeEvm, EvmTranscript,
};
use snark_verifier_sdk::snark_verifier::system::halo2::{Config, compile};
use snark_verifier_sdk::snark_verifier::verifier::SnarkVerifier;
use snark_verifier_sdk::{PlonkSuccinctVerifier, SHPLONK, Snark};

pub mod batch;
pub mod cache;
pub mod compress;
mod dev_srs;
pub mod node;
pub mod pipeline;
pub mod ptau;
pub mod task;
pub mod wire;

pub use cache::{ArtifactCache, BatchShape, ChunkShape, CompressShape, NodeShape};
pub use pipeline::Pipeline;

/// The prover this build links: `"cuda"` with the `cuda` feature (halo2-axiom-gpu's GPU prover),
/// else `"cpu"`. Keys and proofs are the same bytes either way; only the speed differs.
pub const BACKEND: &str = if cfg!(feature = "cuda") {
    "cuda"
} else {
    "cpu"
};

pub use task::{Backend, BatchKey, CpuBackend, ProofArtifact, ProofKind, ProofTask, vk_digest};

use rollup_circuits::Fr;
use rollup_circuits::chunk::{ChunkCircuit, instances};
use rollup_protocol::Chunk;

/// What can go wrong while setting up, proving or generating the verifier.
#[derive(Debug, thiserror::Error)]
pub enum ProverError {
    /// Reading or writing a file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The SRS is smaller than the circuit needs.
    #[error("the SRS has 2^{have} points, the circuit needs 2^{need}")]
    SrsTooSmall {
        /// log2 of the SRS size.
        have: u32,
        /// log2 of the circuit size.
        need: u32,
    },
    /// halo2 refused the circuit or the witness.
    #[error("halo2: {0}")]
    Halo2(String),
    /// The proof just made does not verify natively (a witness the circuit rejects).
    #[error("the proof does not verify: the witness breaks a constraint")]
    InvalidProof,
    /// The chunk does not fit the circuit.
    #[error(transparent)]
    Chunk(#[from] rollup_circuits::chunk::ChunkError),
    /// A batch of no chunks, or of more than the batch circuit holds.
    #[error("a batch proof covers 1 to {capacity} chunks, not {chunks}")]
    BatchSize {
        /// Chunks given.
        chunks: usize,
        /// Chunk proofs the batch circuit verifies.
        capacity: usize,
    },
    /// A chunk proof given to the batch stage does not verify (as the batch circuit would check it).
    #[error("chunk proof {index} of the batch does not verify")]
    InvalidChunkProof {
        /// Its position in the batch.
        index: usize,
    },
    /// The chunk proofs given to the batch stage are not one batch: a root that does not chain, or
    /// another challenge (`rollup_circuits::batch::fold`).
    #[error(
        "the chunk proofs are not one batch: their roots do not chain or their challenges differ"
    )]
    NotOneBatch,
    /// A batch proof given to the compression stage does not verify (as the compression circuit
    /// would check it), or is not shaped like one.
    #[error("the batch proof to compress does not verify")]
    InvalidBatchProof,
    /// The backend has no prover for this kind of proof.
    #[error("this backend does not prove {0:?} proofs")]
    NoProver(ProofKind),
    /// A proof came out with public inputs other than the ones the core computed for its task.
    #[error("the {0:?} proof's public inputs are not the ones its task expects")]
    UnexpectedInputs(ProofKind),
    /// A ceremony file was refused.
    #[error(transparent)]
    Ceremony(#[from] crate::ptau::PtauError),
    /// A task or an artifact's bytes do not decode ([`crate::wire`]).
    #[error("a proof task or artifact that does not decode: {0}")]
    Wire(String),
    /// A pipeline's shape that no keys can have ([`crate::Pipeline::check`]).
    #[error("pipeline: {0}")]
    Pipeline(String),
    /// The parameters loaded are not the ones expected (the deployed verifier's): every proof made
    /// with them would be refused.
    #[error(
        "the verifier expects proofs under parameters {} but this prover's are {}: set the SRS to the ceremony file the verifier was generated from",
        alloy_primitives::hex::encode(expected),
        alloy_primitives::hex::encode(ours)
    )]
    ParamsMismatch {
        /// The parameters' digest expected.
        expected: [u8; 32],
        /// This prover's.
        ours: [u8; 32],
    },
}

/// Where a prover's SRS comes from. There is deliberately no default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SrsSource {
    /// The development SRS from a public seed, cached under the cache directory. **Anyone can forge
    /// proofs** against a verifier generated from it: devnets and tests only.
    Development,
    /// A ceremony's parameters: a snarkjs `.ptau` file (recognised by its magic, converted and
    /// checked by pairings) or a file in halo2's `ParamsKZG` format.
    File(PathBuf),
}

impl SrsSource {
    /// The parameters, cut down to `2^k` points. A file must not hold the development SRS: naming it
    /// as a ceremony file would hide the backdoor behind the safe-looking variant.
    pub fn load(&self, cache: &Path, k: u32) -> Result<ParamsKZG<Bn256>> {
        match self {
            SrsSource::Development => cached_dev_srs(cache, k),
            SrsSource::File(path) => {
                let params = read_srs(path, k)?;
                if crate::ptau::params_digest(&params) == development_params_digest() {
                    return Err(ProverError::Ceremony(crate::ptau::PtauError::Check(
                        format!(
                            "{} holds the development SRS (public seed: anyone can forge proofs); use --dev-srs to mean it",
                            path.display()
                        ),
                    )));
                }
                Ok(params)
            }
        }
    }
}

/// The digest of the development SRS (the same for every `k`: its secret is drawn first from the
/// seeded generator). A verifier with this digest accepts forged proofs.
pub fn development_params_digest() -> [u8; 32] {
    crate::ptau::params_digest(&dev_srs(1))
}

/// `Result` with a [`ProverError`].
pub type Result<T> = std::result::Result<T, ProverError>;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ProverError + '_ {
    move |source| ProverError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn halo2(e: impl std::fmt::Debug) -> ProverError {
    ProverError::Halo2(format!("{e:?}"))
}

/// The seed of the development SRS: public, so the SRS's secret is known to everyone.
const DEV_SRS_SEED: [u8; 32] = *b"zkr dev srs: UNSAFE, public seed";

/// The development SRS of size `2^k`: deterministic, **unsafe for production**.
/// Computed by [`dev_srs::setup`] (the same parameters as `ParamsKZG::setup` with the seeded
/// generator, about eight times faster).
pub fn dev_srs(k: u32) -> ParamsKZG<Bn256> {
    dev_srs::setup(k, DEV_SRS_SEED)
}

/// Reads an SRS file and cuts it down to `2^k` points: a snarkjs `.ptau` ceremony file (converted
/// and checked, [`crate::ptau::read_ptau`]) or halo2's `ParamsKZG` format (one [`write_srs`] wrote).
pub fn read_srs(path: &Path, k: u32) -> Result<ParamsKZG<Bn256>> {
    let mut magic = [0u8; 4];
    let is_ptau = File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
        .is_ok()
        && &magic == b"ptau";
    if is_ptau {
        return Ok(crate::ptau::read_ptau(path, k)?);
    }
    let mut r = BufReader::new(File::open(path).map_err(io(path))?);
    let mut params = ParamsKZG::<Bn256>::read(&mut r).map_err(io(path))?;
    if params.k() < k {
        return Err(ProverError::SrsTooSmall {
            have: params.k(),
            need: k,
        });
    }
    if params.k() > k {
        params.downsize(k);
    }
    // Converted files get the same checks as `.ptau` ones over the powers used: generators, and one
    // secret throughout.
    crate::ptau::check_powers(params.get_g(), params.g2(), params.s_g2())?;
    Ok(params)
}

/// Writes an SRS in halo2's `ParamsKZG` format.
pub fn write_srs(params: &ParamsKZG<Bn256>, path: &Path) -> Result<()> {
    atomic_write(path, |w| params.write(w))
}

/// Writes through [`rollup_durable`]: an interrupted run never leaves a truncated SRS or key
/// behind for the next one to read.
fn atomic_write(
    path: &Path,
    f: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<()> {
    rollup_durable::write_with(path, f).map_err(io(path))
}

/// The development SRS of size `2^k`, cached in `dir` ([`ArtifactCache::dev_srs`]).
pub fn cached_dev_srs(dir: &Path, k: u32) -> Result<ParamsKZG<Bn256>> {
    let path = ArtifactCache::new(dir).dev_srs(k);
    if path.exists() {
        return read_srs(&path, k);
    }
    let params = dev_srs(k);
    write_srs(&params, &path)?;
    Ok(params)
}

/// Verifying and proving keys of `circuit` (a circuit without witness will do).
pub fn keygen<C: Circuit<Fr>>(
    params: &ParamsKZG<Bn256>,
    circuit: &C,
) -> Result<ProvingKey<G1Affine>> {
    let vk = keygen_vk(params, circuit).map_err(halo2)?;
    keygen_pk(params, vk, circuit).map_err(halo2)
}

/// Writes a proving key (it holds the verifying key).
pub fn write_pk(pk: &ProvingKey<G1Affine>, path: &Path) -> Result<()> {
    atomic_write(path, |w| pk.write(w, SerdeFormat::RawBytesUnchecked))
}

/// Reads a proving key of the chunk circuit that [`write_pk`] wrote.
pub fn read_pk(path: &Path) -> Result<ProvingKey<G1Affine>> {
    let mut r = BufReader::new(File::open(path).map_err(io(path))?);
    ProvingKey::read::<_, ChunkCircuit>(&mut r, SerdeFormat::RawBytesUnchecked, ())
        .map_err(io(path))
}

/// The Fiat–Shamir transcript of a proof: the hash that turns the prover's messages into the
/// verifier's challenges. The two are not interchangeable: a proof verifies only with its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transcript {
    /// Keccak, as snark-verifier's Solidity verifier replays it: proofs verified on L1.
    Evm,
    /// Poseidon over BN254 (snark-verifier-sdk's specification, width 3, 8 full and 57 partial
    /// rounds), which a circuit replays for a few thousand cells where Keccak would cost tens of
    /// thousands: proofs that a later stage aggregates. Unrelated to the protocol's own hash.
    Poseidon,
}

/// Proves `circuit` for `instances` (one vector per instance column) with the EVM transcript and
/// checks the proof natively before returning it; the bytes are what the generated verifier reads
/// after the instances.
pub fn prove<C: Circuit<Fr>>(
    params: &ParamsKZG<Bn256>,
    pk: &ProvingKey<G1Affine>,
    circuit: C,
    instances: &[Vec<Fr>],
) -> Result<Vec<u8>> {
    prove_with(params, pk, circuit, instances, Transcript::Evm)
}

/// Proves `circuit` for `instances` with `transcript` and checks the proof natively (with the
/// same transcript) before returning it.
pub fn prove_with<C: Circuit<Fr>>(
    params: &ParamsKZG<Bn256>,
    pk: &ProvingKey<G1Affine>,
    circuit: C,
    instances: &[Vec<Fr>],
    transcript: Transcript,
) -> Result<Vec<u8>> {
    let columns: Vec<&[Fr]> = instances.iter().map(Vec::as_slice).collect();
    let proof = match transcript {
        Transcript::Evm => {
            let mut t: EvmTranscript<G1Affine, NativeLoader, Vec<u8>, Vec<u8>> =
                TranscriptWriterBuffer::<_, G1Affine, ChallengeEvm<G1Affine>>::init(Vec::new());
            create(params, pk, circuit, &columns, &mut t)?;
            TranscriptWriterBuffer::<_, G1Affine, ChallengeEvm<G1Affine>>::finalize(t)
        }
        Transcript::Poseidon => {
            let mut t = PoseidonTranscript::<NativeLoader, Vec<u8>>::from_spec(
                Vec::new(),
                POSEIDON_SPEC.clone(),
            );
            create(params, pk, circuit, &columns, &mut t)?;
            t.finalize()
        }
    };
    if verify_with(params, pk.get_vk(), instances, &proof, transcript)? {
        Ok(proof)
    } else {
        Err(ProverError::InvalidProof)
    }
}

fn create<C, E, T>(
    params: &ParamsKZG<Bn256>,
    pk: &ProvingKey<G1Affine>,
    circuit: C,
    columns: &[&[Fr]],
    transcript: &mut T,
) -> Result<()>
where
    C: Circuit<Fr>,
    E: EncodedChallenge<G1Affine>,
    T: TranscriptWrite<G1Affine, E>,
{
    create_proof::<KZGCommitmentScheme<Bn256>, ProverSHPLONK<'_, Bn256>, E, _, T, C>(
        params,
        pk,
        &[circuit],
        &[columns],
        ChaCha20Rng::from_entropy(),
        transcript,
    )
    .map_err(halo2)
}

/// Verifies a proof natively, with the transcript the EVM verifier uses.
pub fn verify(
    params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    instances: &[Vec<Fr>],
    proof: &[u8],
) -> Result<bool> {
    verify_with(params, vk, instances, proof, Transcript::Evm)
}

/// Verifies a proof natively with `transcript`; a proof made with the other transcript, like any
/// wrong proof, does not verify.
pub fn verify_with(
    params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    instances: &[Vec<Fr>],
    proof: &[u8],
    transcript: Transcript,
) -> Result<bool> {
    let columns: Vec<&[Fr]> = instances.iter().map(Vec::as_slice).collect();
    Ok(match transcript {
        Transcript::Evm => {
            let mut t: EvmTranscript<G1Affine, NativeLoader, &[u8], Vec<u8>> =
                TranscriptReadBuffer::<_, G1Affine, ChallengeEvm<G1Affine>>::init(proof);
            check(params, vk, &columns, &mut t)
        }
        Transcript::Poseidon => {
            let mut t =
                PoseidonTranscript::<NativeLoader, &[u8]>::from_spec(proof, POSEIDON_SPEC.clone());
            check(params, vk, &columns, &mut t)
        }
    })
}

fn check<E, T>(
    params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    columns: &[&[Fr]],
    transcript: &mut T,
) -> bool
where
    E: EncodedChallenge<G1Affine>,
    T: TranscriptRead<G1Affine, E>,
{
    let verifier_params = params.verifier_params();
    match verify_proof::<_, VerifierSHPLONK<'_, Bn256>, E, T, _>(
        verifier_params,
        vk,
        AccumulatorStrategy::new(verifier_params),
        &[columns],
        transcript,
    ) {
        Ok(strategy) => VerificationStrategy::<_, VerifierSHPLONK<'_, Bn256>>::finalize(strategy),
        Err(_) => false,
    }
}

/// A proof in the form the aggregation stage takes it: snark-verifier's protocol compiled from the
/// verifying key (one instance column of `public_inputs.len()` values), the public inputs and the
/// proof, which must have been made with [`Transcript::Poseidon`].
pub fn snark(
    params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    public_inputs: &[Fr],
    proof: &[u8],
) -> Snark {
    let protocol = compile(
        params,
        vk,
        Config::kzg().with_num_instance(vec![public_inputs.len()]),
    );
    Snark::new(protocol, vec![public_inputs.to_vec()], proof.to_vec())
}

/// Verifies `snark` natively the way the aggregation stage does: snark-verifier's succinct SHPLONK
/// verifier replays the Poseidon transcript and yields KZG accumulators (what an aggregation circuit
/// computes in-circuit and exposes), and the pairing check then decides each (what L1 does last).
/// Anything it cannot read or that fails either step is `false`.
pub fn verify_for_aggregation(params: &ParamsKZG<Bn256>, snark: &Snark) -> bool {
    let g = params.get_g()[0];
    let svk: KzgSuccinctVerifyingKey<G1Affine> = g.into();
    let dk: KzgDecidingKey<Bn256> = (g, params.g2(), params.s_g2()).into();
    let mut transcript =
        PoseidonTranscript::<NativeLoader, &[u8]>::from_spec(snark.proof(), POSEIDON_SPEC.clone());
    let Ok(proof) = PlonkSuccinctVerifier::<SHPLONK>::read_proof(
        &svk,
        &snark.protocol,
        &snark.instances,
        &mut transcript,
    ) else {
        return false;
    };
    let Ok(accumulators) =
        PlonkSuccinctVerifier::<SHPLONK>::verify(&svk, &snark.protocol, &snark.instances, &proof)
    else {
        return false;
    };
    !accumulators.is_empty()
        && accumulators
            .into_iter()
            .all(|acc| <SHPLONK as AccumulationDecider<_, _>>::decide(&dk, acc).is_ok())
}

/// The proving key of the chunk circuit, from `path` when cached, else generated and cached there.
///
/// A cached key is used only if its verifying key is the current circuit's: a key made for another
/// circuit (an older version under the same name, a file written by hand) would make proofs, and a
/// generated verifier, for that circuit, and the native check would not notice (it uses the same
/// key). The verifying key is cheap to rebuild (no proving-key polynomials), so it is rebuilt and
/// compared every time; a stale or unreadable file is replaced.
pub fn cached_pk(
    params: &ParamsKZG<Bn256>,
    path: &Path,
    slots: usize,
    chain_id: u64,
) -> Result<ProvingKey<G1Affine>> {
    let circuit = ChunkCircuit::keygen(slots, chain_id);
    let vk = keygen_vk(params, &circuit).map_err(halo2)?;
    if path.exists() {
        match read_pk(path) {
            Ok(pk) if vk_digest(pk.get_vk()) == vk_digest(&vk) => return Ok(pk),
            Ok(_) => tracing::warn!(
                path = %path.display(),
                "the cached proving key is not the current circuit's: generating it again"
            ),
            Err(e) => tracing::warn!(
                path = %path.display(),
                error = %e,
                "the cached proving key does not load: generating it again"
            ),
        }
    }
    let pk = keygen_pk(params, vk, &circuit).map_err(halo2)?;
    write_pk(&pk, path)?;
    Ok(pk)
}

/// Everything needed to prove chunks of one deployment: the SRS and the proving key.
pub struct ChunkProver {
    params: ParamsKZG<Bn256>,
    pk: ProvingKey<G1Affine>,
    slots: usize,
    chain_id: u64,
}

impl std::fmt::Debug for ChunkProver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkProver")
            .field("k", &self.params.k())
            .field("slots", &self.slots)
            .field("chain_id", &self.chain_id)
            .finish()
    }
}

impl ChunkProver {
    /// Loads the SRS (`srs`) and the proving key (cached under `cache`) for chunks of `slots`
    /// slots at `2^k` rows.
    pub fn load(
        cache: &Path,
        srs: &SrsSource,
        slots: usize,
        chain_id: u64,
        k: u32,
    ) -> Result<ChunkProver> {
        let params = srs.load(cache, k)?;
        let path = ArtifactCache::new(cache).chunk_pk(
            &ChunkShape { slots, chain_id, k },
            &crate::ptau::params_digest(&params),
        );
        let pk = cached_pk(&params, &path, slots, chain_id)?;
        Ok(ChunkProver {
            params,
            pk,
            slots,
            chain_id,
        })
    }

    /// The parameters (SRS) this prover holds.
    pub fn params(&self) -> &ParamsKZG<Bn256> {
        &self.params
    }

    /// Slots per chunk.
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// The L2 chain id its circuit is made for.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The chunk circuit's verifying key.
    pub fn vk(&self) -> &VerifyingKey<G1Affine> {
        self.pk.get_vk()
    }

    /// The digest of the parameters this prover holds ([`crate::ptau::params_digest`]).
    pub fn params_digest(&self) -> [u8; 32] {
        crate::ptau::params_digest(&self.params)
    }

    /// Proves one sealed chunk for L1 (EVM transcript); the proof is checked natively before it
    /// is returned.
    pub fn prove(&self, chunk: &Chunk) -> Result<Vec<u8>> {
        self.prove_with(chunk, Transcript::Evm)
    }

    /// Proves one sealed chunk with `transcript`; the proof is checked natively before it is
    /// returned.
    pub fn prove_with(&self, chunk: &Chunk, transcript: Transcript) -> Result<Vec<u8>> {
        let circuit = ChunkCircuit::new(chunk, self.slots, self.chain_id)?;
        prove_with(
            &self.params,
            &self.pk,
            circuit,
            &instances(chunk),
            transcript,
        )
    }
}

/// The smallest `k` whose `2^k` rows hold a chunk of `slots` slots. Measured by `verifier-gen rows`:
/// 6,317 rows for one slot, 12,609 for two; a slot is 6,269 rows and the data commitment's sponge
/// `23·⌈3N/2⌉` more, so at most `6,303.5·N + 14` in all, plus the 6 rows halo2 reserves at the end.
pub fn min_k(slots: usize) -> u32 {
    let rows = slots.max(1) * 6_304 + 64;
    rows.next_power_of_two().trailing_zeros()
}
