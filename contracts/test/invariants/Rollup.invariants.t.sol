// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Setup} from "../setup/Setup.sol";
import {RollupHandler} from "./RollupHandler.sol";

/// @notice Invariants of the rollup under random sequences of deposits, forced exits, commits, finalizations,
///         executions, pulls, time, escape activation, refunds and role actions (see `RollupHandler`).
contract RollupInvariants is Setup {
    RollupHandler internal handler;

    function setUp() public override {
        super.setUp();
        handler = new RollupHandler(rollup, hasher, token, tokenId, sequencer, owner, feeRecipient);
        targetContract(address(handler));
    }

    function _pendingSum(uint8 tid) internal view returns (uint256 sum) {
        for (uint256 i = 0; i < handler.actorCount(); ++i) {
            sum += rollup.pending(handler.actors(i), tid);
        }
        sum += rollup.pending(feeRecipient, tid);
    }

    function _owed(uint256 t) internal view returns (int256) {
        uint8 tid = t == 0 ? 0 : tokenId;
        int256 locked = t == 0 ? int256(rollup.lockedFees()) : int256(0);
        return int256(_pendingSum(tid)) + handler.unexecutedWithdrawals(t) + handler.finalizedTotal(t)
            + handler.unfinalizedDeposits(t) + locked;
    }

    /// @custom:invariant The bridge's ETH always equals what it owes: pending withdrawals (request fees
    ///                   included), finalized but unexecuted withdrawals, the finalized L2 state's total and
    ///                   the deposits not yet in finalized state (and not refunded), plus the locked fee
    ///                   surcharges. It never holds less.
    function invariant_ethCoversEverythingOwed() public view {
        assertEq(int256(address(rollup).balance), _owed(0));
    }

    /// @custom:invariant The same holds for the ERC20 token.
    function invariant_tokenCoversEverythingOwed() public view {
        assertEq(int256(token.balanceOf(address(rollup))), _owed(1));
    }

    /// @custom:invariant Requests are consumed in queue order: finalized <= committed <= queued.
    function invariant_requestsConsumedInOrder() public view {
        assertLe(rollup.finalizedRequests(), rollup.committedRequests());
        assertLe(rollup.committedRequests(), rollup.totalRequests());
    }

    /// @custom:invariant Escape mode never starts before the oldest unprocessed request's deadline, always
    ///                   can after it, and once on nothing (commit, finalize, revert, any role) turns it off.
    ///                   No deposit is refunded twice, and no refund is refused to an eligible deposit. A
    ///                   commit naming another index than the next (a resend, a stale transaction) never lands.
    function invariant_noRecordedViolation() public view {
        assertEq(handler.violation(), "");
        assertLe(handler.maxRefundCount(), 1);
    }
}
