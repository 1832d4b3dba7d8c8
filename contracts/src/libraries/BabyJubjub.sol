// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ProtocolConstants as C} from "../generated/ProtocolConstants.sol";

/// @title BabyJubjub
/// @notice L1's checks of L2 public keys (`docs/protocol.md`, section 4): on-curve and small-order tests, and
///         compression.
library BabyJubjub {
    uint256 internal constant A = 168700;
    uint256 internal constant D = 168696;

    /// @notice Whether `(x, y)` may be bound to an account: "no key" `(0, 0)`, or a canonical point of
    ///         `a·x² + y² = 1 + d·x²·y²` that is not of small order.
    /// @dev The eight points of small order are those with `x = 0` (order 1 and 2), `y = 0` (order 4) and
    ///      `y = ±SMALL_ORDER_Y` (order 8). With such a key the cofactored EdDSA check accepts anyone's
    ///      signature, and `(1/√a, 0)` even compresses to the all-zero bytes of "no key".
    function isValidKey(uint256 x, uint256 y) internal pure returns (bool) {
        if (x == 0 && y == 0) return true;
        uint256 q = C.FIELD_MODULUS;
        if (x >= q || y >= q) return false;
        if (x == 0 || y == 0 || y == C.SMALL_ORDER_Y || y == q - C.SMALL_ORDER_Y) return false;
        uint256 x2 = mulmod(x, x, q);
        uint256 y2 = mulmod(y, y, q);
        uint256 lhs = addmod(mulmod(A, x2, q), y2, q);
        uint256 rhs = addmod(1, mulmod(mulmod(D, x2, q), y2, q), q);
        return lhs == rhs;
    }

    /// @notice The 32-byte compressed key: `y` with the top bit set when `x` is odd (all zero for no key).
    /// @dev Injective on the keys `isValidKey` accepts: `y < r < 2²⁵⁵` leaves the top bit to the parity, and
    ///      the only point with `y = 0` that could share the all-zero encoding is refused.
    function compress(uint256 x, uint256 y) internal pure returns (bytes32) {
        return bytes32(y | ((x & 1) << 255));
    }
}
