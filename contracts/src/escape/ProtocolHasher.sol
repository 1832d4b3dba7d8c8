// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {StateProof} from "../generated/StateProof.sol";
import {IProtocolHasher} from "../interfaces/IProtocolHasher.sol";

/// @title ProtocolHasher
/// @notice Stateless wrapper around the generated `StateProof` library.
contract ProtocolHasher is IProtocolHasher {
    /// @inheritdoc IProtocolHasher
    function computeRoot(StateProof.BalanceProof calldata proof) external pure returns (uint256) {
        return StateProof.root(proof);
    }

    /// @inheritdoc IProtocolHasher
    function verify(uint256 stateRoot, StateProof.BalanceProof calldata proof) external pure returns (bool) {
        return StateProof.verify(stateRoot, proof);
    }
}
