//! Which prover the operator runs: the [`Backend`] its coordinator checks proofs with and, unless
//! the proof queue is configured (`queue_url`: workers on other machines prove, [`crate::queue`]),
//! proves with. The backend is the configured [`Pipeline`] loaded in this process.

use std::sync::Arc;

use rollup_prover::{Backend, Pipeline};
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

/// The pipeline the configuration names for chunks of `slots` slots, aggregated `capacity` to a
/// batch proof (the deployed verifier's shape): what prover workers must be started with too.
pub fn pipeline(cfg: &Config, slots: usize, capacity: usize) -> Result<Pipeline> {
    let pipeline = Pipeline {
        slots,
        chain_id: cfg.chain_id,
        capacity,
        tree_depth: cfg.tree_depth,
        compress: cfg.compress,
        srs: cfg.srs_source()?,
        key_cache: cfg.key_cache(),
    };
    pipeline.check()?;
    Ok(pipeline)
}

/// Loads the configured backend ([`pipeline`], [`Pipeline::load`]): the SRS and every stage's
/// proving key, generated and cached under the key cache the first time. Blocking (minutes on a
/// cold cache). With `deployed_params` (the deployed verifier's parameters digest), parameters other
/// than those are refused once the chunk stage has loaded, before the larger SRS and keys of the
/// later stages are read or made.
pub fn load_backend(
    cfg: &Config,
    slots: usize,
    capacity: usize,
    deployed_params: Option<[u8; 32]>,
) -> Result<Arc<dyn Backend>> {
    let pipeline = pipeline(cfg, slots, capacity)?;
    match cfg.prover {
        ProverKind::Cpu => match pipeline.load(deployed_params) {
            Ok(backend) => Ok(Arc::new(backend)),
            Err(rollup_prover::ProverError::ParamsMismatch { expected, ours }) => {
                Err(crate::node::params_mismatch(expected, ours))
            }
            Err(e) => Err(e.into()),
        },
    }
}
