// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ProtocolConstants as C} from "../generated/ProtocolConstants.sol";
import {IChunkVerifier} from "../interfaces/IChunkVerifier.sol";
import {VerifierParams} from "./VerifierParams.sol";

/// @title Halo2ChunkVerifier
/// @notice The production `IChunkVerifier`: checks that every public input is a canonical field element, then
///         runs the verifier that `verifier-gen` generated from the chunk circuit's verifying key
///         (`contracts/verifier/Halo2Verifier.sol`, snark-verifier's EVM loader). It records which KZG
///         parameters that verifier was generated from: `PARAMS_DIGEST`, read out of the verifier's own code.
/// @dev The generated verifier has no selector: its calldata is the public inputs as 32-byte words followed by
///      the proof; it returns nothing on success and reverts otherwise. It reduces every scalar modulo the field,
///      so `x` and `x + r` would both verify: the canonical check here is what binds each input to one value.
///      It reads the proof at fixed offsets, so bytes appended to a valid proof are ignored: proofs are malleable
///      and never used as an identifier (nothing on L1 is keyed on a proof's bytes).
contract Halo2ChunkVerifier is IChunkVerifier {
    /// @notice The digest of the development SRS (`verifier-gen --dev-srs`), whose secret follows from a
    ///         public seed: a verifier with these parameters accepts proofs forged for any public inputs.
    ///         `verifier-gen`'s tests check this value against the development SRS.
    bytes32 public constant DEVELOPMENT_PARAMS_DIGEST = VerifierParams.DEVELOPMENT_PARAMS_DIGEST;

    /// @notice The generated verifier.
    address public immutable halo2Verifier;
    /// @notice keccak256 of `−[τ]G2` (x.c1 ‖ x.c0 ‖ y.c1 ‖ y.c0) as embedded in `halo2Verifier`: the
    ///         parameters it was generated from (`verifier-gen setup` prints the same digest for an SRS).
    bytes32 public immutable PARAMS_DIGEST;

    /// @param halo2Verifier_ The deployed generated verifier; it must have code whose pairing constants are found.
    constructor(address halo2Verifier_) {
        if (halo2Verifier_.code.length == 0) revert VerifierWithoutCode(halo2Verifier_);
        halo2Verifier = halo2Verifier_;
        PARAMS_DIGEST = VerifierParams.digestOf(halo2Verifier_);
    }

    /// @notice Whether the verifier was generated from the development SRS (anyone can forge proofs for it).
    function usesDevelopmentParams() external view returns (bool) {
        return PARAMS_DIGEST == DEVELOPMENT_PARAMS_DIGEST;
    }

    /// @inheritdoc IChunkVerifier
    function verifyChunk(uint256[5] calldata publicInputs, bytes calldata proof) external view returns (bool valid) {
        for (uint256 i = 0; i < 5; ++i) {
            if (publicInputs[i] >= C.FIELD_MODULUS) return false;
        }
        (valid,) = halo2Verifier.staticcall(abi.encodePacked(publicInputs, proof));
    }
}
