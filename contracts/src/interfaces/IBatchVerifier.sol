// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IBatchVerifier
/// @notice Verifies one batch proof (`docs/protocol.md`, section 7, "Batch binding and the batch proof"): that
///         the batch's chunk proofs verify under the pinned chunk key and chain from `oldStateRoot` to
///         `newStateRoot` over the data whose batch binding is `(commitment, challenge, evaluation)`. The caller
///         builds the public inputs from its own state; the verifier adds the chunk key digest it pins.
interface IBatchVerifier {
    /// @notice A verifier was given an address without code (a call to it would succeed and prove nothing).
    /// @param halo2Verifier The address given.
    error VerifierWithoutCode(address halo2Verifier);

    /// @notice A key digest that is not a canonical field element (the batch proof's last public input is one).
    /// @param keyDigest The digest given.
    error NonCanonicalKeyDigest(uint256 keyDigest);

    /// @notice The digest of the chunk verifying key every aggregated chunk proof must have (`H(TAG_KEY; …)`),
    ///         pinned at deployment: a batch proof over proofs of any other circuit carries another digest.
    function KEY_DIGEST() external view returns (uint256);

    /// @notice Transaction slots per chunk of the chunk circuit whose proofs it aggregates.
    function CHUNK_SLOTS() external view returns (uint256);

    /// @notice The most chunks one batch proof covers (the batch circuit's capacity).
    function CAPACITY() external view returns (uint256);

    /// @notice Whether `proof` proves the batch transition from `oldStateRoot` to `newStateRoot` over the data
    ///         bound by `(commitment, challenge, l1Evaluation, blobEvaluation)`.
    /// @param publicInputs `[oldStateRoot, newStateRoot, commitment, challenge, l1Evaluation, blobLow, blobHigh]`
    ///        (the blob evaluation's low 176 bits and the rest); any input not below the field modulus makes the
    ///        proof invalid.
    /// @param proof The KZG accumulator (twelve 32-byte words, each a limb below 2^88) followed by the proof
    ///        bytes (malleable: never an identifier).
    /// @return valid True when the proof verifies.
    function verifyBatch(uint256[7] calldata publicInputs, bytes calldata proof) external view returns (bool valid);
}
