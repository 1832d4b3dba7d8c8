// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {DataBinding} from "../../src/generated/DataBinding.sol";
import {ProtocolConstants as C} from "../../src/generated/ProtocolConstants.sol";

/// @notice Exposes the generated `DataBinding` library through an external call, so that tests pass it real
///         calldata and can expect its reverts.
contract DataBindingHarness {
    /// @notice The batch binding's challenge and evaluation of `chunks` under `commitment`, as `commitBatch`
    ///         computes them.
    function evaluate(bytes[] calldata chunks, uint256 slots, uint256 commitment)
        external
        pure
        returns (uint256 challenge, uint256 evaluation)
    {
        challenge = DataBinding.challenge(chunks, commitment);
        uint256 power = 1;
        for (uint256 i = 0; i < chunks.length; ++i) {
            uint256 part;
            (part, power,) = DataBinding.evaluate(chunks[i], slots, challenge, power);
            evaluation = addmod(evaluation, part, C.FIELD_MODULUS);
        }
    }

    /// @notice One chunk's part of an evaluation at `z`, starting at power `power`, and the power after it.
    function evaluateChunk(bytes calldata chunk, uint256 slots, uint256 z, uint256 power)
        external
        pure
        returns (uint256 part, uint256 next)
    {
        (part, next,) = DataBinding.evaluate(chunk, slots, z, power);
    }

    function onchainOffsets(bytes calldata chunk, uint256 slots) external pure returns (uint256[] memory onchain) {
        (,, onchain) = DataBinding.evaluate(chunk, slots, 0, 1);
    }
}
