// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {DataBinding} from "../../src/generated/DataBinding.sol";

/// @notice Exposes the generated `DataBinding` library through an external call, so that tests pass it real
///         calldata and can expect its reverts.
contract DataBindingHarness {
    function evaluate(bytes calldata chunk, uint256 slots, uint256 commitment)
        external
        pure
        returns (uint256 challenge, uint256 evaluation)
    {
        (uint256 z, uint256 y,) = DataBinding.evaluate(chunk, slots, commitment);
        return (z, y);
    }

    function onchainOffsets(bytes calldata chunk, uint256 slots) external pure returns (uint256[] memory onchain) {
        (,, onchain) = DataBinding.evaluate(chunk, slots, 0);
    }
}
