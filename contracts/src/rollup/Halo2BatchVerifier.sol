// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ProtocolConstants as C} from "../generated/ProtocolConstants.sol";
import {IBatchVerifier} from "../interfaces/IBatchVerifier.sol";
import {VerifierParams} from "./VerifierParams.sol";

/// @title Halo2BatchVerifier
/// @notice The production `IBatchVerifier`: checks that every public input is canonical, appends the pinned
///         chunk key digest, and runs the verifier that `verifier-gen` generated from the batch circuit's verifying
///         key (`contracts/verifier/Halo2BatchVerifier.sol`, snark-verifier's EVM loader), which also runs the
///         pairing on the KZG accumulator the proof carries. It records which KZG parameters that verifier was
///         generated from (`PARAMS_DIGEST`, read out of its code).
/// @dev The generated verifier's calldata is its 18 public inputs as 32-byte words (the accumulator's twelve limbs,
///      the batch's five, the key digest) followed by the proof. It reduces every scalar modulo the field, so the
///      canonical checks here are what bind each input to one value; the limbs are checked below 2^88, the range
///      the batch circuit constrains them to.
contract Halo2BatchVerifier is IBatchVerifier {
    /// @notice The digest of the development SRS: a verifier with these parameters accepts forged proofs.
    bytes32 public constant DEVELOPMENT_PARAMS_DIGEST = VerifierParams.DEVELOPMENT_PARAMS_DIGEST;

    /// @notice Bytes of the accumulator at the head of a proof: twelve limbs.
    uint256 internal constant ACCUMULATOR_BYTES = 12 * 32;

    /// @notice The generated verifier.
    address public immutable halo2Verifier;
    /// @notice keccak256 of `−[τ]G2` as embedded in `halo2Verifier`: the parameters it was generated from.
    bytes32 public immutable PARAMS_DIGEST;
    /// @inheritdoc IBatchVerifier
    uint256 public immutable KEY_DIGEST;
    /// @inheritdoc IBatchVerifier
    uint256 public immutable CHUNK_SLOTS;
    /// @inheritdoc IBatchVerifier
    uint256 public immutable CAPACITY;

    /// @param halo2Verifier_ The deployed generated verifier; it must have code whose pairing constants are found.
    /// @param keyDigest The chunk key digest, `chunkSlots` and `capacity` the shape the batch circuit was generated
    ///        for (`verifier-gen --stage batch solidity` writes all three next to the verifier).
    constructor(address halo2Verifier_, uint256 keyDigest, uint256 chunkSlots, uint256 capacity) {
        if (halo2Verifier_.code.length == 0) revert VerifierWithoutCode(halo2Verifier_);
        if (keyDigest >= C.FIELD_MODULUS) revert NonCanonicalKeyDigest(keyDigest);
        halo2Verifier = halo2Verifier_;
        PARAMS_DIGEST = VerifierParams.digestOf(halo2Verifier_);
        KEY_DIGEST = keyDigest;
        CHUNK_SLOTS = chunkSlots;
        CAPACITY = capacity;
    }

    /// @notice Whether the verifier was generated from the development SRS (anyone can forge proofs for it).
    function usesDevelopmentParams() external view returns (bool) {
        return PARAMS_DIGEST == DEVELOPMENT_PARAMS_DIGEST;
    }

    /// @inheritdoc IBatchVerifier
    function verifyBatch(uint256[7] calldata publicInputs, bytes calldata proof) external view returns (bool valid) {
        if (proof.length < ACCUMULATOR_BYTES) return false;
        for (uint256 i = 0; i < publicInputs.length; ++i) {
            if (publicInputs[i] >= C.FIELD_MODULUS) return false;
        }
        for (uint256 i = 0; i < ACCUMULATOR_BYTES; i += 32) {
            if (uint256(bytes32(proof[i:i + 32])) >> 88 != 0) return false;
        }
        (valid,) = halo2Verifier.staticcall(
            abi.encodePacked(proof[:ACCUMULATOR_BYTES], publicInputs, KEY_DIGEST, proof[ACCUMULATOR_BYTES:])
        );
    }
}
