//! Sparse Merkle trees of fixed depth over Poseidon.
//!
//! A node is `hash2(TAG_NODE, left, right)`. Leaf `i`'s path goes up from the
//! leaves: at level `l` the node is a right child when bit `l` of `i` is set.
//! Untouched subtrees take the precomputed empty-subtree hashes, so a tree of
//! depth 20 costs memory only for the paths that were ever written.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::constants::TAG_NODE;
use crate::error::{Error, Result};
use crate::field::Fr;
use crate::poseidon::hash2;

/// The hash of an inner node from its two children.
pub fn node_hash(left: Fr, right: Fr) -> Fr {
    hash2(TAG_NODE, left, right)
}

/// Empty-subtree hashes: `[empty_leaf, node(e0,e0), …]`, `depth + 1` entries,
/// the last being the empty tree's root.
pub fn empty_hashes(empty_leaf: Fr, depth: usize) -> Vec<Fr> {
    let mut out = Vec::with_capacity(depth + 1);
    out.push(empty_leaf);
    for l in 0..depth {
        out.push(node_hash(out[l], out[l]));
    }
    out
}

/// A path from one leaf to the root: the leaf's index and its siblings, leaf level first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerkleProof {
    /// The leaf's index.
    pub index: u64,
    /// Siblings from the leaf level up to just below the root.
    #[serde(with = "crate::field::serde_hex::vec")]
    pub siblings: Vec<Fr>,
}

impl MerkleProof {
    /// The root that `leaf` at this proof's index implies.
    pub fn compute_root(&self, leaf: Fr) -> Fr {
        let mut cur = leaf;
        for (l, sib) in self.siblings.iter().enumerate() {
            cur = if (self.index >> l) & 1 == 1 {
                node_hash(*sib, cur)
            } else {
                node_hash(cur, *sib)
            };
        }
        cur
    }

    /// Whether `leaf` sits at this proof's index under `root`.
    pub fn verify(&self, root: Fr, leaf: Fr) -> bool {
        self.compute_root(leaf) == root
    }

    /// Checks the proof's shape against a tree depth.
    pub fn check_depth(&self, depth: usize) -> Result<()> {
        if self.siblings.len() != depth || (depth < 64 && self.index >> depth != 0) {
            return Err(Error::ProofShape {
                expected: depth,
                got: self.siblings.len(),
            });
        }
        Ok(())
    }
}

/// A sparse Merkle tree whose empty subtrees hash to `defaults`.
#[derive(Debug, Clone)]
pub struct SparseMerkleTree {
    defaults: &'static [Fr],
    /// `levels[l]` maps an index at level `l` (0 = leaves) to its non-empty hash.
    levels: Vec<HashMap<u64, Fr>>,
}

impl SparseMerkleTree {
    /// An empty tree; its depth is `defaults.len() - 1`.
    pub fn new(defaults: &'static [Fr]) -> Self {
        Self {
            defaults,
            levels: vec![HashMap::new(); defaults.len()],
        }
    }

    /// The tree's depth.
    pub fn depth(&self) -> usize {
        self.levels.len().saturating_sub(1)
    }

    /// The root.
    pub fn root(&self) -> Fr {
        self.node(self.depth(), 0)
    }

    fn node(&self, level: usize, index: u64) -> Fr {
        self.levels[level]
            .get(&index)
            .copied()
            .unwrap_or(self.defaults[level])
    }

    fn check_index(&self, index: u64) -> Result<()> {
        if self.depth() < 64 && index >> self.depth() != 0 {
            return Err(Error::ProofShape {
                expected: self.depth(),
                got: 0,
            });
        }
        Ok(())
    }

    /// The leaf at `index`.
    pub fn leaf(&self, index: u64) -> Fr {
        self.node(0, index)
    }

    /// The proof of the leaf at `index`.
    pub fn proof(&self, index: u64) -> Result<MerkleProof> {
        self.check_index(index)?;
        let siblings = (0..self.depth())
            .map(|l| self.node(l, (index >> l) ^ 1))
            .collect();
        Ok(MerkleProof { index, siblings })
    }

    /// Writes `leaf` at `index` and rehashes its path. Returns the proof that
    /// holds both before and after the write (the siblings do not change).
    pub fn set(&mut self, index: u64, leaf: Fr) -> Result<MerkleProof> {
        let proof = self.proof(index)?;
        let mut cur = leaf;
        for l in 0..=self.depth() {
            self.put(l, index >> l, cur);
            let i = index >> l;
            if let Some(sib) = proof.siblings.get(l) {
                cur = if i & 1 == 1 {
                    node_hash(*sib, cur)
                } else {
                    node_hash(cur, *sib)
                };
            }
        }
        Ok(proof)
    }

    /// Writes many leaves, then rehashes each node above them once, level by level: the
    /// replay of a whole batch costs one hash per distinct dirty node instead of one path per
    /// write. Large levels are hashed on all cores. The result is the tree that writing the
    /// leaves one by one with [`SparseMerkleTree::set`] gives (a later write of an index wins).
    /// Errs, changing nothing, if an index is out of range.
    pub fn set_leaves(&mut self, leaves: &[(u64, Fr)]) -> Result<()> {
        for (index, _) in leaves {
            self.check_index(*index)?;
        }
        let mut dirty: Vec<u64> = Vec::with_capacity(leaves.len());
        for (index, leaf) in leaves {
            self.put(0, *index, *leaf);
            dirty.push(*index);
        }
        dirty.sort_unstable();
        dirty.dedup();
        for level in 0..self.depth() {
            for i in dirty.iter_mut() {
                *i >>= 1;
            }
            dirty.dedup();
            let hash =
                |p: &u64| node_hash(self.node(level, p << 1), self.node(level, (p << 1) | 1));
            let hashes: Vec<Fr> = if dirty.len() >= PARALLEL_FROM {
                use rayon::prelude::*;
                dirty.par_iter().map(hash).collect()
            } else {
                dirty.iter().map(hash).collect()
            };
            for (p, h) in dirty.iter().zip(hashes) {
                self.put(level + 1, *p, h);
            }
        }
        Ok(())
    }

    /// Stores a node, or forgets it when it is its level's empty hash.
    fn put(&mut self, level: usize, index: u64, hash: Fr) {
        if hash == self.defaults[level] {
            self.levels[level].remove(&index);
        } else {
            self.levels[level].insert(index, hash);
        }
    }
}

/// Below this many nodes in a level, hashing on other threads costs more than it saves.
const PARALLEL_FROM: usize = 32;

#[cfg(test)]
mod tests {
    use super::*;
    use ff::Field;
    use std::sync::OnceLock;

    fn defaults() -> &'static [Fr] {
        static D: OnceLock<Vec<Fr>> = OnceLock::new();
        D.get_or_init(|| empty_hashes(Fr::ZERO, 5))
    }

    #[test]
    fn empty_root_is_last_default() {
        let t = SparseMerkleTree::new(defaults());
        assert_eq!(t.root(), defaults()[5]);
    }

    #[test]
    fn update_proof_links_old_and_new_roots() -> Result<()> {
        let mut t = SparseMerkleTree::new(defaults());
        t.set(3, Fr::from(10u64))?;
        t.set(17, Fr::from(11u64))?;
        let old_root = t.root();
        let old_leaf = t.leaf(17);
        let proof = t.set(17, Fr::from(12u64))?;
        assert!(proof.verify(old_root, old_leaf));
        assert!(proof.verify(t.root(), Fr::from(12u64)));
        assert!(!proof.verify(t.root(), Fr::from(13u64)));
        // The other leaf's fresh proof holds against the new root.
        assert!(t.proof(3)?.verify(t.root(), Fr::from(10u64)));
        Ok(())
    }

    #[test]
    fn writing_the_empty_leaf_restores_the_empty_root() -> Result<()> {
        let mut t = SparseMerkleTree::new(defaults());
        t.set(9, Fr::from(1u64))?;
        t.set(9, Fr::ZERO)?;
        assert_eq!(t.root(), defaults()[5]);
        assert!(t.levels.iter().all(HashMap::is_empty));
        Ok(())
    }

    #[test]
    fn set_leaves_equals_setting_one_by_one() -> Result<()> {
        // Enough leaves that the lower levels are hashed in parallel; repeats and zeroes included.
        let leaves: Vec<(u64, Fr)> = (0..200u64)
            .map(|i| ((i * 7) % 32, Fr::from(i % 5)))
            .collect();
        let mut one_by_one = SparseMerkleTree::new(defaults());
        let mut batched = SparseMerkleTree::new(defaults());
        one_by_one.set(4, Fr::from(9u64))?;
        batched.set(4, Fr::from(9u64))?;
        for (i, leaf) in &leaves {
            one_by_one.set(*i, *leaf)?;
        }
        batched.set_leaves(&leaves)?;
        assert_eq!(batched.root(), one_by_one.root());
        assert_eq!(
            batched.levels, one_by_one.levels,
            "the same nodes are stored"
        );
        assert!(batched.set_leaves(&[(1, Fr::ONE), (32, Fr::ONE)]).is_err());
        assert_eq!(
            batched.leaf(1),
            one_by_one.leaf(1),
            "an error writes nothing"
        );
        Ok(())
    }

    #[test]
    fn out_of_range_index_is_rejected() {
        let mut t = SparseMerkleTree::new(defaults());
        assert!(t.set(32, Fr::ONE).is_err());
        assert!(t.proof(1 << 40).is_err());
    }
}
