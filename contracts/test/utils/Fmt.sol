// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @notice Value-to-string helpers for assertion messages and logs.
library Fmt {
    bytes16 private constant HEX_DIGITS = "0123456789abcdef";

    function toString(uint256 value) internal pure returns (string memory) {
        if (value == 0) return "0";
        uint256 digits;
        for (uint256 v = value; v != 0; v /= 10) {
            digits++;
        }
        bytes memory out = new bytes(digits);
        for (uint256 i = digits; i > 0; value /= 10) {
            // casting to 'uint8' is safe because 48 + value % 10 < 58
            // forge-lint: disable-next-line(unsafe-typecast)
            out[--i] = bytes1(uint8(48 + value % 10));
        }
        return string(out);
    }

    function toString(int256 value) internal pure returns (string memory) {
        // casting to 'uint256' is safe because value >= 0
        // forge-lint: disable-next-line(unsafe-typecast)
        if (value >= 0) return toString(uint256(value));
        // Two's complement negation of the bit pattern also covers type(int256).min.
        // forge-lint: disable-next-line(unsafe-typecast)
        return string.concat("-", toString(~uint256(value) + 1));
    }

    function toString(bool value) internal pure returns (string memory) {
        return value ? "true" : "false";
    }

    /// @notice "0x"-prefixed lowercase hex of the bytes.
    function toHex(bytes memory data) internal pure returns (string memory) {
        bytes memory out = new bytes(2 + 2 * data.length);
        out[0] = "0";
        out[1] = "x";
        for (uint256 i = 0; i < data.length; i++) {
            out[2 + 2 * i] = HEX_DIGITS[uint8(data[i]) >> 4];
            out[3 + 2 * i] = HEX_DIGITS[uint8(data[i]) & 0x0f];
        }
        return string(out);
    }

    function toHex(bytes32 value) internal pure returns (string memory) {
        return toHex(abi.encodePacked(value));
    }

    /// @notice "0x"-prefixed hex of a uint256, as 32 bytes.
    function toHex(uint256 value) internal pure returns (string memory) {
        return toHex(bytes32(value));
    }

    /// @notice EIP-55 mixed-case checksummed address.
    function toString(address account) internal pure returns (string memory) {
        bytes memory lower = bytes(toHex(abi.encodePacked(account)));
        bytes32 hash;
        assembly ("memory-safe") {
            // keccak256 of the 40 lowercase hex characters (skip the length word and "0x").
            hash := keccak256(add(lower, 34), 40)
        }
        for (uint256 i = 0; i < 40; i++) {
            uint8 c = uint8(lower[2 + i]);
            uint8 nibble = uint8(hash[i / 2]) >> (i % 2 == 0 ? 4 : 0) & 0x0f;
            if (c >= 97 && nibble >= 8) lower[2 + i] = bytes1(c - 32);
        }
        return string(lower);
    }

    function toString(uint256[] memory values) internal pure returns (string memory out) {
        out = "[";
        for (uint256 i = 0; i < values.length; i++) {
            out = string.concat(out, i == 0 ? "" : ", ", toString(values[i]));
        }
        out = string.concat(out, "]");
    }

    function toString(bytes32[] memory values) internal pure returns (string memory out) {
        out = "[";
        for (uint256 i = 0; i < values.length; i++) {
            out = string.concat(out, i == 0 ? "" : ", ", toHex(values[i]));
        }
        out = string.concat(out, "]");
    }

    function toString(address[] memory values) internal pure returns (string memory out) {
        out = "[";
        for (uint256 i = 0; i < values.length; i++) {
            out = string.concat(out, i == 0 ? "" : ", ", toString(values[i]));
        }
        out = string.concat(out, "]");
    }
}
