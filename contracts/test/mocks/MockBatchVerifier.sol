// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IBatchVerifier} from "../../src/interfaces/IBatchVerifier.sol";

/// @notice Test-only stand-in for the batch verifier: accepts, rejects or reverts on command, for the chunk size and
///         capacity it is built with. Never deployed outside tests.
contract MockBatchVerifier is IBatchVerifier {
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
    uint256 public immutable CHUNK_SLOTS;
    uint256 public immutable CAPACITY;
    uint256 public constant KEY_DIGEST = 7;

    constructor(uint256 chunkSlots, uint256 capacity) {
        CHUNK_SLOTS = chunkSlots;
        CAPACITY = capacity;
    }

    function setMode(Mode m) external {
        mode = m;
    }

    function verifyBatch(uint256[7] calldata publicInputs, bytes calldata) external view returns (bool) {
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
