// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ProtocolConstants as C} from "../generated/ProtocolConstants.sol";

/// @title BabyJubjub
/// @notice L1's checks of L2 public keys (`docs/protocol.md`, section 4): on-curve test and compression.
library BabyJubjub {
    uint256 internal constant A = 168700;
    uint256 internal constant D = 168696;

    /// @notice Whether `(x, y)` is "no key" `(0, 0)` or a canonical point of `a·x² + y² = 1 + d·x²·y²`.
    function isValidKey(uint256 x, uint256 y) internal pure returns (bool) {
        if (x == 0 && y == 0) return true;
        uint256 q = C.FIELD_MODULUS;
        if (x >= q || y >= q) return false;
        uint256 x2 = mulmod(x, x, q);
        uint256 y2 = mulmod(y, y, q);
        uint256 lhs = addmod(mulmod(A, x2, q), y2, q);
        uint256 rhs = addmod(1, mulmod(mulmod(D, x2, q), y2, q), q);
        return lhs == rhs;
    }

    /// @notice The 32-byte compressed key: `y` with the top bit set when `x` is odd (all zero for no key).
    function compress(uint256 x, uint256 y) internal pure returns (bytes32) {
        return bytes32(y | ((x & 1) << 255));
    }
}
