//! The protocol core: the one definition of the L2.
//!
//! Everything that the circuit, the L1 contracts, the operator and the escape
//! client must agree on lives here, and `docs/protocol.md` specifies it:
//!
//! - [`field`]: BN254's scalar field and its encodings;
//! - [`poseidon`]: the permutation, the sponge and its domain tags;
//! - [`smt`]: sparse Merkle trees and their proofs;
//! - [`state`]: accounts, balances and the state root;
//! - [`eddsa`]: Baby Jubjub keys, signatures and key derivation;
//! - [`tx`] and [`codec`]: transactions, their wire form and the pubdata records;
//! - [`blob`]: a batch's pubdata as the coefficients of an EIP-4844 blob's polynomial;
//! - [`transition`]: the validity rules, chunks and the circuit's witness;
//! - [`capacity`]: what each transaction costs the chunk circuit.
//!
//! The Solidity and the cross-language test vectors that follow from these rules are written by
//! `protocol-gen` (`client/bin/protocol-gen`).

pub mod blob;
pub mod capacity;
pub mod codec;
pub mod constants;
pub mod eddsa;
pub mod error;
pub mod field;
pub mod float;
pub mod poseidon;
pub mod smt;
pub mod state;
pub mod transition;
pub mod tx;

pub use error::{Error, Result};
pub use field::Fr;
pub use state::{AccountId, Config, State, TokenId};
pub use transition::{Chunk, ChunkBuilder, TxWitness};
pub use tx::Tx;
