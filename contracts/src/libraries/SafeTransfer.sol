// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title SafeTransfer
/// @notice ERC20 transfers that accept tokens returning nothing and reject tokens returning false, reverting,
///         or having no code; ETH transfers that forward all gas.
library SafeTransfer {
    /// @notice The transfer failed (reverted, returned false, or the token has no code).
    error TransferFailed(address token);
    /// @notice Sending ETH failed.
    error EthSendFailed(address to, uint256 amount);

    function safeTransfer(address token, address to, uint256 amount) internal {
        _call(token, abi.encodeWithSelector(0xa9059cbb, to, amount));
    }

    function safeTransferFrom(address token, address from, address to, uint256 amount) internal {
        _call(token, abi.encodeWithSelector(0x23b872dd, from, to, amount));
    }

    function sendEth(address to, uint256 amount) internal {
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert EthSendFailed(to, amount);
    }

    function _call(address token, bytes memory data) private {
        if (token.code.length == 0) revert TransferFailed(token);
        (bool ok, bytes memory ret) = token.call(data);
        if (!ok || (ret.length != 0 && (ret.length < 32 || !abi.decode(ret, (bool))))) revert TransferFailed(token);
    }
}
