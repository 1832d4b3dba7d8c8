//! The artifact cache: the one place that names the prover's files. Everything expensive to
//! rebuild (the development SRS, proving keys, generated verifiers) lives in one directory under
//! names that say what it was made from, so that two parameter sets or chunk shapes never share a
//! file. Nothing outside this module spells a cache file name.

use std::path::{Path, PathBuf};

/// What a chunk circuit is instantiated with: its key depends on all three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChunkShape {
    /// Transaction slots per chunk.
    pub slots: usize,
    /// The L2 chain id the circuit's signatures commit to.
    pub chain_id: u64,
    /// log2 of the circuit's rows.
    pub k: u32,
}

impl ChunkShape {
    /// A chunk of `slots` slots for `chain_id`, at the smallest `k` that holds it
    /// ([`crate::min_k`]).
    pub fn new(slots: usize, chain_id: u64) -> ChunkShape {
        ChunkShape {
            slots,
            chain_id,
            k: crate::min_k(slots),
        }
    }

    /// The same shape at another `k` (a circuit may be laid out on more rows than it needs).
    pub fn with_k(self, k: u32) -> ChunkShape {
        ChunkShape { k, ..self }
    }

    /// The name of its files: the circuit's version ([`rollup_circuits::chunk::VERSION`], so that a
    /// key cached for an older circuit is never loaded for a newer one), its shape, and the
    /// parameters.
    fn stem(&self, params_digest: &[u8; 32]) -> String {
        let d = alloy_primitives::hex::encode(&params_digest[..8]);
        format!(
            "chunk-v{}-n{}-k{}-chain{}-srs{d}",
            rollup_circuits::chunk::VERSION,
            self.slots,
            self.k,
            self.chain_id
        )
    }
}

/// A directory of cached prover artifacts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactCache {
    dir: PathBuf,
}

impl ArtifactCache {
    /// The cache in `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> ArtifactCache {
        ArtifactCache { dir: dir.into() }
    }

    /// Its directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The development SRS of `2^k` points.
    pub fn dev_srs(&self, k: u32) -> PathBuf {
        self.dir.join(format!("dev-srs-k{k}.params"))
    }

    /// The chunk circuit's proving key for `shape` over the parameters named by `params_digest`.
    pub fn chunk_pk(&self, shape: &ChunkShape, params_digest: &[u8; 32]) -> PathBuf {
        self.dir.join(format!("{}.pk", shape.stem(params_digest)))
    }
}

/// What a batch circuit is instantiated with: the chunk circuit whose proofs it verifies (named by
/// its shape and verifying key's digest), how many, and its own `k`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BatchShape {
    /// The chunk circuit's shape.
    pub chunk: ChunkShape,
    /// The first bytes of the chunk verifying key's digest ([`crate::vk_digest`]).
    pub chunk_vk: [u8; 8],
    /// Chunks per batch proof.
    pub capacity: usize,
    /// log2 of the batch circuit's rows.
    pub k: u32,
    /// Levels of aggregation nodes below the batch circuit ([`crate::node`]): 0 when it verifies
    /// chunk proofs.
    pub depth: u32,
    /// The first bytes of its children's verifying key's digest: the chunk key's at depth 0, the
    /// top node level's above.
    pub child_vk: [u8; 8],
}

impl BatchShape {
    /// The name of its files: both circuits' versions and shapes, the chunk key and the
    /// parameters; over nodes, their depth and key too.
    fn stem(&self, params_digest: &[u8; 32]) -> String {
        let nodes = if self.depth == 0 {
            String::new()
        } else {
            format!(
                "-d{}-nvk{}",
                self.depth,
                alloy_primitives::hex::encode(self.child_vk)
            )
        };
        format!(
            "batch-v{}-c{}-k{}-of-{}-vk{}{nodes}",
            crate::batch::VERSION,
            self.capacity,
            self.k,
            self.chunk.stem(params_digest),
            alloy_primitives::hex::encode(self.chunk_vk),
        )
    }
}

/// What a node circuit ([`crate::node`]) is instantiated with: the chunk circuit at the bottom of
/// its tree, its level, its children's verifying key and its own `k`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeShape {
    /// The chunk circuit's shape.
    pub chunk: ChunkShape,
    /// The first bytes of the chunk verifying key's digest.
    pub chunk_vk: [u8; 8],
    /// Its level: 1 over chunk proofs.
    pub level: u32,
    /// The first bytes of its children's verifying key's digest (the chunk key's at level 1).
    pub child_vk: [u8; 8],
    /// log2 of the node circuit's rows.
    pub k: u32,
}

impl NodeShape {
    fn stem(&self, params_digest: &[u8; 32]) -> String {
        format!(
            "node-v{}-l{}-k{}-of-{}-vk{}-cvk{}",
            crate::node::VERSION,
            self.level,
            self.k,
            self.chunk.stem(params_digest),
            alloy_primitives::hex::encode(self.chunk_vk),
            alloy_primitives::hex::encode(self.child_vk),
        )
    }
}

impl ArtifactCache {
    /// A node circuit's proving key for `shape` over the parameters named by `params_digest` (its
    /// layout beside it, as for a batch key).
    pub fn node_pk(&self, shape: &NodeShape, params_digest: &[u8; 32]) -> PathBuf {
        self.dir.join(format!("{}.pk", shape.stem(params_digest)))
    }
}

impl ArtifactCache {
    /// The batch circuit's proving key for `shape` over the parameters named by `params_digest`
    /// (its layout is stored beside it, [`crate::batch::write_keys`]).
    pub fn batch_pk(&self, shape: &BatchShape, params_digest: &[u8; 32]) -> PathBuf {
        self.dir.join(format!("{}.pk", shape.stem(params_digest)))
    }

    /// The creation bytecode (hex) of the batch circuit's Solidity verifier for `shape` over the
    /// parameters named by `params_digest`; its deployment parameters are beside it (`.json`).
    pub fn batch_verifier(&self, shape: &BatchShape, params_digest: &[u8; 32]) -> PathBuf {
        self.dir
            .join(format!("{}.verifier.bin", shape.stem(params_digest)))
    }
}

/// What a compression circuit is instantiated with: the batch circuit whose proofs it compresses
/// (named by its shape and verifying key's digest) and its own `k`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CompressShape {
    /// The batch circuit's shape.
    pub batch: BatchShape,
    /// The first bytes of the batch verifying key's digest ([`crate::vk_digest`]).
    pub batch_vk: [u8; 8],
    /// log2 of the compression circuit's rows.
    pub k: u32,
}

impl CompressShape {
    fn stem(&self, params_digest: &[u8; 32]) -> String {
        format!(
            "compress-v{}-k{}-of-{}-bvk{}",
            crate::compress::VERSION,
            self.k,
            self.batch.stem(params_digest),
            alloy_primitives::hex::encode(self.batch_vk),
        )
    }
}

impl ArtifactCache {
    /// The compression circuit's proving key for `shape` over the parameters named by
    /// `params_digest` (its layout beside it, as for a batch key).
    pub fn compress_pk(&self, shape: &CompressShape, params_digest: &[u8; 32]) -> PathBuf {
        self.dir.join(format!("{}.pk", shape.stem(params_digest)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_differ_by_every_input() {
        let cache = ArtifactCache::new("/c");
        let shape = ChunkShape::new(4, 1).with_k(17);
        let base = cache.chunk_pk(&shape, &[1; 32]);
        assert_eq!(
            base,
            Path::new(&format!(
                "/c/chunk-v{}-n4-k17-chain1-srs0101010101010101.pk",
                rollup_circuits::chunk::VERSION
            ))
        );
        for other in [
            cache.chunk_pk(&ChunkShape { slots: 5, ..shape }, &[1; 32]),
            cache.chunk_pk(
                &ChunkShape {
                    chain_id: 2,
                    ..shape
                },
                &[1; 32],
            ),
            cache.chunk_pk(&shape.with_k(18), &[1; 32]),
            cache.chunk_pk(&shape, &[2; 32]),
        ] {
            assert_ne!(other, base);
        }
        let batch = BatchShape {
            chunk: shape,
            chunk_vk: [3; 8],
            capacity: 2,
            k: 20,
            depth: 0,
            child_vk: [3; 8],
        };
        let base = cache.batch_pk(&batch, &[1; 32]);
        for other in [
            cache.batch_pk(
                &BatchShape {
                    capacity: 1,
                    ..batch
                },
                &[1; 32],
            ),
            cache.batch_pk(&BatchShape { k: 21, ..batch }, &[1; 32]),
            cache.batch_pk(
                &BatchShape {
                    chunk_vk: [4; 8],
                    ..batch
                },
                &[1; 32],
            ),
            cache.batch_pk(
                &BatchShape {
                    chunk: shape.with_k(18),
                    ..batch
                },
                &[1; 32],
            ),
            cache.batch_pk(&BatchShape { depth: 1, ..batch }, &[1; 32]),
            cache.batch_pk(
                &BatchShape {
                    depth: 1,
                    child_vk: [7; 8],
                    ..batch
                },
                &[1; 32],
            ),
            cache.batch_pk(&batch, &[2; 32]),
            cache.batch_verifier(&batch, &[1; 32]),
        ] {
            assert_ne!(other, base);
        }
        let compress = CompressShape {
            batch,
            batch_vk: [5; 8],
            k: 22,
        };
        let base = cache.compress_pk(&compress, &[1; 32]);
        for other in [
            cache.compress_pk(
                &CompressShape {
                    batch_vk: [6; 8],
                    ..compress
                },
                &[1; 32],
            ),
            cache.compress_pk(&CompressShape { k: 23, ..compress }, &[1; 32]),
            cache.compress_pk(
                &CompressShape {
                    batch: BatchShape {
                        capacity: 1,
                        ..batch
                    },
                    ..compress
                },
                &[1; 32],
            ),
            cache.compress_pk(&compress, &[2; 32]),
            cache.batch_pk(&batch, &[1; 32]),
        ] {
            assert_ne!(other, base);
        }
        let node = NodeShape {
            chunk: shape,
            chunk_vk: [3; 8],
            level: 1,
            child_vk: [3; 8],
            k: 20,
        };
        let base = cache.node_pk(&node, &[1; 32]);
        for other in [
            cache.node_pk(&NodeShape { level: 2, ..node }, &[1; 32]),
            cache.node_pk(
                &NodeShape {
                    child_vk: [8; 8],
                    ..node
                },
                &[1; 32],
            ),
            cache.node_pk(&NodeShape { k: 21, ..node }, &[1; 32]),
            cache.node_pk(&node, &[2; 32]),
            cache.batch_pk(&batch, &[1; 32]),
        ] {
            assert_ne!(other, base);
        }
        assert_ne!(cache.dev_srs(14), cache.dev_srs(15));
    }
}
