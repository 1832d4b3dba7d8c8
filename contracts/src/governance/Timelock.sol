// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ProtocolConstants as C} from "../generated/ProtocolConstants.sol";

/// @title Timelock
/// @notice Governance of the rollup: the only way to replace the verifier (or call anything else this
///         contract owns). A call is scheduled by the admin and can be executed by anyone once `delay` has
///         passed. `delay` is at least `UPGRADE_DELAY`, strictly longer than the latest request deadline
///         (`REQUEST_DEADLINE_MAX`) plus the exit window (`EXIT_WINDOW`): a user who requests a forced exit within
///         the window can activate escape mode, if it is not processed, before the change applies.
contract Timelock {
    /// @notice The caller is not the admin.
    error NotAdmin(address caller);
    /// @notice The caller is not this timelock (admin changes go through the delay too).
    error NotTimelock(address caller);
    /// @notice The delay is shorter than `UPGRADE_DELAY`.
    error DelayTooShort(uint256 delay, uint256 minimum);
    /// @notice The operation is already scheduled.
    error AlreadyScheduled(bytes32 id);
    /// @notice The operation is not scheduled (or was executed or cancelled).
    error NotScheduled(bytes32 id);
    /// @notice The operation's delay has not passed.
    error NotReady(bytes32 id, uint256 readyAt);
    /// @notice The scheduled call reverted.
    error CallFailed(bytes32 id, bytes returnData);
    /// @notice An address argument is zero.
    error ZeroAddress();

    /// @notice A call was scheduled; it can run from `readyAt`.
    event Scheduled(bytes32 indexed id, address target, uint256 value, bytes data, uint256 readyAt);
    /// @notice A scheduled call ran.
    event Executed(bytes32 indexed id);
    /// @notice A scheduled call was cancelled.
    event Cancelled(bytes32 indexed id);
    /// @notice The admin changed.
    event AdminChanged(address admin);

    /// @notice Seconds between scheduling and execution.
    uint256 public immutable delay;
    /// @notice Schedules and cancels calls.
    address public admin;
    /// @notice When each scheduled operation becomes executable (0: not scheduled).
    mapping(bytes32 id => uint256) public readyAt;

    constructor(address admin_, uint256 delay_) {
        if (admin_ == address(0)) revert ZeroAddress();
        if (delay_ < C.UPGRADE_DELAY) revert DelayTooShort(delay_, C.UPGRADE_DELAY);
        admin = admin_;
        delay = delay_;
        emit AdminChanged(admin_);
    }

    /// @notice The id of an operation.
    function operationId(address target, uint256 value, bytes calldata data, bytes32 salt)
        public
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(target, value, data, salt));
    }

    /// @notice Schedules `target.call{value}(data)` (admin).
    function schedule(address target, uint256 value, bytes calldata data, bytes32 salt) external returns (bytes32 id) {
        if (msg.sender != admin) revert NotAdmin(msg.sender);
        id = operationId(target, value, data, salt);
        if (readyAt[id] != 0) revert AlreadyScheduled(id);
        uint256 at = block.timestamp + delay;
        readyAt[id] = at;
        emit Scheduled(id, target, value, data, at);
    }

    /// @notice Runs a scheduled operation whose delay has passed (anyone).
    function execute(address target, uint256 value, bytes calldata data, bytes32 salt) external payable {
        bytes32 id = operationId(target, value, data, salt);
        uint256 at = readyAt[id];
        if (at == 0) revert NotScheduled(id);
        if (block.timestamp < at) revert NotReady(id, at);
        delete readyAt[id];
        (bool ok, bytes memory ret) = target.call{value: value}(data);
        if (!ok) revert CallFailed(id, ret);
        emit Executed(id);
    }

    /// @notice Cancels a scheduled operation (admin).
    function cancel(bytes32 id) external {
        if (msg.sender != admin) revert NotAdmin(msg.sender);
        if (readyAt[id] == 0) revert NotScheduled(id);
        delete readyAt[id];
        emit Cancelled(id);
    }

    /// @notice Replaces the admin; only through a scheduled call of this timelock itself.
    function setAdmin(address admin_) external {
        if (msg.sender != address(this)) revert NotTimelock(msg.sender);
        if (admin_ == address(0)) revert ZeroAddress();
        admin = admin_;
        emit AdminChanged(admin_);
    }
}
