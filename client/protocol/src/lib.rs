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
//! - [`transition`]: the validity rules, chunks and the circuit's witness;
//! - [`capacity`]: what each transaction costs the chunk circuit;
//! - [`solidity`] and [`vectors`]: generated Solidity and cross-language test vectors.

pub mod capacity;
pub mod codec;
pub mod constants;
pub mod eddsa;
pub mod error;
pub mod field;
pub mod poseidon;
pub mod smt;
pub mod solidity;
pub mod state;
pub mod transition;
pub mod tx;
pub mod vectors;

pub use error::{Error, Result};
pub use field::Fr;
pub use state::{AccountId, Config, State, TokenId};
pub use transition::{Chunk, ChunkBuilder, TxWitness};
pub use tx::Tx;

/// Every file generated from this crate: path relative to the repository root, and contents.
/// `protocol-gen write` writes them; a test fails when the committed copies differ.
pub fn generated_files() -> Result<Vec<(std::path::PathBuf, String)>> {
    let mut out: Vec<(std::path::PathBuf, String)> = solidity::files()
        .into_iter()
        .map(|f| {
            (
                std::path::Path::new("contracts/src/generated").join(f.name),
                f.text,
            )
        })
        .collect();
    for (name, text) in vectors::files()? {
        out.push((
            std::path::Path::new("contracts/test/vectors").join(name),
            text,
        ));
    }
    Ok(out)
}
