// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Setup} from "../setup/Setup.sol";
import {EscapeHandler} from "./EscapeHandler.sol";

/// @notice Invariants of escape mode over real Poseidon state roots (the core's `escape_states.json`): any of
///         several finalized states, escape mode, then honest, aliased and inflated escapes and pulls in any
///         order (see `EscapeHandler`). The bridge starts holding exactly what the states hold.
contract EscapeInvariants is Setup {
    EscapeHandler internal handler;

    function setUp() public override {
        super.setUp();
        handler = new EscapeHandler(rollup, token, tokenId, sequencer);
        vm.deal(address(rollup), handler.totalOf(0));
        token.mint(address(rollup), handler.totalOf(1));
        targetContract(address(handler));
    }

    function _pendingSum(uint8 tid) internal view returns (uint256 sum) {
        for (uint256 i = 0; i < handler.payeeCount(); ++i) {
            sum += rollup.pending(handler.payees(i), tid);
        }
    }

    /// @custom:invariant The bridge never pays more than the finalized state and what it owes: its ETH always
    ///                   covers the pending balances plus every balance of the finalized state not yet escaped.
    /// forge-config: default.invariant.runs = 48
    /// forge-config: default.invariant.depth = 32
    /// forge-config: ci.invariant.runs = 128
    /// forge-config: ci.invariant.depth = 48
    function invariant_ethCoversFinalizedStateAndPending() public view {
        assertGe(address(rollup).balance, _pendingSum(0) + handler.unescaped(0));
    }

    /// @custom:invariant The same holds for the ERC20 token.
    /// forge-config: default.invariant.runs = 48
    /// forge-config: default.invariant.depth = 32
    /// forge-config: ci.invariant.runs = 128
    /// forge-config: ci.invariant.depth = 48
    function invariant_tokenCoversFinalizedStateAndPending() public view {
        assertGe(token.balanceOf(address(rollup)), _pendingSum(tokenId) + handler.unescaped(1));
    }

    /// @custom:invariant Escapes never pay out more than the finalized state holds, and no (account, token)
    ///                   is paid twice, whatever ids or balances the proofs claim.
    /// forge-config: default.invariant.runs = 48
    /// forge-config: default.invariant.depth = 32
    /// forge-config: ci.invariant.runs = 128
    /// forge-config: ci.invariant.depth = 48
    function invariant_escapesWithinFinalizedState() public view {
        assertLe(handler.escapedTotal(0), handler.totalOf(0));
        assertLe(handler.escapedTotal(1), handler.totalOf(1));
        assertLe(handler.maxPaidCount(), 1);
    }

    /// @custom:invariant An honest first escape is never refused, and an aliased, inflated or repeated one is
    ///                   never paid.
    /// forge-config: default.invariant.runs = 48
    /// forge-config: default.invariant.depth = 32
    /// forge-config: ci.invariant.runs = 128
    /// forge-config: ci.invariant.depth = 48
    function invariant_noRecordedViolation() public view {
        assertEq(handler.violation(), "");
    }
}
