// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IChunkVerifier
/// @notice Verifies one chunk proof (`docs/protocol.md`, section 7). The rollup builds the public inputs
///         itself and only ever passes canonical field elements.
interface IChunkVerifier {
    /// @notice A verifier was given an address without code (a call to it would succeed and prove nothing).
    /// @param halo2Verifier The address given.
    error VerifierWithoutCode(address halo2Verifier);

    /// @notice Whether `proof` proves the transition from `oldStateRoot` to `newStateRoot` over the chunk
    ///         whose data binding is `(commitment, challenge, evaluation)`.
    /// @param publicInputs `[oldStateRoot, newStateRoot, commitment, challenge, evaluation]`, each below the
    ///        field modulus.
    /// @param proof The proof bytes (malleable: never an identifier).
    /// @return valid True when the proof verifies.
    function verifyChunk(uint256[5] calldata publicInputs, bytes calldata proof) external view returns (bool valid);
}
