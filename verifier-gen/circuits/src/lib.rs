//! The rollup's Halo2 circuits: they prove exactly the transition the protocol core
//! (`rollup-protocol`) computes, taking their witness from the core. Keys and proofs are
//! `rollup-prover`'s; the Solidity verifiers are the `verifier-gen` CLI's.
//!
//! - [`chunk`]: the chunk circuit, every rule of a slot and the data commitment;
//! - [`batch`]: the batch rules over chunk proofs' public inputs (root chain, shared challenge,
//!   the batch's binding), which the batch circuit adds to the verification of the proofs;
//! - [`tree`]: the same rules split across the aggregation tree: the per-slot work in the
//!   level-1 nodes, so that the batch circuit over nodes costs the same for any number of slots;
//! - [`blob`]: a batch's blob polynomial from its records, evaluated modulo BLS12-381's `r`;
//! - [`bls`]: BLS12-381's scalar field (blobs) for halo2-base's non-native chips;
//! - [`arith`]: the arithmetic gate and byte range checks the transaction rules use;
//! - [`layout`]: the pool of columns every chip shares (one row cursor for all);
//! - [`sample`]: sample histories for the fixtures, the EVM test and the benchmarks;
//! - [`poseidon`]: the Poseidon permutation and sponge as a custom gate, one row
//!   per round, equal to the core's `poseidon::hash` bit for bit;
//! - [`eddsa`]: Baby Jubjub scalar multiplication and EdDSA verification;
//! - [`merkle`]: Merkle paths (ordered by index bits, composed into the index)
//!   over the Poseidon chip;
//! - [`update`]: one balance update of a slot (both trees, before and after,
//!   chained root to root), checked against the core's `BalanceUpdate`.

pub mod arith;
pub mod batch;
pub mod blob;
pub mod bls;
pub mod chunk;
pub mod eddsa;
pub mod layout;
pub mod merkle;
pub mod poseidon;
pub mod sample;
pub mod tree;
pub mod update;

/// The circuits' field: BN254's scalar field, the same type as the core's.
pub use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
