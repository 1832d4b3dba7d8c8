// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ProtocolConstants as C} from "../../src/generated/ProtocolConstants.sol";
import {Timelock} from "../../src/governance/Timelock.sol";
import {Setup} from "../setup/Setup.sol";

/// @dev A target that records calls.
contract Target {
    uint256 public value;

    function set(uint256 v) external payable {
        value = v;
    }

    function fail() external pure {
        revert("target failed");
    }
}

/// @notice The governance timelock: its delay bound, scheduling, execution, cancellation and admin handover.
contract TimelockTest is Setup {
    Target internal target;
    bytes internal data;

    function setUp() public override {
        super.setUp();
        target = new Target();
        data = abi.encodeCall(Target.set, (7));
    }

    function test_constructor_delayCoversDeadlinePlusExitWindow_succeeds() public view {
        assertGe(timelock.delay(), C.UPGRADE_DELAY);
        assertGt(C.UPGRADE_DELAY, C.REQUEST_DEADLINE_MAX + C.EXIT_WINDOW, "strictly: escape comes first");
        assertEq(timelock.admin(), admin);
    }

    /// @dev The exit window at its boundary, in the worst case: a user asks for a forced exit at the last second
    ///      of the window, behind a flood that pushes its deadline to the cap. Escape mode can be activated
    ///      while the scheduled change still cannot run; the two never meet in one block.
    function test_exitWindow_lastSecondBehindFlood_escapeBeforeChange() public {
        depositEthAs(alice, 1);
        vm.prank(admin);
        bytes32 id = timelock.schedule(address(target), 0, data, bytes32(0));
        uint256 readyAt = timelock.readyAt(id);
        vm.warp(readyAt - timelock.delay() + C.EXIT_WINDOW);
        setLastDeadline(uint64(block.timestamp + 60 days));
        vm.prank(alice);
        rollup.requestForcedExit{value: FEE}(0);
        uint256 deadline = rollup.request(rollup.totalRequests() - 1).deadline;
        assertEq(deadline, block.timestamp + C.REQUEST_DEADLINE_MAX);
        assertLt(deadline + 1, readyAt, "escape is possible before the change");
        vm.warp(deadline + 1);
        rollup.activateEscapeMode();
        vm.expectRevert(abi.encodeWithSelector(Timelock.NotReady.selector, id, readyAt));
        timelock.execute(address(target), 0, data, bytes32(0));
        vm.warp(readyAt - 1);
        vm.expectRevert(abi.encodeWithSelector(Timelock.NotReady.selector, id, readyAt));
        timelock.execute(address(target), 0, data, bytes32(0));
        vm.warp(readyAt);
        timelock.execute(address(target), 0, data, bytes32(0));
        assertEq(target.value(), 7);
    }

    function test_constructor_shortDelay_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(Timelock.DelayTooShort.selector, 1 days, C.UPGRADE_DELAY));
        new Timelock(admin, 1 days);
    }

    function test_constructor_zeroAdmin_reverts() public {
        vm.expectRevert(Timelock.ZeroAddress.selector);
        new Timelock(address(0), C.UPGRADE_DELAY);
    }

    function test_schedule_thenExecuteAfterDelay_succeeds() public {
        vm.prank(admin);
        bytes32 id = timelock.schedule(address(target), 0, data, bytes32(0));
        assertEq(timelock.readyAt(id), block.timestamp + C.UPGRADE_DELAY);
        vm.warp(block.timestamp + C.UPGRADE_DELAY);
        vm.prank(alice); // anyone executes
        timelock.execute(address(target), 0, data, bytes32(0));
        assertEq(target.value(), 7);
        assertEq(timelock.readyAt(id), 0);
    }

    function test_schedule_notAdmin_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(Timelock.NotAdmin.selector, alice));
        vm.prank(alice);
        timelock.schedule(address(target), 0, data, bytes32(0));
    }

    function test_schedule_twice_reverts() public {
        vm.startPrank(admin);
        bytes32 id = timelock.schedule(address(target), 0, data, bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(Timelock.AlreadyScheduled.selector, id));
        timelock.schedule(address(target), 0, data, bytes32(0));
        vm.stopPrank();
    }

    function testFuzz_execute_beforeDelay_reverts(uint256 wait) public {
        wait = bound(wait, 0, C.UPGRADE_DELAY - 1);
        vm.prank(admin);
        bytes32 id = timelock.schedule(address(target), 0, data, bytes32(0));
        uint256 at = block.timestamp + C.UPGRADE_DELAY;
        vm.warp(block.timestamp + wait);
        vm.expectRevert(abi.encodeWithSelector(Timelock.NotReady.selector, id, at));
        timelock.execute(address(target), 0, data, bytes32(0));
    }

    function test_execute_unscheduled_reverts() public {
        bytes32 id = timelock.operationId(address(target), 0, data, bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(Timelock.NotScheduled.selector, id));
        timelock.execute(address(target), 0, data, bytes32(0));
    }

    function test_execute_failingCall_reverts() public {
        bytes memory bad = abi.encodeCall(Target.fail, ());
        vm.prank(admin);
        bytes32 id = timelock.schedule(address(target), 0, bad, bytes32(0));
        vm.warp(block.timestamp + C.UPGRADE_DELAY);
        vm.expectRevert(
            abi.encodeWithSelector(
                Timelock.CallFailed.selector, id, abi.encodeWithSignature("Error(string)", "target failed")
            )
        );
        timelock.execute(address(target), 0, bad, bytes32(0));
    }

    function test_cancel_preventsExecution_succeeds() public {
        vm.startPrank(admin);
        bytes32 id = timelock.schedule(address(target), 0, data, bytes32(0));
        timelock.cancel(id);
        vm.stopPrank();
        vm.warp(block.timestamp + C.UPGRADE_DELAY);
        vm.expectRevert(abi.encodeWithSelector(Timelock.NotScheduled.selector, id));
        timelock.execute(address(target), 0, data, bytes32(0));
    }

    function test_cancel_notAdmin_reverts() public {
        vm.prank(admin);
        bytes32 id = timelock.schedule(address(target), 0, data, bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(Timelock.NotAdmin.selector, alice));
        vm.prank(alice);
        timelock.cancel(id);
    }

    function test_cancel_unscheduled_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(Timelock.NotScheduled.selector, bytes32(uint256(1))));
        vm.prank(admin);
        timelock.cancel(bytes32(uint256(1)));
    }

    function test_setAdmin_onlyThroughDelay_succeeds() public {
        vm.expectRevert(abi.encodeWithSelector(Timelock.NotTimelock.selector, admin));
        vm.prank(admin);
        timelock.setAdmin(bob);
        bytes memory call = abi.encodeCall(Timelock.setAdmin, (bob));
        vm.prank(admin);
        timelock.schedule(address(timelock), 0, call, bytes32(0));
        vm.warp(block.timestamp + C.UPGRADE_DELAY);
        timelock.execute(address(timelock), 0, call, bytes32(0));
        assertEq(timelock.admin(), bob);
    }

    function test_setAdmin_zero_reverts() public {
        bytes memory call = abi.encodeCall(Timelock.setAdmin, (address(0)));
        vm.prank(admin);
        bytes32 id = timelock.schedule(address(timelock), 0, call, bytes32(0));
        vm.warp(block.timestamp + C.UPGRADE_DELAY);
        vm.expectRevert(
            abi.encodeWithSelector(
                Timelock.CallFailed.selector, id, abi.encodeWithSelector(Timelock.ZeroAddress.selector)
            )
        );
        timelock.execute(address(timelock), 0, call, bytes32(0));
    }

    function test_execute_withValue_succeeds() public {
        bytes memory call = abi.encodeCall(Target.set, (9));
        vm.prank(admin);
        timelock.schedule(address(target), 1 ether, call, bytes32(0));
        vm.warp(block.timestamp + C.UPGRADE_DELAY);
        vm.deal(alice, 1 ether);
        vm.prank(alice);
        timelock.execute{value: 1 ether}(address(target), 1 ether, call, bytes32(0));
        assertEq(address(target).balance, 1 ether);
    }
}
