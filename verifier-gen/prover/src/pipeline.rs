//! What a proving pipeline is made of, and loading it: the chunk size and chain its chunk circuit is
//! for, the chunk proofs per batch proof, the levels of aggregation nodes between them, whether batch
//! proofs are compressed, the SRS and where keys are cached. The operator and every prover worker
//! load their backend from a [`Pipeline`], so that a worker on another machine proves with the very
//! keys the operator verifies with (each task names its key's digest, and a worker serves only the
//! digests it holds) and needs nothing of L1.

use std::path::PathBuf;

use crate::batch::BatchProver;
use crate::compress::CompressProver;
use crate::node::{ARITY, NodeProver};
use crate::{ChunkProver, ChunkShape, CpuBackend, ProofKind, ProverError, Result, SrsSource};

/// A proving pipeline's shape and where its parameters and keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pipeline {
    /// Slots per chunk.
    pub slots: usize,
    /// The L2 chain id the chunk circuit is made for.
    pub chain_id: u64,
    /// Chunk proofs per batch proof (the deployed verifier's capacity).
    pub capacity: usize,
    /// Levels of aggregation nodes between chunk proofs and the batch proof ([`crate::node`]).
    pub tree_depth: u32,
    /// Whether batch proofs are compressed ([`crate::compress`]): L1 then verifies
    /// [`ProofKind::Compressed`] proofs.
    pub compress: bool,
    /// The SRS.
    pub srs: SrsSource,
    /// Where the SRS and proving keys are cached (made there on first use).
    pub key_cache: PathBuf,
}

impl Pipeline {
    /// The stages a backend loaded from this pipeline proves, in the order they run: the kinds a
    /// worker serving the whole pipeline declares.
    pub fn kinds(&self) -> Vec<ProofKind> {
        let mut kinds = vec![ProofKind::RecursiveChunk];
        if self.tree_depth > 0 {
            kinds.push(ProofKind::Node);
        }
        if self.compress {
            kinds.extend([ProofKind::RecursiveBatch, ProofKind::Compressed]);
        } else {
            kinds.push(ProofKind::Batch);
        }
        kinds
    }

    /// Checks the shape: a capacity that is a whole number of top-level nodes.
    pub fn check(&self) -> Result<()> {
        let per_node = ARITY
            .checked_pow(self.tree_depth)
            .ok_or_else(|| ProverError::Pipeline(format!("tree depth {}", self.tree_depth)))?;
        if self.slots == 0 || self.capacity == 0 || !self.capacity.is_multiple_of(per_node) {
            return Err(ProverError::Pipeline(format!(
                "a capacity of {} chunk proofs of {} slots is not a whole number of nodes of depth {} ({per_node} chunks each): set the tree depth to the one the verifier's keys were made for",
                self.capacity, self.slots, self.tree_depth
            )));
        }
        Ok(())
    }

    /// Loads the chunk stage only ([`CpuBackend::new`]): for a worker that proves chunks and leaves
    /// aggregation to others (seconds, and a fraction of the memory). With `expected_params` (the
    /// deployed verifier's parameters digest, or the queue's), other parameters are refused before
    /// anything else is read.
    pub fn load_chunks(&self, expected_params: Option<[u8; 32]>) -> Result<CpuBackend> {
        self.check()?;
        if self.srs == SrsSource::Development {
            tracing::warn!(
                "development SRS from a public seed: anyone can forge proofs for its verifier (devnets only)"
            );
        }
        let shape = ChunkShape::new(self.slots, self.chain_id);
        let chunk = ChunkProver::load(
            &self.key_cache,
            &self.srs,
            self.slots,
            self.chain_id,
            shape.k,
        )?;
        if let Some(expected) = expected_params
            && expected != chunk.params_digest()
        {
            return Err(ProverError::ParamsMismatch {
                expected,
                ours: chunk.params_digest(),
            });
        }
        Ok(CpuBackend::new(chunk))
    }

    /// Loads every stage: the chunk stage ([`Pipeline::load_chunks`]), each node level, the batch
    /// stage, and the compression stage when it compresses; each SRS and key is made and cached
    /// the first time. Blocking: minutes on a cold cache (about five for the batch stage's SRS and
    /// key on 2 cores). Parameters other than `expected_params` are refused once the chunk stage
    /// has loaded, before the larger SRS and keys of the later stages are read or made.
    pub fn load(&self, expected_params: Option<[u8; 32]>) -> Result<CpuBackend> {
        let backend = self.load_chunks(expected_params)?;
        let chunk = backend.chunk();
        let cache = &self.key_cache;
        let mut nodes: Vec<NodeProver> = Vec::new();
        for level in 1..=self.tree_depth {
            tracing::info!(
                level,
                "loading a node level (its SRS and key are generated and cached on first use)"
            );
            let node = match nodes.last() {
                None => NodeProver::over_chunks(cache, &self.srs, chunk, crate::node::DEFAULT_K)?,
                Some(below) => {
                    NodeProver::over_nodes(cache, &self.srs, below, crate::node::DEFAULT_K)?
                }
            };
            nodes.push(node);
        }
        tracing::info!(
            capacity = self.capacity,
            depth = self.tree_depth,
            "loading the batch stage (its SRS and key are generated and cached on first use)"
        );
        let per_node = ARITY.pow(self.tree_depth);
        let batch = match nodes.last() {
            None => BatchProver::load(
                cache,
                &self.srs,
                chunk,
                self.capacity,
                crate::batch::DEFAULT_K,
            )?,
            Some(top) => BatchProver::load_over_nodes(
                cache,
                &self.srs,
                top,
                self.capacity / per_node,
                crate::batch::DEFAULT_K,
            )?,
        };
        let backend = backend.with_nodes(nodes)?.with_batch(batch);
        if !self.compress {
            return Ok(backend);
        }
        tracing::info!(
            k = crate::compress::DEFAULT_K,
            "loading the compression stage (its SRS and key are generated and cached on first use)"
        );
        let batch = backend
            .batch()
            .ok_or(ProverError::NoProver(ProofKind::Batch))?;
        let compress = CompressProver::load(cache, &self.srs, batch, crate::compress::DEFAULT_K)?;
        Ok(backend.with_compress(compress))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pipeline(capacity: usize, tree_depth: u32, compress: bool) -> Pipeline {
        Pipeline {
            slots: 1,
            chain_id: 1,
            capacity,
            tree_depth,
            compress,
            srs: SrsSource::Development,
            key_cache: PathBuf::from("unused"),
        }
    }

    #[test]
    fn the_stages_follow_the_shape() {
        use ProofKind::*;
        assert_eq!(pipeline(1, 0, false).kinds(), vec![RecursiveChunk, Batch]);
        assert_eq!(
            pipeline(4, 1, true).kinds(),
            vec![RecursiveChunk, Node, RecursiveBatch, Compressed]
        );
    }

    #[test]
    fn a_capacity_that_is_not_whole_nodes_is_refused() {
        assert!(pipeline(2, 1, false).check().is_ok());
        assert!(matches!(
            pipeline(3, 1, false).check(),
            Err(ProverError::Pipeline(_))
        ));
        assert!(matches!(
            pipeline(0, 0, false).check(),
            Err(ProverError::Pipeline(_))
        ));
        assert!(pipeline(1, 70, false).check().is_err());
    }
}
