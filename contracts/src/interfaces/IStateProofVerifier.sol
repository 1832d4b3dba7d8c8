// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {StateProof} from "../generated/StateProof.sol";

/// @title IStateProofVerifier
/// @notice Checks Merkle proofs of (account, token) balances against an L2 state root. The escape hatch
///         pays out on these proofs; keeping the Poseidon code in this one contract keeps the rollup small.
interface IStateProofVerifier {
    /// @notice The state root that `proof` implies.
    /// @param proof The balance, its account leaf fields and both Merkle paths.
    /// @return root The implied state root.
    function computeRoot(StateProof.BalanceProof calldata proof) external pure returns (uint256 root);

    /// @notice Whether `proof` proves its balance under `stateRoot`.
    /// @param stateRoot The L2 state root to check against.
    /// @param proof The balance, its account leaf fields and both Merkle paths.
    /// @return valid True when the proof holds.
    function verify(uint256 stateRoot, StateProof.BalanceProof calldata proof) external pure returns (bool valid);
}
