// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {DataCommitment} from "../generated/DataCommitment.sol";
import {StateProof} from "../generated/StateProof.sol";
import {IProtocolHasher} from "../interfaces/IProtocolHasher.sol";

/// @title ProtocolHasher
/// @notice Stateless wrapper around the generated `DataCommitment` and `StateProof` libraries.
contract ProtocolHasher is IProtocolHasher {
    /// @inheritdoc IProtocolHasher
    function dataCommitment(bytes calldata chunk, uint256 slots) external pure returns (uint256) {
        return DataCommitment.commit(chunk, slots);
    }

    /// @inheritdoc IProtocolHasher
    function computeRoot(StateProof.BalanceProof calldata proof) external pure returns (uint256) {
        return StateProof.root(proof);
    }

    /// @inheritdoc IProtocolHasher
    function verify(uint256 stateRoot, StateProof.BalanceProof calldata proof) external pure returns (bool) {
        return StateProof.verify(stateRoot, proof);
    }
}
