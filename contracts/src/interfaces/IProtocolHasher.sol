// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {StateProof} from "../generated/StateProof.sol";

/// @title IProtocolHasher
/// @notice The Poseidon-based functions of the protocol, in one contract so that the permutation's code is
///         deployed once and the rollup stays under the code size limit.
interface IProtocolHasher {
    /// @notice The state root that a balance proof implies.
    /// @param proof The balance, its account leaf fields and both Merkle paths.
    /// @return root The implied state root.
    function computeRoot(StateProof.BalanceProof calldata proof) external pure returns (uint256 root);

    /// @notice Whether `proof` proves its balance under `stateRoot`.
    /// @param stateRoot The L2 state root to check against.
    /// @param proof The balance, its account leaf fields and both Merkle paths.
    /// @return valid True when the proof holds.
    function verify(uint256 stateRoot, StateProof.BalanceProof calldata proof) external pure returns (bool valid);
}
