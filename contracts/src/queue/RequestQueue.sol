// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ProtocolConstants as C} from "../generated/ProtocolConstants.sol";
import {IRollup} from "../interfaces/IRollup.sol";

/// @title RequestQueue
/// @notice The queue of L1 requests (`docs/protocol.md`, section 9). Each request is the keccak256 of the
///         pubdata record that must process it, and a deadline. Batches consume requests strictly in order:
///         `finalizedRequests <= committedRequests <= totalRequests`.
abstract contract RequestQueue is IRollup {
    mapping(uint256 requestIndex => Request) internal _requests;
    /// @inheritdoc IRollup
    uint256 public totalRequests;
    /// @inheritdoc IRollup
    uint256 public committedRequests;
    /// @inheritdoc IRollup
    uint256 public finalizedRequests;
    /// @inheritdoc IRollup
    bool public escapeMode;

    modifier notEscapeMode() {
        if (escapeMode) revert EscapeModeActive();
        _;
    }

    /// @dev Queues a request that the pubdata record `record` (or, for a forced exit, its prefix) must process.
    function _enqueue(uint32 accountId, bytes memory record) internal returns (uint256 index) {
        index = totalRequests++;
        uint64 deadline = uint64(block.timestamp + C.REQUEST_DEADLINE);
        _requests[index] = Request({recordHash: keccak256(record), deadline: deadline});
        emit RequestQueued(index, accountId, deadline, record);
    }

    /// @dev Checks that `recordHash` is the request at `index`.
    function _consume(uint256 index, bytes32 recordHash) internal view {
        if (index >= totalRequests) revert RequestOutOfRange(index);
        if (_requests[index].recordHash != recordHash) revert RequestMismatch(index);
    }

    /// @inheritdoc IRollup
    function request(uint256 requestIndex) external view returns (Request memory) {
        return _requests[requestIndex];
    }

    /// @inheritdoc IRollup
    function oldestRequestAge() external view returns (uint256) {
        uint256 i = finalizedRequests;
        if (i >= totalRequests) return 0;
        uint256 queuedAt = _requests[i].deadline - C.REQUEST_DEADLINE;
        return block.timestamp - queuedAt;
    }
}
