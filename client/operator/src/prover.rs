//! Which prover the operator runs: the [`Backend`] its coordinator hands proof tasks to, chosen by
//! the configuration (`prover`). In-process on the CPU today; a remote worker pool or a GPU
//! backend is another [`ProverKind`] building another [`Backend`], with nothing else changed.

use std::sync::Arc;

use rollup_prover::batch::{BatchProver, DEFAULT_K};
use rollup_prover::{Backend, ChunkProver, ChunkShape, CpuBackend, SrsSource};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::error::Result;

/// The provers the operator can be configured with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProverKind {
    /// In this process, on the CPU (`rollup_prover::CpuBackend`).
    #[default]
    Cpu,
}

/// Loads the configured backend for chunks of `slots` slots, aggregated `capacity` to a batch proof
/// (the deployed verifier's shape): the SRS and both stages' proving keys, generated and cached
/// under the key cache the first time. Blocking (minutes on a cold cache: about five for the batch
/// stage's SRS and key on 2 cores). With `deployed_params` (the deployed verifier's parameters
/// digest), parameters other than those are refused once the chunk stage has loaded, before the
/// batch stage's larger SRS and key are read or made.
pub fn load_backend(
    cfg: &Config,
    slots: usize,
    capacity: usize,
    deployed_params: Option<[u8; 32]>,
) -> Result<Arc<dyn Backend>> {
    let srs = cfg.srs_source()?;
    if srs == SrsSource::Development {
        tracing::warn!(
            "development SRS from a public seed: anyone can forge proofs for its verifier (devnets only)"
        );
    }
    match cfg.prover {
        ProverKind::Cpu => {
            let shape = ChunkShape::new(slots, cfg.chain_id);
            let chunk = ChunkProver::load(&cfg.key_cache(), &srs, slots, cfg.chain_id, shape.k)?;
            if let Some(deployed) = deployed_params {
                crate::node::same_params(deployed, chunk.params_digest())?;
            }
            tracing::info!(
                capacity,
                "loading the batch stage (its SRS and key are generated and cached on first use)"
            );
            let batch = BatchProver::load(&cfg.key_cache(), &srs, &chunk, capacity, DEFAULT_K)?;
            if !cfg.compress {
                return Ok(Arc::new(CpuBackend::new(chunk).with_batch(batch)));
            }
            tracing::info!(
                k = rollup_prover::compress::DEFAULT_K,
                "loading the compression stage (its SRS and key are generated and cached on first use)"
            );
            let compress = rollup_prover::compress::CompressProver::load(
                &cfg.key_cache(),
                &srs,
                &batch,
                rollup_prover::compress::DEFAULT_K,
            )?;
            Ok(Arc::new(
                CpuBackend::new(chunk)
                    .with_batch(batch)
                    .with_compress(compress),
            ))
        }
    }
}
