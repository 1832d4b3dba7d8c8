// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice A batch's pubdata from its chunks: tests build chunks one by one, `commitBatch` takes them back to back.
library Pubdata {
    /// @notice The chunks' bytes, back to back.
    function cat(bytes[] memory chunks) internal pure returns (bytes memory out) {
        for (uint256 i = 0; i < chunks.length; ++i) {
            out = bytes.concat(out, chunks[i]);
        }
    }
}
