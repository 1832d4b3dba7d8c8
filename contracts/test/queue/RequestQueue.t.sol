// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ProtocolConstants as C} from "../../src/generated/ProtocolConstants.sol";
import {StateProof} from "../../src/generated/StateProof.sol";
import {IRollup} from "../../src/interfaces/IRollup.sol";
import {Rollup} from "../../src/rollup/Rollup.sol";
import {Setup} from "../setup/Setup.sol";
import {Vectors} from "../utils/Vectors.sol";

/// @notice The defence against flooding the request queue (`docs/protocol.md`, section 9): request fees that
///         double with the backlog, account creation priced higher, and deadlines that account for the queue
///         (chained by `REQUEST_SPACING`, between `REQUEST_DEADLINE` and `REQUEST_DEADLINE_MAX`).
contract RequestQueueTest is Setup {
    /// @dev Storage slot of `totalRequests` (`forge inspect Rollup storageLayout`).
    uint256 internal constant TOTAL_REQUESTS_SLOT = 1;

    /// @dev Stands for `backlog` requests waiting (only the counter: `requestFee` reads nothing else).
    function _setBacklog(uint256 backlog) internal {
        vm.store(address(rollup), bytes32(TOTAL_REQUESTS_SLOT), bytes32(rollup.finalizedRequests() + backlog));
    }

    // Fees -------------------------------------------------------------------------------------------

    function test_requestFee_newAccountPaysMore_succeeds() public {
        assertEq(rollup.REQUEST_FEE(), C.DEFAULT_REQUEST_FEE);
        assertEq(rollup.requestFee(alice), C.DEFAULT_REQUEST_FEE * C.ACCOUNT_FEE_MULTIPLIER);
        depositEthAs(alice, 1);
        assertEq(rollup.requestFee(alice), C.DEFAULT_REQUEST_FEE);
    }

    /// @dev The fee doubles for every `FEE_DOUBLING_BACKLOG` requests waiting, and stops growing at 2^128 times.
    function testFuzz_requestFee_doublesWithBacklog(uint256 backlog) public {
        depositEthAs(alice, 1);
        backlog = bound(backlog, 0, 10 ** 9);
        _setBacklog(backlog);
        uint256 doublings = backlog / C.FEE_DOUBLING_BACKLOG;
        if (doublings > 128) doublings = 128;
        assertEq(rollup.requestFee(alice), C.DEFAULT_REQUEST_FEE << doublings);
    }

    function test_requestFee_atDoublingBoundary_succeeds() public {
        depositEthAs(alice, 1);
        _setBacklog(C.FEE_DOUBLING_BACKLOG - 1);
        assertEq(rollup.requestFee(alice), FEE);
        _setBacklog(C.FEE_DOUBLING_BACKLOG);
        assertEq(rollup.requestFee(alice), 2 * FEE);
        _setBacklog(10 * C.FEE_DOUBLING_BACKLOG);
        assertEq(rollup.requestFee(alice), 1024 * FEE);
    }

    /// @dev Under a backlog only the base fee reaches the fee recipient: flooding the queue to price others out
    ///      costs the fee recipient the doublings like anyone else (they are locked for good).
    function test_requestFee_surchargeLockedUnderBacklog_succeeds() public {
        depositEthAs(alice, 1);
        uint256 lockedBefore = rollup.lockedFees();
        uint256 paidBefore = rollup.pending(feeRecipient, 0);
        _setBacklog(3 * C.FEE_DOUBLING_BACKLOG);
        uint256 fee = rollup.requestFee(alice);
        assertEq(fee, 8 * FEE);
        vm.prank(alice);
        rollup.requestForcedExit{value: fee}(0);
        assertEq(rollup.pending(feeRecipient, 0) - paidBefore, FEE);
        assertEq(rollup.lockedFees() - lockedBefore, 7 * FEE);
    }

    function test_depositEth_feeNotCovered_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IRollup.InsufficientFee.selector, NEW_FEE - 1, NEW_FEE));
        vm.prank(alice);
        rollup.depositEth{value: NEW_FEE - 1}(KEY_X, KEY_Y);
    }

    /// @dev The base fee is paid to the fee account's owner, the surcharge locked, and the rest is the deposit:
    ///      a deposit of exactly the fee queues a 0-wei deposit that paid for itself.
    function test_depositEth_feeToFeeRecipient_succeeds() public {
        vm.prank(alice);
        rollup.depositEth{value: NEW_FEE}(KEY_X, KEY_Y);
        assertEq(rollup.pending(feeRecipient, 0), FEE);
        assertEq(rollup.lockedFees(), NEW_FEE - FEE);
        assertEq(rollup.request(1).recordHash, keccak256(depositRecord(1, alice, 0, 0, key())));
    }

    function test_requestForcedExit_feeNotCovered_reverts() public {
        depositEthAs(alice, 1);
        vm.expectRevert(abi.encodeWithSelector(IRollup.InsufficientFee.selector, 0, FEE));
        vm.prank(alice);
        rollup.requestForcedExit(0);
    }

    /// @dev What is sent beyond the fee comes back as the sender's pending ETH, withdrawable at once.
    function test_requestForcedExit_excessCredited_succeeds() public {
        depositEthAs(alice, 1);
        vm.prank(alice);
        rollup.requestForcedExit{value: FEE + 123}(0);
        assertEq(rollup.pending(alice, 0), 123);
        assertEq(rollup.pending(feeRecipient, 0), 2 * FEE);
    }

    function test_depositErc20_feeNotCovered_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IRollup.InsufficientFee.selector, 0, NEW_FEE));
        vm.prank(alice);
        rollup.depositErc20(address(token), 1, KEY_X, KEY_Y);
    }

    function test_constructor_zeroRequestFee_reverts() public {
        Rollup.Config memory cfg = rollupConfig();
        cfg.requestFee = 0;
        vm.expectRevert(IRollup.ZeroRequestFee.selector);
        new Rollup(cfg);
    }

    // Deadlines --------------------------------------------------------------------------------------

    /// @dev Requests of one block: the first gets the earliest deadline, each next one `REQUEST_SPACING` more.
    function test_nextDeadline_chainsWithinABlock_succeeds() public {
        uint256 t = block.timestamp;
        assertEq(rollup.request(0).deadline, t + C.REQUEST_DEADLINE);
        depositEthAs(alice, 1);
        depositEthAs(bob, 1);
        assertEq(rollup.request(1).deadline, t + C.REQUEST_DEADLINE + C.REQUEST_SPACING);
        assertEq(rollup.request(2).deadline, t + C.REQUEST_DEADLINE + 2 * C.REQUEST_SPACING);
        vm.warp(t + 1 days);
        depositEthAs(alice, 1);
        assertEq(rollup.request(3).deadline, t + 1 days + C.REQUEST_DEADLINE, "a quiet queue: the minimum");
    }

    /// @dev After a flood the chain would run past the cap; the cap holds, and deadlines never decrease.
    function test_nextDeadline_cappedAfterFlood_succeeds() public {
        setLastDeadline(uint64(block.timestamp + 30 days));
        assertEq(rollup.nextDeadline(), block.timestamp + C.REQUEST_DEADLINE_MAX);
        depositEthAs(alice, 1);
        assertEq(rollup.request(1).deadline, block.timestamp + C.REQUEST_DEADLINE_MAX);
    }

    /// @dev Whatever the queue left behind (any last deadline at most `REQUEST_DEADLINE_MAX` ahead, as the
    ///      rule keeps it) and whenever the request comes, its deadline lies in [t + min, t + max] and is not
    ///      before the last one: escape mode can only ever start at the oldest unprocessed request.
    function testFuzz_nextDeadline_boundedAndMonotone(uint256 ahead, uint256 wait) public {
        wait = bound(wait, 0, 60 days);
        vm.warp(block.timestamp + wait);
        ahead = bound(ahead, 0, C.REQUEST_DEADLINE_MAX);
        uint64 last = uint64(block.timestamp + ahead);
        setLastDeadline(last);
        depositEthAs(alice, 1);
        uint64 d = rollup.request(1).deadline;
        assertGe(d, block.timestamp + C.REQUEST_DEADLINE);
        assertLe(d, block.timestamp + C.REQUEST_DEADLINE_MAX);
        assertGe(d, last);
        if (uint256(last) + C.REQUEST_SPACING <= block.timestamp + C.REQUEST_DEADLINE_MAX) {
            assertGe(d, uint256(last) + C.REQUEST_SPACING, "spaced while the cap does not bind");
        }
    }

    /// @dev A flood of requests queued in one block gets deadlines one spacing apart: an operator that
    ///      finalizes one request per spacing from the first deadline's start never gives anyone the right to
    ///      activate escape mode. Here 40 requests, processed one per chunk, one chunk per `REQUEST_SPACING`,
    ///      starting as late as it may: at the first one's deadline.
    function test_flood_operatorAtStatedThroughput_neverEscapes() public {
        uint256 n = 40;
        for (uint256 i = 0; i < n; ++i) {
            vm.deal(address(uint160(0xF100 + i)), 1);
            depositEthAs(address(uint160(0xF100 + i)), 1);
        }
        vm.warp(rollup.request(0).deadline);
        for (uint256 i = 0; i <= n; ++i) {
            bytes memory rec =
                i == 0 ? feeAccountRecord() : depositRecord(uint32(i), address(uint160(0xF100 + i - 1)), 0, 1, key());
            (uint256 b, IRollup.DataBinding memory dcs) = commit(one(chunkOf(rec)));
            finalize(b, dcs, 1000 + i);
            if (i < n) {
                vm.warp(block.timestamp + C.REQUEST_SPACING);
                // The next request waits, and it is exactly at (not past) its deadline.
                assertEq(block.timestamp, rollup.request(i + 1).deadline);
                vm.expectRevert(
                    abi.encodeWithSelector(IRollup.DeadlineNotPassed.selector, i + 1, rollup.request(i + 1).deadline)
                );
                rollup.activateEscapeMode();
            }
        }
        assertFalse(rollup.escapeMode());
    }

    /// @dev An honest forced exit queued behind a flood is served or escapable within `REQUEST_DEADLINE_MAX`:
    ///      its deadline is capped, and once it passes unprocessed anyone activates escape mode and the user
    ///      takes their finalized balance out with a balance proof.
    function test_flood_honestForcedExit_escapableWithinMax_succeeds() public {
        string memory json = Vectors.read("state.json");
        uint256 vectorRoot = uint256(vm.parseJsonBytes32(json, ".root"));
        (uint256 b, IRollup.DataBinding memory dcs) = commit(one(chunkOf(feeAccountRecord())));
        finalize(b, dcs, vectorRoot);
        // An attacker's flood left the chain of deadlines 30 days ahead.
        setLastDeadline(uint64(block.timestamp + 30 days));
        uint256 t = block.timestamp;
        depositEthAs(alice, 1);
        vm.prank(alice);
        rollup.requestForcedExit{value: FEE}(0);
        uint64 deadline = rollup.request(2).deadline;
        assertEq(deadline, t + C.REQUEST_DEADLINE_MAX);
        // The operator serves nothing; the first unprocessed request (alice's deposit) is as late.
        vm.warp(deadline + 1);
        rollup.activateEscapeMode();
        assertTrue(rollup.escapeMode());
        assertLe(block.timestamp - t, C.REQUEST_DEADLINE_MAX + 1, "escapable within the stated bound");
        StateProof.BalanceProof memory p = Vectors.balanceProof(json, 0);
        vm.deal(address(rollup), address(rollup).balance + p.balance);
        rollup.escape(p);
        assertEq(rollup.pending(p.account.owner, p.token), p.balance);
    }
}
