//! Generated Solidity.
