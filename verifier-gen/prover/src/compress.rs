//! The compression stage: a batch proof proven again by a circuit with few columns, so that the
//! proof L1 verifies is cheap to verify.
//!
//! A Halo2 verifier's gas grows with the columns it opens (each commitment and evaluation costs a
//! few thousand gas) and little with the rows. The batch circuit is laid out wide (several advice
//! columns at `2^20` rows) because that is what proves fast; its Solidity verifier costs about
//! 426k gas. The compression circuit is snark-verifier's aggregation circuit over **one** batch
//! proof (made with the Poseidon transcript), laid out in as few advice columns as `2^k` rows
//! allow (two at [`DEFAULT_K`]), with the batch circuit's verifying key fixed in its own (as
//! constants: it compresses the proofs of one batch circuit and nothing else).
//!
//! It folds the batch proof's own accumulator and the one the batch proof carries (the pairing
//! its chunk proofs left over) into one, and passes the batch proof's other public inputs through
//! unchanged. Its public inputs are therefore a batch proof's, in the same order
//! ([`crate::batch::BATCH_PUBLIC_INPUTS`]: the accumulator, `old_root, new_root, C_B, z, Y_L1,
//! y_lo, y_hi`, the chunk key digest), and L1's adapter reads them the same way; only the verifier
//! behind it changes.

use halo2_base::gates::circuit::CircuitBuilderStage;
use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, G1Affine};
use halo2_base::halo2_proofs::plonk::{ProvingKey, VerifyingKey};
use halo2_base::halo2_proofs::poly::commitment::Params;
use halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use rollup_circuits::Fr;
use snark_verifier_sdk::halo2::aggregation::{
    AggregationCircuit, AggregationConfigParams, VerifierUniversality,
};
use snark_verifier_sdk::snark_verifier::system::halo2::{Config, compile};
use snark_verifier_sdk::snark_verifier::verifier::plonk::PlonkProtocol;
use snark_verifier_sdk::{CircuitExt, SHPLONK, Snark};

use crate::batch::{ACCUMULATOR_INPUTS, BATCH_PUBLIC_INPUTS, BatchLayout, BatchProver};
use crate::{ProverError, Result, Transcript};

/// log2 of the compression circuit's rows: the size its keys are made at. One batch proof's
/// verification takes about 5.6M advice cells, two advice columns at this size.
pub const DEFAULT_K: u32 = 22;

/// How the compression circuit holds the batch circuit's key: as constants, so that it compresses
/// the proofs of one batch circuit and nothing else. A key loaded as a witness would let any
/// circuit's proof through (its digest is not exposed here).
pub const UNIVERSALITY: VerifierUniversality = VerifierUniversality::None;

/// The compression circuit's version: part of the name of every cached compression key. Bump it
/// with any change to the circuit's constraints or layout.
pub const VERSION: u32 = 1;

/// snark-verifier's view of the batch circuit: its protocol compiled from the verifying key, one
/// instance column of [`BATCH_PUBLIC_INPUTS`] values whose first [`ACCUMULATOR_INPUTS`] are an
/// accumulator to fold. `params` must be the batch circuit's size.
pub fn batch_protocol(
    params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
) -> PlonkProtocol<G1Affine> {
    compile(
        params,
        vk,
        Config::kzg()
            .with_num_instance(vec![BATCH_PUBLIC_INPUTS])
            .with_accumulator_indices(AggregationCircuit::accumulator_indices()),
    )
}

/// The compression circuit over `batch` (one batch proof) at `stage`, with the columns of
/// `config`. `params` are the compression circuit's (only their generator is read).
pub fn circuit(
    stage: CircuitBuilderStage,
    config: AggregationConfigParams,
    params: &ParamsKZG<Bn256>,
    batch: Snark,
) -> AggregationCircuit {
    let mut circuit =
        AggregationCircuit::new::<SHPLONK>(stage, config, params, [batch], UNIVERSALITY);
    // The batch proof's inputs after its accumulator, as they are: the accumulator itself was
    // folded into the new one.
    circuit.expose_previous_instances(true);
    circuit
}

/// Generates the compression circuit's keys and layout at `2^k` rows (`params`) for proofs of the
/// batch circuit whose protocol is `batch` ([`batch_protocol`]); a dummy proof of its shape stands
/// in (key generation reads no witness). halo2-base chooses the columns: as few as the rows hold.
pub fn keygen(
    params: &ParamsKZG<Bn256>,
    batch: &PlonkProtocol<G1Affine>,
) -> Result<(ProvingKey<G1Affine>, BatchLayout)> {
    let dummy = snark_verifier_sdk::halo2::gen_dummy_snark_from_protocol::<SHPLONK>(batch.clone());
    crate::batch::aggregation_keygen(params, |config| {
        Ok(circuit(CircuitBuilderStage::Keygen, config, params, dummy))
    })
}

/// Everything needed to compress one deployment's batch proofs: the SRS at the compression
/// circuit's size, its keys and layout, and the batch circuit's protocol.
pub struct CompressProver {
    params: ParamsKZG<Bn256>,
    batch_params: ParamsKZG<Bn256>,
    pk: ProvingKey<G1Affine>,
    layout: BatchLayout,
    batch: PlonkProtocol<G1Affine>,
    key_digest: Fr,
}

impl std::fmt::Debug for CompressProver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompressProver")
            .field("k", &self.params.k())
            .field("layout", &self.layout.config)
            .finish()
    }
}

impl CompressProver {
    /// Loads the SRS (`srs`, at `2^k` points; the batch circuit's secret) and the compression
    /// circuit's keys for `batch`'s proofs, cached under `cache` (generated and cached on first
    /// use, under a name with [`VERSION`], the batch circuit's shape and key, and the SRS). As for
    /// batch keys, a cached key is trusted by its name.
    pub fn load(
        cache: &std::path::Path,
        srs: &crate::SrsSource,
        batch: &BatchProver,
        k: u32,
    ) -> Result<CompressProver> {
        let params_digest = crate::ptau::params_digest(batch.params());
        let params = crate::batch::same_srs(srs, cache, k, params_digest, "compression", "batch")?;
        let protocol = batch_protocol(batch.params(), batch.vk());
        let shape = crate::CompressShape {
            batch: batch.shape(),
            batch_vk: crate::batch::vk_prefix(batch.vk()),
            k,
        };
        let path = crate::ArtifactCache::new(cache).compress_pk(&shape, &params_digest);
        let (pk, layout) =
            crate::batch::cached_keys(&path, "compression", || keygen(&params, &protocol))?;
        Ok(CompressProver {
            params,
            batch_params: batch.params().clone(),
            pk,
            layout,
            batch: protocol,
            key_digest: batch.key_digest(),
        })
    }

    /// The parameters (SRS) this prover holds.
    pub fn params(&self) -> &ParamsKZG<Bn256> {
        &self.params
    }

    /// The compression circuit's verifying key.
    pub fn vk(&self) -> &VerifyingKey<G1Affine> {
        self.pk.get_vk()
    }

    /// The layout fixed at key generation.
    pub fn layout(&self) -> &BatchLayout {
        &self.layout
    }

    /// The digest of the chunk verifying key its proofs carry (the batch prover's).
    pub fn key_digest(&self) -> Fr {
        self.key_digest
    }

    /// Compresses the batch proof `proof` with `public_inputs` (made with the Poseidon transcript)
    /// into one made with `transcript`; returns its public inputs (the batch proof's, with a new
    /// accumulator) and bytes, checked natively. A batch proof that does not verify is
    /// [`ProverError::InvalidBatchProof`], never a proof that fails at the end.
    pub fn prove(
        &self,
        public_inputs: &[Fr],
        proof: &[u8],
        transcript: Transcript,
    ) -> Result<(Vec<Fr>, Vec<u8>)> {
        let snark = Snark::new(
            self.batch.clone(),
            vec![public_inputs.to_vec()],
            proof.to_vec(),
        );
        // Exactly the protocol's length (as for chunk proofs in the batch stage), then the proof
        // and the accumulator it carries must both pass their pairing.
        if proof.len() != crate::batch::proof_length(&self.batch)
            || public_inputs.len() != BATCH_PUBLIC_INPUTS
            || public_inputs.get(BATCH_PUBLIC_INPUTS - 1) != Some(&self.key_digest)
            || !crate::batch::decide(&self.batch_params, public_inputs)
            || !crate::verify_for_aggregation(&self.batch_params, &snark)
        {
            return Err(ProverError::InvalidBatchProof);
        }
        let circuit = circuit(
            CircuitBuilderStage::Prover,
            self.layout.config,
            &self.params,
            snark,
        );
        let (public, proof) = crate::batch::prove_aggregation(
            &self.params,
            &self.pk,
            &self.layout,
            circuit,
            transcript,
        )?;
        if public.get(ACCUMULATOR_INPUTS..) != public_inputs.get(ACCUMULATOR_INPUTS..) {
            return Err(ProverError::InvalidProof);
        }
        Ok((public, proof))
    }

    /// Whether a compressed proof verifies natively ([`crate::batch::verify`]) and carries this
    /// deployment's chunk key digest.
    pub fn verify(
        &self,
        public_inputs: &[Fr],
        proof: &[u8],
        transcript: Transcript,
    ) -> Result<bool> {
        crate::batch::verify_pinned(
            &self.params,
            self.vk(),
            self.key_digest,
            public_inputs,
            proof,
            transcript,
        )
    }
}
