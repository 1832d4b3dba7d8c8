// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ProtocolConstants as C} from "../../src/generated/ProtocolConstants.sol";
import {StateProof} from "../../src/generated/StateProof.sol";
import {IBatchVerifier} from "../../src/interfaces/IBatchVerifier.sol";
import {IRollup} from "../../src/interfaces/IRollup.sol";
import {MockBatchVerifier} from "../mocks/MockBatchVerifier.sol";
import {Setup} from "../setup/Setup.sol";
import {Vectors} from "../utils/Vectors.sol";

/// @notice Escape mode: activation by deadline, payouts on balance proofs of the last finalized state (from
///         the core's vectors, state.json), refunds of unfinalized deposits, and that no role can stop it.
contract EscapeHatchTest is Setup {
    string internal json;
    uint256 internal vectorRoot;

    function setUp() public override {
        super.setUp();
        json = Vectors.read("state.json");
        vectorRoot = uint256(vm.parseJsonBytes32(json, ".root"));
    }

    function _proof(uint256 i) internal view returns (StateProof.BalanceProof memory) {
        return Vectors.balanceProof(json, i);
    }

    /// @dev Finalizes a batch whose new root is the vectors' state root, then leaves alice's deposit (request
    ///      1) unprocessed past its deadline and activates escape mode.
    function _finalizeVectorStateAndEscape() internal {
        (uint256 b, IRollup.DataBinding memory dcs) = commit(one(chunkOf(feeAccountRecord())));
        finalize(b, dcs, vectorRoot);
        depositEthAs(alice, 2 ether);
        vm.deal(address(rollup), 100 ether);
        vm.warp(block.timestamp + C.REQUEST_DEADLINE_MAX + 1);
        rollup.activateEscapeMode();
    }

    // activateEscapeMode -----------------------------------------------------------------------------

    function test_activateEscapeMode_beforeDeadline_reverts() public {
        uint256 deadline = rollup.request(0).deadline;
        vm.warp(deadline);
        vm.expectRevert(abi.encodeWithSelector(IRollup.DeadlineNotPassed.selector, 0, deadline));
        rollup.activateEscapeMode();
    }

    function test_activateEscapeMode_emptyQueue_reverts() public {
        (uint256 b, IRollup.DataBinding memory dcs) = commit(one(chunkOf(feeAccountRecord())));
        finalize(b, dcs, 1);
        vm.warp(block.timestamp + 365 days);
        vm.expectRevert(abi.encodeWithSelector(IRollup.DeadlineNotPassed.selector, 1, 0));
        rollup.activateEscapeMode();
    }

    function test_activateEscapeMode_committedButUnfinalizedRequest_succeeds() public {
        commit(one(chunkOf(feeAccountRecord())));
        vm.warp(block.timestamp + C.REQUEST_DEADLINE_MAX + 1);
        vm.expectEmit(address(rollup));
        emit IRollup.EscapeModeActivated(0);
        rollup.activateEscapeMode();
        assertTrue(rollup.escapeMode());
    }

    function test_activateEscapeMode_twice_reverts() public {
        vm.warp(block.timestamp + C.REQUEST_DEADLINE_MAX + 1);
        rollup.activateEscapeMode();
        vm.expectRevert(IRollup.EscapeModeActive.selector);
        rollup.activateEscapeMode();
    }

    function testFuzz_activateEscapeMode_onlyAfterDeadline(uint256 wait) public {
        wait = bound(wait, 0, 3 * C.REQUEST_DEADLINE);
        uint256 deadline = rollup.request(0).deadline;
        vm.warp(block.timestamp + wait);
        if (block.timestamp <= deadline) {
            vm.expectRevert(abi.encodeWithSelector(IRollup.DeadlineNotPassed.selector, 0, deadline));
        }
        rollup.activateEscapeMode();
        assertEq(rollup.escapeMode(), block.timestamp > deadline);
    }

    function test_oldestRequestAge_tracksQueue_succeeds() public {
        assertEq(rollup.oldestRequestAge(), 0);
        vm.warp(block.timestamp + 100);
        assertEq(rollup.oldestRequestAge(), 100);
        (uint256 b, IRollup.DataBinding memory dcs) = commit(one(chunkOf(feeAccountRecord())));
        finalize(b, dcs, 1);
        assertEq(rollup.oldestRequestAge(), 0);
    }

    // escape -----------------------------------------------------------------------------------------

    function test_escape_vectorProofs_payOwners_succeeds() public {
        _finalizeVectorStateAndEscape();
        for (uint256 i = 0; i < 5; ++i) {
            StateProof.BalanceProof memory p = _proof(i);
            uint256 before = rollup.pending(p.account.owner, p.token);
            vm.expectEmit(address(rollup));
            emit IRollup.Escaped(p.accountId, p.token, p.account.owner, p.balance);
            rollup.escape(p);
            assertEq(rollup.pending(p.account.owner, p.token), before + p.balance);
        }
    }

    function test_escape_thenPull_succeeds() public {
        _finalizeVectorStateAndEscape();
        StateProof.BalanceProof memory p = _proof(2); // bob's ETH (account 2, owner 0xb0b0...)
        rollup.escape(p);
        address to = makeAddr("escaped funds");
        vm.prank(p.account.owner);
        rollup.withdrawPending(0, to);
        assertEq(to.balance, p.balance);
    }

    function test_escape_twice_reverts() public {
        _finalizeVectorStateAndEscape();
        StateProof.BalanceProof memory p = _proof(0);
        rollup.escape(p);
        vm.expectRevert(abi.encodeWithSelector(IRollup.AlreadyEscaped.selector, p.accountId, p.token));
        rollup.escape(p);
    }

    /// @dev The review's double payout: `id + k * 2^20` walks the same 20-bit path as `id`.
    function test_escape_aliasedAccountId_reverts() public {
        _finalizeVectorStateAndEscape();
        StateProof.BalanceProof memory p = _proof(2);
        rollup.escape(p);
        uint256 paid = rollup.pending(p.account.owner, p.token);
        for (uint32 k = 1; k < 4; ++k) {
            StateProof.BalanceProof memory alias_ = _proof(2);
            alias_.accountId = p.accountId + k * uint32(C.MAX_ACCOUNTS);
            assertEq(hasher.computeRoot(alias_), vectorRoot, "the walk itself reads 20 bits");
            vm.expectRevert(abi.encodeWithSelector(IRollup.UnknownAccountId.selector, alias_.accountId));
            rollup.escape(alias_);
        }
        assertEq(rollup.pending(p.account.owner, p.token), paid);
    }

    /// @dev Every id at or above the tree's width is refused, whether or not the canonical id escaped first.
    function testFuzz_escape_accountIdAboveTree_reverts(uint32 id, bool escapeCanonicalFirst) public {
        _finalizeVectorStateAndEscape();
        StateProof.BalanceProof memory p = _proof(1);
        if (escapeCanonicalFirst) rollup.escape(p);
        uint32 high = uint32(bound(id, C.MAX_ACCOUNTS, type(uint32).max));
        // Keep the low 20 bits of the proven id, so the Merkle walk is the honest one.
        p.accountId = (high & ~uint32(C.MAX_ACCOUNTS - 1)) | p.accountId;
        vm.expectRevert(abi.encodeWithSelector(IRollup.UnknownAccountId.selector, p.accountId));
        rollup.escape(p);
    }

    /// @dev An id word wider than `uint32` never reaches the contract's logic: the ABI decoder refuses it.
    function testFuzz_escape_accountIdWiderThanUint32_reverts(uint256 word) public {
        _finalizeVectorStateAndEscape();
        StateProof.BalanceProof memory p = _proof(1);
        word = bound(word, uint256(type(uint32).max) + 1, type(uint256).max);
        bytes memory data = abi.encodeCall(IRollup.escape, (p));
        // The proof is a static tuple: its first word, right after the selector, is the account id.
        assembly ("memory-safe") {
            mstore(add(data, 36), word)
        }
        (bool ok, bytes memory ret) = address(rollup).call(data);
        assertFalse(ok);
        assertEq(ret.length, 0);
        assertEq(rollup.pending(p.account.owner, p.token), 0);
    }

    /// @dev A token word wider than `uint8` is refused by the ABI decoder too; 8 bits is the balance tree's depth.
    function testFuzz_escape_tokenWiderThanUint8_reverts(uint256 word) public {
        _finalizeVectorStateAndEscape();
        StateProof.BalanceProof memory p = _proof(1);
        word = bound(word, 256, type(uint256).max);
        bytes memory data = abi.encodeCall(IRollup.escape, (p));
        assembly ("memory-safe") {
            mstore(add(data, 68), word)
        }
        (bool ok,) = address(rollup).call(data);
        assertFalse(ok);
        assertEq(rollup.pending(p.account.owner, p.token), 0);
    }

    function test_escape_notInEscapeMode_reverts() public {
        vm.expectRevert(IRollup.EscapeModeNotActive.selector);
        rollup.escape(_proof(0));
    }

    function test_escape_inflatedBalance_reverts() public {
        _finalizeVectorStateAndEscape();
        StateProof.BalanceProof memory p = _proof(0);
        p.balance += 1;
        vm.expectRevert(abi.encodeWithSelector(IRollup.InvalidBalanceProof.selector, p.accountId, p.token));
        rollup.escape(p);
    }

    function test_escape_otherOwner_reverts() public {
        _finalizeVectorStateAndEscape();
        StateProof.BalanceProof memory p = _proof(0);
        p.account.owner = alice;
        vm.expectRevert(abi.encodeWithSelector(IRollup.InvalidBalanceProof.selector, p.accountId, p.token));
        rollup.escape(p);
    }

    function test_escape_proofAgainstUnfinalizedRoot_reverts() public {
        // The vector root is only committed-and-proposed, never finalized: the last finalized root is genesis.
        commit(one(chunkOf(feeAccountRecord())));
        vm.warp(block.timestamp + C.REQUEST_DEADLINE_MAX + 1);
        rollup.activateEscapeMode();
        StateProof.BalanceProof memory p = _proof(0);
        vm.expectRevert(abi.encodeWithSelector(IRollup.InvalidBalanceProof.selector, p.accountId, p.token));
        rollup.escape(p);
    }

    function testFuzz_escape_tamperedSibling_reverts(uint256 level, uint256 delta) public {
        _finalizeVectorStateAndEscape();
        StateProof.BalanceProof memory p = _proof(1);
        delta = bound(delta, 1, C.FIELD_MODULUS - 1);
        level = bound(level, 0, C.BALANCE_TREE_DEPTH + C.ACCOUNT_TREE_DEPTH - 1);
        if (level < C.BALANCE_TREE_DEPTH) {
            p.balanceSiblings[level] = addmod(p.balanceSiblings[level], delta, C.FIELD_MODULUS);
        } else {
            uint256 l = level - C.BALANCE_TREE_DEPTH;
            p.accountSiblings[l] = addmod(p.accountSiblings[l], delta, C.FIELD_MODULUS);
        }
        vm.expectRevert(abi.encodeWithSelector(IRollup.InvalidBalanceProof.selector, p.accountId, p.token));
        rollup.escape(p);
    }

    /// @dev Every role does everything it still can; the escape path works regardless.
    function test_escape_noRoleCanStopIt_succeeds() public {
        _finalizeVectorStateAndEscape();
        vm.startPrank(owner);
        rollup.setSequencer(owner);
        rollup.setOwner(admin);
        vm.stopPrank();
        vm.startPrank(admin);
        rollup.registerToken(address(0xbeef));
        MockBatchVerifier evil = new MockBatchVerifier(SLOTS, 1);
        evil.setMode(MockBatchVerifier.Mode.Revert);
        bytes memory data = abi.encodeCall(IRollup.setVerifier, (IBatchVerifier(address(evil))));
        timelock.schedule(address(rollup), 0, data, bytes32(0));
        vm.stopPrank();
        vm.warp(block.timestamp + C.UPGRADE_DELAY);
        timelock.execute(address(rollup), 0, data, bytes32(0));
        vm.expectRevert(IRollup.EscapeModeActive.selector);
        vm.prank(admin);
        rollup.revertBatches(0);
        StateProof.BalanceProof memory p = _proof(0);
        rollup.escape(p);
        assertEq(rollup.pending(p.account.owner, p.token), p.balance);
    }

    // refundDeposit ----------------------------------------------------------------------------------

    function test_refundDeposit_unfinalized_succeeds() public {
        _finalizeVectorStateAndEscape();
        bytes memory record = depositRecord(1, alice, 0, 2 ether, key());
        vm.expectEmit(address(rollup));
        emit IRollup.DepositRefunded(1, alice, 0, 2 ether);
        rollup.refundDeposit(1, record);
        assertEq(rollup.pending(alice, 0), 2 ether);
    }

    function test_refundDeposit_committedNotFinalized_succeeds() public {
        depositEthAs(alice, 1 ether);
        commit(one(chunkOf(feeAccountRecord(), depositRecord(1, alice, 0, 1 ether, key()))));
        vm.warp(block.timestamp + C.REQUEST_DEADLINE_MAX + 1);
        rollup.activateEscapeMode();
        rollup.refundDeposit(1, depositRecord(1, alice, 0, 1 ether, key()));
        assertEq(rollup.pending(alice, 0), 1 ether);
    }

    function test_refundDeposit_twice_reverts() public {
        _finalizeVectorStateAndEscape();
        bytes memory record = depositRecord(1, alice, 0, 2 ether, key());
        rollup.refundDeposit(1, record);
        vm.expectRevert(abi.encodeWithSelector(IRollup.AlreadyRefunded.selector, 1));
        rollup.refundDeposit(1, record);
    }

    function test_refundDeposit_finalized_reverts() public {
        _finalizeVectorStateAndEscape();
        vm.expectRevert(abi.encodeWithSelector(IRollup.RequestFinalized.selector, 0));
        rollup.refundDeposit(0, feeAccountRecord());
    }

    function test_refundDeposit_wrongRecord_reverts() public {
        _finalizeVectorStateAndEscape();
        vm.expectRevert(abi.encodeWithSelector(IRollup.NotADeposit.selector, 1));
        rollup.refundDeposit(1, depositRecord(1, alice, 0, 3 ether, key()));
    }

    function test_refundDeposit_forcedExit_reverts() public {
        depositEthAs(alice, 1);
        vm.prank(alice);
        rollup.requestForcedExit{value: FEE}(0);
        vm.warp(block.timestamp + C.REQUEST_DEADLINE_MAX + 1);
        rollup.activateEscapeMode();
        vm.expectRevert(abi.encodeWithSelector(IRollup.NotADeposit.selector, 2));
        rollup.refundDeposit(2, abi.encodePacked(C.TYPE_FORCED_EXIT, uint24(1), uint8(0)));
    }

    function test_refundDeposit_outOfRange_reverts() public {
        _finalizeVectorStateAndEscape();
        vm.expectRevert(abi.encodeWithSelector(IRollup.RequestOutOfRange.selector, 9));
        rollup.refundDeposit(9, feeAccountRecord());
    }

    function test_refundDeposit_notInEscapeMode_reverts() public {
        depositEthAs(alice, 1);
        vm.expectRevert(IRollup.EscapeModeNotActive.selector);
        rollup.refundDeposit(1, depositRecord(1, alice, 0, 1, key()));
    }
}
