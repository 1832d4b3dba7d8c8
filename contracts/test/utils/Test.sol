// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {Fmt} from "./Fmt.sol";
import {VM_ADDRESS, Vm} from "./Vm.sol";

/// @notice Base for the project's Foundry tests: cheatcodes (`vm`), assertions and fuzzing helpers.
/// @dev A failed assertion reverts with "assertion failed: <left> <relation> <right>", prefixed by the
///      caller's message when one is given ("<message>: <left> != <right>").
abstract contract Test {
    Vm internal constant vm = Vm(VM_ADDRESS);

    address[] private _targetedContracts;

    /// @notice Restricts invariant fuzzing to calls into `target` (forge reads `targetContracts()`).
    function targetContract(address target) internal {
        _targetedContracts.push(target);
    }

    /// @notice The contracts the invariant fuzzer calls (read by forge).
    function targetContracts() public view returns (address[] memory) {
        return _targetedContracts;
    }

    // ------------------------------------------------------------------------------------------------
    // Gas
    // ------------------------------------------------------------------------------------------------

    /// @dev Gas of the transaction that sends `data` and runs `execution` gas: 21,000, calldata at 4 gas per
    ///      token (a zero byte is one token, any other byte four), or the EIP-7623 floor of 10 gas per token
    ///      where that is more.
    function txGas(bytes memory data, uint256 execution) internal pure returns (uint256) {
        uint256 tokens;
        for (uint256 i = 0; i < data.length; ++i) {
            tokens += data[i] == 0 ? 1 : 4;
        }
        uint256 standard = 21_000 + 4 * tokens + execution;
        uint256 floor = 21_000 + 10 * tokens;
        return standard > floor ? standard : floor;
    }

    // ------------------------------------------------------------------------------------------------
    // Failure
    // ------------------------------------------------------------------------------------------------

    function fail() internal pure {
        revert("assertion failed");
    }

    function fail(string memory message) internal pure {
        revert(message);
    }

    function _fail(string memory message, string memory left, string memory relation, string memory right)
        private
        pure
    {
        string memory prefix = bytes(message).length == 0 ? "assertion failed" : message;
        revert(string.concat(prefix, ": ", left, " ", relation, " ", right));
    }

    // ------------------------------------------------------------------------------------------------
    // Booleans
    // ------------------------------------------------------------------------------------------------

    function assertTrue(bool condition) internal pure {
        if (!condition) revert("assertion failed: expected true");
    }

    function assertTrue(bool condition, string memory message) internal pure {
        if (!condition) revert(message);
    }

    function assertFalse(bool condition) internal pure {
        if (condition) revert("assertion failed: expected false");
    }

    function assertFalse(bool condition, string memory message) internal pure {
        if (condition) revert(message);
    }

    // ------------------------------------------------------------------------------------------------
    // Equality
    // ------------------------------------------------------------------------------------------------

    function assertEq(bool left, bool right) internal pure {
        assertEq(left, right, "");
    }

    function assertEq(bool left, bool right, string memory message) internal pure {
        if (left != right) _fail(message, Fmt.toString(left), "!=", Fmt.toString(right));
    }

    function assertEq(uint256 left, uint256 right) internal pure {
        assertEq(left, right, "");
    }

    function assertEq(uint256 left, uint256 right, string memory message) internal pure {
        if (left != right) _fail(message, Fmt.toString(left), "!=", Fmt.toString(right));
    }

    function assertEq(int256 left, int256 right) internal pure {
        assertEq(left, right, "");
    }

    function assertEq(int256 left, int256 right, string memory message) internal pure {
        if (left != right) _fail(message, Fmt.toString(left), "!=", Fmt.toString(right));
    }

    function assertEq(bytes32 left, bytes32 right) internal pure {
        assertEq(left, right, "");
    }

    function assertEq(bytes32 left, bytes32 right, string memory message) internal pure {
        if (left != right) _fail(message, Fmt.toHex(left), "!=", Fmt.toHex(right));
    }

    function assertEq(address left, address right) internal pure {
        assertEq(left, right, "");
    }

    function assertEq(address left, address right, string memory message) internal pure {
        if (left != right) _fail(message, Fmt.toString(left), "!=", Fmt.toString(right));
    }

    function assertEq(bytes memory left, bytes memory right) internal pure {
        assertEq(left, right, "");
    }

    function assertEq(bytes memory left, bytes memory right, string memory message) internal pure {
        if (keccak256(left) != keccak256(right)) _fail(message, Fmt.toHex(left), "!=", Fmt.toHex(right));
    }

    function assertEq(string memory left, string memory right) internal pure {
        assertEq(left, right, "");
    }

    function assertEq(string memory left, string memory right, string memory message) internal pure {
        if (keccak256(bytes(left)) != keccak256(bytes(right))) {
            _fail(message, string.concat('"', left, '"'), "!=", string.concat('"', right, '"'));
        }
    }

    function assertEq(uint256[] memory left, uint256[] memory right) internal pure {
        assertEq(left, right, "");
    }

    function assertEq(uint256[] memory left, uint256[] memory right, string memory message) internal pure {
        if (keccak256(abi.encode(left)) != keccak256(abi.encode(right))) {
            _fail(message, Fmt.toString(left), "!=", Fmt.toString(right));
        }
    }

    function assertEq(bytes32[] memory left, bytes32[] memory right) internal pure {
        assertEq(left, right, "");
    }

    function assertEq(bytes32[] memory left, bytes32[] memory right, string memory message) internal pure {
        if (keccak256(abi.encode(left)) != keccak256(abi.encode(right))) {
            _fail(message, Fmt.toString(left), "!=", Fmt.toString(right));
        }
    }

    function assertEq(address[] memory left, address[] memory right) internal pure {
        assertEq(left, right, "");
    }

    function assertEq(address[] memory left, address[] memory right, string memory message) internal pure {
        if (keccak256(abi.encode(left)) != keccak256(abi.encode(right))) {
            _fail(message, Fmt.toString(left), "!=", Fmt.toString(right));
        }
    }

    // ------------------------------------------------------------------------------------------------
    // Inequality
    // ------------------------------------------------------------------------------------------------

    function assertNotEq(uint256 left, uint256 right) internal pure {
        assertNotEq(left, right, "");
    }

    function assertNotEq(uint256 left, uint256 right, string memory message) internal pure {
        if (left == right) _fail(message, Fmt.toString(left), "==", Fmt.toString(right));
    }

    function assertNotEq(bytes32 left, bytes32 right) internal pure {
        assertNotEq(left, right, "");
    }

    function assertNotEq(bytes32 left, bytes32 right, string memory message) internal pure {
        if (left == right) _fail(message, Fmt.toHex(left), "==", Fmt.toHex(right));
    }

    function assertNotEq(address left, address right) internal pure {
        assertNotEq(left, right, "");
    }

    function assertNotEq(address left, address right, string memory message) internal pure {
        if (left == right) _fail(message, Fmt.toString(left), "==", Fmt.toString(right));
    }

    function assertNotEq(bytes memory left, bytes memory right) internal pure {
        assertNotEq(left, right, "");
    }

    function assertNotEq(bytes memory left, bytes memory right, string memory message) internal pure {
        if (keccak256(left) == keccak256(right)) _fail(message, Fmt.toHex(left), "==", Fmt.toHex(right));
    }

    // ------------------------------------------------------------------------------------------------
    // Ordering (the failure message shows the relation that holds instead)
    // ------------------------------------------------------------------------------------------------

    function assertGt(uint256 left, uint256 right) internal pure {
        assertGt(left, right, "");
    }

    function assertGt(uint256 left, uint256 right, string memory message) internal pure {
        if (left <= right) _fail(message, Fmt.toString(left), "<=", Fmt.toString(right));
    }

    function assertGt(int256 left, int256 right) internal pure {
        assertGt(left, right, "");
    }

    function assertGt(int256 left, int256 right, string memory message) internal pure {
        if (left <= right) _fail(message, Fmt.toString(left), "<=", Fmt.toString(right));
    }

    function assertLt(uint256 left, uint256 right) internal pure {
        assertLt(left, right, "");
    }

    function assertLt(uint256 left, uint256 right, string memory message) internal pure {
        if (left >= right) _fail(message, Fmt.toString(left), ">=", Fmt.toString(right));
    }

    function assertLt(int256 left, int256 right) internal pure {
        assertLt(left, right, "");
    }

    function assertLt(int256 left, int256 right, string memory message) internal pure {
        if (left >= right) _fail(message, Fmt.toString(left), ">=", Fmt.toString(right));
    }

    function assertGe(uint256 left, uint256 right) internal pure {
        assertGe(left, right, "");
    }

    function assertGe(uint256 left, uint256 right, string memory message) internal pure {
        if (left < right) _fail(message, Fmt.toString(left), "<", Fmt.toString(right));
    }

    function assertGe(int256 left, int256 right) internal pure {
        assertGe(left, right, "");
    }

    function assertGe(int256 left, int256 right, string memory message) internal pure {
        if (left < right) _fail(message, Fmt.toString(left), "<", Fmt.toString(right));
    }

    function assertLe(uint256 left, uint256 right) internal pure {
        assertLe(left, right, "");
    }

    function assertLe(uint256 left, uint256 right, string memory message) internal pure {
        if (left > right) _fail(message, Fmt.toString(left), ">", Fmt.toString(right));
    }

    function assertLe(int256 left, int256 right) internal pure {
        assertLe(left, right, "");
    }

    function assertLe(int256 left, int256 right, string memory message) internal pure {
        if (left > right) _fail(message, Fmt.toString(left), ">", Fmt.toString(right));
    }

    /// @notice |left - right| <= maxDelta.
    function assertApproxEqAbs(uint256 left, uint256 right, uint256 maxDelta) internal pure {
        assertApproxEqAbs(left, right, maxDelta, "");
    }

    function assertApproxEqAbs(uint256 left, uint256 right, uint256 maxDelta, string memory message) internal pure {
        uint256 delta = left > right ? left - right : right - left;
        if (delta > maxDelta) {
            _fail(
                message,
                Fmt.toString(left),
                string.concat("!~ (delta ", Fmt.toString(delta), " > ", Fmt.toString(maxDelta), ")"),
                Fmt.toString(right)
            );
        }
    }

    // ------------------------------------------------------------------------------------------------
    // Fuzzing and accounts
    // ------------------------------------------------------------------------------------------------

    /// @notice Maps `x` into [min, max]: values already inside are kept; values below `min` count up from
    ///         `min` and values above `max` count down from `max`, so the fuzzer's edge values (0, 1, ...,
    ///         type(uint256).max, ...) land on the edges of the range.
    function bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        require(min <= max, "bound: min > max");
        if (x >= min && x <= max) return x;
        // Not the full range here, so the size does not overflow.
        uint256 size = max - min + 1;
        if (x < min) return min + x % size;
        return max - (type(uint256).max - x) % size;
    }

    /// @notice A deterministic address derived from `name`, labelled in traces.
    function makeAddr(string memory name) internal returns (address account) {
        (account,) = makeAddrAndKey(name);
    }

    /// @notice A deterministic address and its private key derived from `name`, labelled in traces.
    function makeAddrAndKey(string memory name) internal returns (address account, uint256 privateKey) {
        privateKey = uint256(keccak256(abi.encodePacked(name)));
        account = vm.addr(privateKey);
        vm.label(account, name);
    }
}
