//! The prover driver: sealed chunks in, chunk proofs out, through a [`ProofStage`].
//!
//! The stage is the seam of the proving pipeline: the driver hands it one sealed chunk with its
//! witnesses and gets back the bytes `finalizeBatch` takes for that chunk. [`LocalProver`] proves
//! in this process with verifier-gen; a remote prover, or an aggregation stage that wraps chunk
//! proofs, implements the same trait and neither the sequencer nor the submitter changes.

use std::path::Path;
use std::sync::Arc;

use rollup_protocol::Chunk;
use verifier_gen::prover::{ChunkProver, SrsSource};

use crate::error::{Error, Result};

/// One stage of the proving pipeline. Blocking: the driver runs it off the async runtime.
pub trait ProofStage: Send + Sync {
    /// The proof of `chunk` (chunk `index` of the deployment) in the form L1 verifies.
    fn prove(&self, index: u64, chunk: &Chunk) -> Result<Vec<u8>>;
}

/// Proves chunks in this process (verifier-gen, SHPLONK over KZG; every proof is checked
/// natively before it is returned).
#[derive(Debug)]
pub struct LocalProver {
    inner: ChunkProver,
}

impl LocalProver {
    /// Loads the SRS and proving key (generating and caching them under `cache` the first time).
    pub fn load(
        cache: &Path,
        srs: &SrsSource,
        slots: usize,
        chain_id: u64,
        k: u32,
    ) -> Result<LocalProver> {
        if *srs == SrsSource::Development {
            tracing::warn!(
                "development SRS from a public seed: anyone can forge proofs for its verifier (devnets only)"
            );
        }
        let inner = ChunkProver::load(cache, srs, slots, chain_id, k)
            .map_err(|e| Error::Prover(e.to_string()))?;
        Ok(LocalProver { inner })
    }

    /// The digest of the parameters it proves with (`Halo2ChunkVerifier.PARAMS_DIGEST` on L1 must
    /// equal it, or L1 rejects every proof).
    pub fn params_digest(&self) -> [u8; 32] {
        self.inner.params_digest()
    }
}

impl ProofStage for LocalProver {
    fn prove(&self, index: u64, chunk: &Chunk) -> Result<Vec<u8>> {
        let start = std::time::Instant::now();
        let proof = self
            .inner
            .prove(chunk)
            .map_err(|e| Error::Prover(format!("chunk {index}: {e}")))?;
        let secs = start.elapsed().as_secs_f64();
        tracing::info!(chunk = index, seconds = secs, "chunk proven");
        metrics::histogram!("operator_prove_seconds").record(secs);
        Ok(proof)
    }
}

/// Runs `stage` on a chunk without blocking the async runtime.
pub async fn prove_off_runtime(
    stage: Arc<dyn ProofStage>,
    index: u64,
    chunk: Chunk,
) -> Result<Vec<u8>> {
    tokio::task::spawn_blocking(move || stage.prove(index, &chunk))
        .await
        .map_err(|e| Error::Prover(format!("chunk {index}: the proving task failed: {e}")))?
}
