//! `protocol-gen`: the Solidity and the cross-language test vectors that follow from the protocol
//! core (`rollup-protocol`), so that L1 and the Foundry tests use the core's constants, tables
//! and values instead of copies.
//!
//! - [`solidity`]: the generated Solidity libraries (constants, Poseidon, tree defaults, …);
//! - [`evm`]: the Poseidon2 permutation as hand-scheduled EVM bytecode;
//! - [`vectors`]: JSON test vectors the Foundry tests replay.

pub mod evm;
pub mod solidity;
pub mod vectors;

/// Every file generated from the protocol core: path relative to the repository root, and contents.
/// `protocol-gen write` writes them; a test fails when the committed copies differ.
pub fn generated_files() -> rollup_protocol::Result<Vec<(std::path::PathBuf, String)>> {
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
