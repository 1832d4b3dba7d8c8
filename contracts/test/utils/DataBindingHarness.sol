// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {DataBinding} from "../../src/generated/DataBinding.sol";

/// @notice Exposes the generated `DataBinding` library through an external call, so that tests pass it real
///         calldata and can expect its reverts.
contract DataBindingHarness {
    /// @notice The batch binding's challenge and evaluations of `pubdata` under `commitment`, as `commitBatch`
    ///         computes them, and the number of records.
    function binding(bytes calldata pubdata, uint256 commitment)
        external
        pure
        returns (uint256 challenge, uint256 l1Evaluation, uint256 blob, uint256 records)
    {
        challenge = DataBinding.challenge(pubdata, commitment);
        (l1Evaluation, records,) = DataBinding.evaluate(pubdata, challenge);
        blob = DataBinding.blobEvaluation(pubdata, challenge);
    }

    /// @notice `Y_L1` of `pubdata` at `z` and the number of records.
    function evaluate(bytes calldata pubdata, uint256 z) external pure returns (uint256 y, uint256 records) {
        (y, records,) = DataBinding.evaluate(pubdata, z);
    }

    /// @notice The blob polynomial of `pubdata` at `z`.
    function blobEvaluation(bytes calldata pubdata, uint256 z) external pure returns (uint256) {
        return DataBinding.blobEvaluation(pubdata, z);
    }

    /// @notice The offsets of the records L1 acts on.
    function onchainOffsets(bytes calldata pubdata) external pure returns (uint256[] memory onchain) {
        (,, onchain) = DataBinding.evaluate(pubdata, 0);
    }
}
