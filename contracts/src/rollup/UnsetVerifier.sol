// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IChunkVerifier} from "../interfaces/IChunkVerifier.sol";

/// @title UnsetVerifier
/// @notice The verifier a deployment starts with when no chunk verifier is given: it accepts no proof, so
///         nothing can be finalized until governance installs the generated verifier. Fail-closed: with it,
///         the rollup holds deposits and, past the request deadline, lets everyone escape.
contract UnsetVerifier is IChunkVerifier {
    /// @inheritdoc IChunkVerifier
    function verifyChunk(uint256[3] calldata, bytes calldata) external pure returns (bool) {
        return false;
    }
}
