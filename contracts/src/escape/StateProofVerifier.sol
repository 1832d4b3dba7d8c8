// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {StateProof} from "../generated/StateProof.sol";
import {IStateProofVerifier} from "../interfaces/IStateProofVerifier.sol";

/// @title StateProofVerifier
/// @notice Stateless wrapper around the generated `StateProof` library (see `IStateProofVerifier`).
contract StateProofVerifier is IStateProofVerifier {
    /// @inheritdoc IStateProofVerifier
    function computeRoot(StateProof.BalanceProof calldata proof) external pure returns (uint256) {
        return StateProof.root(proof);
    }

    /// @inheritdoc IStateProofVerifier
    function verify(uint256 stateRoot, StateProof.BalanceProof calldata proof) external pure returns (bool) {
        return StateProof.verify(stateRoot, proof);
    }
}
