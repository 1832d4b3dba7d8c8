//! Which prover the operator runs: the [`Backend`] its coordinator hands proof tasks to, chosen by
//! the configuration (`prover`). In-process on the CPU today; a remote worker pool or a GPU
//! backend is another [`ProverKind`] building another [`Backend`], with nothing else changed.

use std::sync::Arc;

use rollup_prover::batch::{BatchProver, DEFAULT_K};
use rollup_prover::node::NodeProver;
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
            let per_node = rollup_prover::node::ARITY.pow(cfg.tree_depth);
            if !capacity.is_multiple_of(per_node) {
                return Err(crate::error::Error::Config(format!(
                    "the verifier's capacity {capacity} is not a whole number of nodes of depth {} ({per_node} chunks each): set tree_depth to the depth its keys were made for",
                    cfg.tree_depth
                )));
            }
            let mut nodes: Vec<NodeProver> = Vec::new();
            for level in 1..=cfg.tree_depth {
                tracing::info!(
                    level,
                    "loading a node level (its SRS and key are generated and cached on first use)"
                );
                let node = match nodes.last() {
                    None => NodeProver::over_chunks(
                        &cfg.key_cache(),
                        &srs,
                        &chunk,
                        rollup_prover::node::DEFAULT_K,
                    )?,
                    Some(below) => NodeProver::over_nodes(
                        &cfg.key_cache(),
                        &srs,
                        below,
                        rollup_prover::node::DEFAULT_K,
                    )?,
                };
                nodes.push(node);
            }
            tracing::info!(
                capacity,
                depth = cfg.tree_depth,
                "loading the batch stage (its SRS and key are generated and cached on first use)"
            );
            let batch = match nodes.last() {
                None => BatchProver::load(&cfg.key_cache(), &srs, &chunk, capacity, DEFAULT_K)?,
                Some(top) => BatchProver::load_over_nodes(
                    &cfg.key_cache(),
                    &srs,
                    top,
                    capacity / per_node,
                    DEFAULT_K,
                )?,
            };
            let backend = CpuBackend::new(chunk).with_nodes(nodes)?.with_batch(batch);
            if !cfg.compress {
                return Ok(Arc::new(backend));
            }
            tracing::info!(
                k = rollup_prover::compress::DEFAULT_K,
                "loading the compression stage (its SRS and key are generated and cached on first use)"
            );
            let batch = backend
                .batch()
                .ok_or_else(|| crate::error::Error::Config("no batch prover".into()))?;
            let compress = rollup_prover::compress::CompressProver::load(
                &cfg.key_cache(),
                &srs,
                batch,
                rollup_prover::compress::DEFAULT_K,
            )?;
            Ok(Arc::new(backend.with_compress(compress)))
        }
    }
}
