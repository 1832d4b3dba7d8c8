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
            let i = index >> l;
            if cur == self.defaults[l] {
                self.levels[l].remove(&i);
            } else {
                self.levels[l].insert(i, cur);
            }
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
}

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
    fn out_of_range_index_is_rejected() {
        let mut t = SparseMerkleTree::new(defaults());
        assert!(t.set(32, Fr::ONE).is_err());
        assert!(t.proof(1 << 40).is_err());
    }
}
