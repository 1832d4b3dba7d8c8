// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @notice A few of the console.log entry points that forge decodes (test traces, `-vv` logs, script output).
/// @dev Calls go to the console address that forge intercepts; on a real chain they are no-ops (empty account).
library console {
    address internal constant CONSOLE_ADDRESS = 0x000000000000000000636F6e736F6c652e6c6f67;

    function _send(bytes memory payload) private view {
        (bool ok,) = CONSOLE_ADDRESS.staticcall(payload);
        ok; // the result is irrelevant
    }

    function log(string memory message) internal view {
        _send(abi.encodeWithSignature("log(string)", message));
    }

    function log(string memory message, uint256 value) internal view {
        _send(abi.encodeWithSignature("log(string,uint256)", message, value));
    }

    function log(string memory message, int256 value) internal view {
        _send(abi.encodeWithSignature("log(string,int256)", message, value));
    }

    function log(string memory message, address value) internal view {
        _send(abi.encodeWithSignature("log(string,address)", message, value));
    }

    function log(string memory message, bool value) internal view {
        _send(abi.encodeWithSignature("log(string,bool)", message, value));
    }

    function log(string memory message, string memory value) internal view {
        _send(abi.encodeWithSignature("log(string,string)", message, value));
    }

    function logBytes32(bytes32 value) internal view {
        _send(abi.encodeWithSignature("log(bytes32)", value));
    }

    function logBytes(bytes memory value) internal view {
        _send(abi.encodeWithSignature("log(bytes)", value));
    }
}
