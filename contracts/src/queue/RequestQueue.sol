// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ProtocolConstants as C} from "../generated/ProtocolConstants.sol";
import {IRollup} from "../interfaces/IRollup.sol";

/// @title RequestQueue
/// @notice The queue of L1 requests (`docs/protocol.md`, section 9). Each request is the keccak256 of the
///         pubdata record that must process it, and a deadline. Batches consume requests strictly in order:
///         `finalizedRequests <= committedRequests <= totalRequests`.
///
///         Deadlines account for the queue: a request's deadline is at least `REQUEST_SPACING` after the previous
///         request's, never sooner than `REQUEST_DEADLINE` and never later than `REQUEST_DEADLINE_MAX` after it
///         was queued. So an operator that processes one request per `REQUEST_SPACING` never misses one, however
///         many are queued at once, until the cap binds; the request fee makes reaching the cap cost more than
///         the bound stated in `docs/protocol.md`, section 9.
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
    /// @notice The deadline of the last request queued (0 before the first).
    uint64 public lastDeadline;

    modifier notEscapeMode() {
        if (escapeMode) revert EscapeModeActive();
        _;
    }

    /// @dev Queues a request that the pubdata record `record` (or, for a forced exit, its prefix) must process.
    function _enqueue(uint32 accountId, bytes memory record) internal returns (uint256 index) {
        index = totalRequests++;
        uint64 deadline = nextDeadline();
        lastDeadline = deadline;
        _requests[index] =
            Request({recordHash: keccak256(record), deadline: deadline, queuedAt: uint64(block.timestamp)});
        emit RequestQueued(index, accountId, deadline, record);
    }

    /// @inheritdoc IRollup
    function nextDeadline() public view returns (uint64) {
        uint256 earliest = block.timestamp + C.REQUEST_DEADLINE;
        uint256 latest = block.timestamp + C.REQUEST_DEADLINE_MAX;
        uint256 chained = uint256(lastDeadline) + C.REQUEST_SPACING;
        // Never decreasing: `lastDeadline <= queuedAt + REQUEST_DEADLINE_MAX <= latest`.
        if (chained < earliest) return uint64(earliest);
        if (chained > latest) return uint64(latest);
        return uint64(chained);
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
        return block.timestamp - _requests[i].queuedAt;
    }
}
