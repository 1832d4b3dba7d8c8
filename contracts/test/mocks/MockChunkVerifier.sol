// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IChunkVerifier} from "../../src/interfaces/IChunkVerifier.sol";

/// @notice Test-only stand-in for the Halo2 verifier: accepts, rejects or reverts on command, and records the
///         public inputs it was last asked about. Never deployed outside tests.
contract MockChunkVerifier is IChunkVerifier {
    enum Mode {
        Accept,
        Reject,
        Revert,
        /// Returns the word 2: not an ABI bool.
        ReturnTwo,
        /// Returns no data at all.
        ReturnNothing
    }

    Mode public mode;
    uint256[5] public lastInputs;
    uint256 public calls;

    function setMode(Mode m) external {
        mode = m;
    }

    function verifyChunk(uint256[5] calldata publicInputs, bytes calldata) external view returns (bool) {
        if (mode == Mode.Revert) revert("mock verifier reverts");
        if (mode == Mode.ReturnTwo) {
            assembly ("memory-safe") {
                mstore(0, 2)
                return(0, 32)
            }
        }
        if (mode == Mode.ReturnNothing) {
            assembly ("memory-safe") {
                return(0, 0)
            }
        }
        publicInputs;
        return mode == Mode.Accept;
    }
}
