// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {PoseidonPermutation} from "../generated/PoseidonPermutation.sol";
import {StateProof} from "../generated/StateProof.sol";
import {IProtocolHasher} from "../interfaces/IProtocolHasher.sol";

/// @title ProtocolHasher
/// @notice Stateless wrapper around the generated `StateProof` library. It deploys the generated Poseidon2
///         permutation contract once, in its constructor, and every balance proof hashes with it.
contract ProtocolHasher is IProtocolHasher {
    /// @inheritdoc IProtocolHasher
    address public immutable permutation;

    constructor() {
        permutation = PoseidonPermutation.deploy();
    }

    /// @inheritdoc IProtocolHasher
    function computeRoot(StateProof.BalanceProof calldata proof) external view returns (uint256) {
        return StateProof.root(permutation, proof);
    }

    /// @inheritdoc IProtocolHasher
    function verify(uint256 stateRoot, StateProof.BalanceProof calldata proof) external view returns (bool) {
        return StateProof.verify(permutation, stateRoot, proof);
    }
}
