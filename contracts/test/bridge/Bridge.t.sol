// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ProtocolConstants as C} from "../../src/generated/ProtocolConstants.sol";
import {IRollup} from "../../src/interfaces/IRollup.sol";
import {BabyJubjub} from "../../src/libraries/BabyJubjub.sol";
import {SafeTransfer} from "../../src/libraries/SafeTransfer.sol";
import {EthRejecter, FalseReturningERC20, FeeOnTransferERC20, MockERC20, NoReturnERC20} from "../mocks/Tokens.sol";
import {Setup} from "../setup/Setup.sol";
import {Vectors} from "../utils/Vectors.sol";

/// @dev Re-enters `withdrawPending` from its ETH receive hook.
contract Reenterer {
    IRollup internal immutable rollup;

    constructor(IRollup r) {
        rollup = r;
    }

    function deposit() external payable {
        rollup.depositEth{value: msg.value + rollup.requestFee(address(this))}(0, 0);
    }

    function pull() external {
        rollup.withdrawPending(0, address(this));
    }

    receive() external payable {
        rollup.withdrawPending(0, address(this));
    }
}

/// @notice Deposits, accounts, tokens, forced exits, key changes and pending withdrawals.
contract BridgeTest is Setup {
    // depositEth -------------------------------------------------------------------------------------

    function test_depositEth_newAccount_registersAndQueues_succeeds() public {
        bytes memory record = depositRecord(1, alice, 0, 1 ether, key());
        vm.expectEmit(address(rollup));
        emit IRollup.AccountRegistered(1, alice);
        vm.expectEmit(address(rollup));
        // Request 0 took the earliest deadline of this block; request 1's comes REQUEST_SPACING after it.
        emit IRollup.RequestQueued(1, 1, uint64(block.timestamp + C.REQUEST_DEADLINE + C.REQUEST_SPACING), record);
        depositEthAs(alice, 1 ether);
        (bool exists, uint32 id) = rollup.accountOf(alice);
        assertTrue(exists);
        assertEq(id, 1);
        assertEq(rollup.totalRequests(), 2);
        assertEq(rollup.request(1).recordHash, keccak256(record));
        assertEq(address(rollup).balance, 1 ether + NEW_FEE, "the deposit and its fee");
        assertEq(rollup.pending(feeRecipient, 0), FEE, "the base fee, owed to the fee account's owner");
        assertEq(rollup.lockedFees(), NEW_FEE - FEE, "the account-creation surcharge, locked");
        assertEq(rollup.outstanding(0), 1 ether);
    }

    function test_depositEth_existingAccount_ignoresKey_succeeds() public {
        depositEthAs(alice, 1 ether);
        vm.prank(alice);
        rollup.depositEth{value: 2 ether + FEE}(1, 2); // not a key: ignored for an existing account
        assertEq(rollup.request(2).recordHash, keccak256(depositRecord(1, alice, 0, 2 ether, bytes32(0))));
        assertEq(rollup.accountCount(), 2);
    }

    function test_depositEth_noKey_succeeds() public {
        vm.prank(alice);
        rollup.depositEth{value: 1 + NEW_FEE}(0, 0);
        assertEq(rollup.request(1).recordHash, keccak256(depositRecord(1, alice, 0, 1, bytes32(0))));
    }

    function test_depositEth_invalidKey_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IRollup.InvalidPublicKey.selector, 1, 2));
        vm.prank(alice);
        rollup.depositEth{value: 1 + NEW_FEE}(1, 2);
    }

    function test_depositEth_nonCanonicalKey_reverts() public {
        uint256 x = KEY_X + C.FIELD_MODULUS;
        vm.expectRevert(abi.encodeWithSelector(IRollup.InvalidPublicKey.selector, x, KEY_Y));
        vm.prank(alice);
        rollup.depositEth{value: 1 + NEW_FEE}(x, KEY_Y);
    }

    function test_depositEth_amountTooLarge_reverts() public {
        uint256 amount = uint256(type(uint128).max) + 1;
        vm.deal(alice, amount + NEW_FEE);
        vm.expectRevert(abi.encodeWithSelector(IRollup.AmountTooLarge.selector, amount));
        vm.prank(alice);
        rollup.depositEth{value: amount + NEW_FEE}(KEY_X, KEY_Y);
    }

    function test_depositEth_totalTooLarge_reverts() public {
        uint256 big = type(uint128).max;
        vm.deal(alice, big + NEW_FEE);
        vm.prank(alice);
        rollup.depositEth{value: big + NEW_FEE}(KEY_X, KEY_Y);
        vm.expectRevert(abi.encodeWithSelector(IRollup.AmountTooLarge.selector, 1));
        vm.prank(bob);
        rollup.depositEth{value: 1 + NEW_FEE}(KEY_X, KEY_Y);
    }

    /// @dev The bound is on what is outstanding: once a withdrawal of the whole amount is executed, the token
    ///      takes deposits again (a running total of everything ever deposited would block it for good).
    function test_depositEth_afterFullWithdrawal_succeeds() public {
        uint256 big = type(uint128).max;
        vm.deal(alice, big + NEW_FEE);
        vm.prank(alice);
        rollup.depositEth{value: big + NEW_FEE}(KEY_X, KEY_Y);
        bytes memory w = withdrawRecord(1, 0, uint128(big), 0);
        (uint256 b, IRollup.DataBinding memory dcs) =
            commit(one(chunkOf(feeAccountRecord(), depositRecord(1, alice, 0, uint128(big), key()), w)));
        finalize(b, dcs, 1);
        IRollup.Withdrawal[] memory ws = new IRollup.Withdrawal[](1);
        ws[0] = IRollup.Withdrawal({accountId: 1, token: 0, amount: uint128(big)});
        rollup.executeBatch(b, ws);
        assertEq(rollup.outstanding(0), 0);
        depositEthAs(bob, 1);
        assertEq(rollup.outstanding(0), 1);
    }

    /// @dev Every small-order point (from the core's keys.json) is refused as a new account's key; honest keys
    ///      are accepted.
    function test_depositEth_smallOrderKey_reverts() public {
        string memory json = Vectors.read("keys.json");
        uint256 n = Vectors.count(json, ".smallOrder");
        assertEq(n, 8);
        for (uint256 i = 0; i < n; ++i) {
            string memory k = string.concat(".smallOrder[", vm.toString(i), "].");
            uint256 x = uint256(vm.parseJsonBytes32(json, string.concat(k, "x")));
            uint256 y = uint256(vm.parseJsonBytes32(json, string.concat(k, "y")));
            vm.expectRevert(abi.encodeWithSelector(IRollup.InvalidPublicKey.selector, x, y));
            vm.prank(alice);
            rollup.depositEth{value: 1 + NEW_FEE}(x, y);
        }
        uint256 m = Vectors.count(json, ".valid");
        for (uint256 i = 0; i < m; ++i) {
            string memory k = string.concat(".valid[", vm.toString(i), "].");
            uint256 x = uint256(vm.parseJsonBytes32(json, string.concat(k, "x")));
            uint256 y = uint256(vm.parseJsonBytes32(json, string.concat(k, "y")));
            assertEq(
                BabyJubjub.compress(x, y), vm.parseJsonBytes32(json, string.concat(k, "compressed")), "compression"
            );
            address who = address(uint160(0x1000 + i));
            vm.deal(who, 1 + NEW_FEE);
            vm.prank(who);
            rollup.depositEth{value: 1 + NEW_FEE}(x, y);
        }
    }

    function test_depositEth_inEscapeMode_reverts() public {
        vm.warp(block.timestamp + C.REQUEST_DEADLINE_MAX + 1);
        rollup.activateEscapeMode();
        vm.expectRevert(IRollup.EscapeModeActive.selector);
        vm.prank(alice);
        rollup.depositEth{value: 1 + NEW_FEE}(KEY_X, KEY_Y);
    }

    function testFuzz_depositEth_recordsExactRequest(uint128 amount, uint8 keyChoice) public {
        vm.deal(alice, uint256(amount) + NEW_FEE);
        (uint256 x, uint256 y) = keyChoice % 2 == 0 ? (KEY_X, KEY_Y) : (0, 0);
        vm.prank(alice);
        rollup.depositEth{value: uint256(amount) + NEW_FEE}(x, y);
        bytes32 k = BabyJubjub.compress(x, y);
        assertEq(rollup.request(1).recordHash, keccak256(depositRecord(1, alice, 0, amount, k)));
        assertEq(rollup.outstanding(0), amount);
    }

    function test_depositEth_allAccountIdsTaken_reverts() public {
        // Storage slot 5 holds the length of the account-owner array (`forge inspect Rollup storageLayout`).
        vm.store(address(rollup), bytes32(uint256(5)), bytes32(uint256(C.MAX_ACCOUNTS)));
        assertEq(rollup.accountCount(), C.MAX_ACCOUNTS);
        vm.expectRevert(IRollup.TooManyAccounts.selector);
        vm.prank(alice);
        rollup.depositEth{value: 1 + NEW_FEE}(KEY_X, KEY_Y);
    }

    // depositErc20 -----------------------------------------------------------------------------------

    function test_depositErc20_registeredToken_succeeds() public {
        vm.prank(alice);
        rollup.depositErc20{value: NEW_FEE}(address(token), 500, KEY_X, KEY_Y);
        assertEq(token.balanceOf(address(rollup)), 500);
        assertEq(rollup.request(1).recordHash, keccak256(depositRecord(1, alice, tokenId, 500, key())));
    }

    function test_depositErc20_feeOnTransfer_creditsReceived_succeeds() public {
        FeeOnTransferERC20 fot = new FeeOnTransferERC20();
        vm.prank(owner);
        uint8 fid = rollup.registerToken(address(fot));
        fot.mint(alice, 1000);
        vm.startPrank(alice);
        fot.approve(address(rollup), 1000);
        rollup.depositErc20{value: NEW_FEE}(address(fot), 1000, KEY_X, KEY_Y);
        vm.stopPrank();
        assertEq(rollup.request(1).recordHash, keccak256(depositRecord(1, alice, fid, 990, key())));
        assertEq(rollup.outstanding(fid), 990);
    }

    function test_depositErc20_noReturnToken_succeeds() public {
        NoReturnERC20 t = new NoReturnERC20();
        vm.prank(owner);
        uint8 tid = rollup.registerToken(address(t));
        t.mint(alice, 10);
        vm.prank(alice);
        rollup.depositErc20{value: NEW_FEE}(address(t), 10, 0, 0);
        assertEq(t.balanceOf(address(rollup)), 10);
        assertEq(rollup.request(1).recordHash, keccak256(depositRecord(1, alice, tid, 10, bytes32(0))));
    }

    function test_depositErc20_unregistered_reverts() public {
        MockERC20 other = new MockERC20();
        vm.expectRevert(abi.encodeWithSelector(IRollup.UnknownToken.selector, address(other)));
        vm.prank(alice);
        rollup.depositErc20{value: NEW_FEE}(address(other), 1, KEY_X, KEY_Y);
    }

    function test_depositErc20_eth_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IRollup.UnknownToken.selector, address(0)));
        vm.prank(alice);
        rollup.depositErc20{value: NEW_FEE}(address(0), 1, KEY_X, KEY_Y);
    }

    function test_depositErc20_insufficientAllowance_reverts() public {
        address poor = makeAddr("poor");
        vm.deal(poor, NEW_FEE);
        vm.expectRevert(abi.encodeWithSelector(SafeTransfer.TransferFailed.selector, address(token)));
        vm.prank(poor);
        rollup.depositErc20{value: NEW_FEE}(address(token), 1, KEY_X, KEY_Y);
    }

    function test_depositErc20_tokenWithoutCode_reverts() public {
        address ghost = address(0x1234);
        vm.prank(owner);
        rollup.registerToken(ghost);
        vm.expectRevert(abi.encodeWithSelector(SafeTransfer.TransferFailed.selector, ghost));
        vm.prank(alice);
        rollup.depositErc20{value: NEW_FEE}(ghost, 1, KEY_X, KEY_Y);
    }

    // registerToken ----------------------------------------------------------------------------------

    function test_registerToken_assignsNextId_succeeds() public {
        MockERC20 t = new MockERC20();
        vm.expectEmit(address(rollup));
        emit IRollup.TokenRegistered(2, address(t));
        vm.prank(owner);
        assertEq(rollup.registerToken(address(t)), 2);
        assertEq(rollup.tokenOf(2), address(t));
        assertEq(rollup.tokenOf(0), address(0));
    }

    function test_registerToken_twice_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IRollup.TokenAlreadyRegistered.selector, address(token)));
        vm.prank(owner);
        rollup.registerToken(address(token));
    }

    function test_registerToken_zero_reverts() public {
        vm.expectRevert(IRollup.ZeroAddress.selector);
        vm.prank(owner);
        rollup.registerToken(address(0));
    }

    function test_registerToken_notOwner_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IRollup.NotOwner.selector, alice));
        vm.prank(alice);
        rollup.registerToken(address(1));
    }

    function test_registerToken_full_reverts() public {
        vm.startPrank(owner);
        for (uint256 i = rollup.tokenCount(); i < C.MAX_TOKENS; ++i) {
            rollup.registerToken(address(uint160(0x1000 + i)));
        }
        vm.expectRevert(IRollup.TooManyTokens.selector);
        rollup.registerToken(address(0xdead));
        vm.stopPrank();
    }

    function test_tokenOf_unknown_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IRollup.UnknownTokenId.selector, 9));
        rollup.tokenOf(9);
    }

    // forced exits and key changes -------------------------------------------------------------------

    function test_requestForcedExit_queuesPrefix_succeeds() public {
        depositEthAs(alice, 1 ether);
        vm.prank(alice);
        rollup.requestForcedExit{value: FEE}(tokenId);
        assertEq(rollup.request(2).recordHash, keccak256(abi.encodePacked(C.TYPE_FORCED_EXIT, uint24(1), tokenId)));
        // Third request of this block: two spacings after the first one's earliest deadline.
        assertEq(rollup.request(2).deadline, block.timestamp + C.REQUEST_DEADLINE + 2 * C.REQUEST_SPACING);
        assertEq(rollup.request(2).queuedAt, block.timestamp);
    }

    function test_requestForcedExit_noAccount_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IRollup.NoAccount.selector, bob));
        vm.prank(bob);
        rollup.requestForcedExit{value: FEE}(0);
    }

    function test_requestForcedExit_unknownToken_reverts() public {
        depositEthAs(alice, 1);
        vm.expectRevert(abi.encodeWithSelector(IRollup.UnknownTokenId.selector, 200));
        vm.prank(alice);
        rollup.requestForcedExit{value: FEE}(200);
    }

    function test_requestForcedExit_inEscapeMode_reverts() public {
        depositEthAs(alice, 1);
        vm.warp(block.timestamp + C.REQUEST_DEADLINE_MAX + 1);
        rollup.activateEscapeMode();
        vm.expectRevert(IRollup.EscapeModeActive.selector);
        vm.prank(alice);
        rollup.requestForcedExit{value: FEE}(0);
    }

    function test_requestKeyChange_queuesRecord_succeeds() public {
        depositEthAs(alice, 1);
        vm.prank(alice);
        rollup.requestKeyChange{value: FEE}(0, 0);
        assertEq(rollup.request(2).recordHash, keccak256(changeKeyRecord(1, bytes32(0))));
    }

    function test_requestKeyChange_invalidKey_reverts() public {
        depositEthAs(alice, 1);
        vm.expectRevert(abi.encodeWithSelector(IRollup.InvalidPublicKey.selector, 3, 3));
        vm.prank(alice);
        rollup.requestKeyChange{value: FEE}(3, 3);
    }

    /// @dev (1/√a, 0) has an even x: without the small-order check it compressed to the all-zero "no key".
    function test_requestKeyChange_smallOrderKey_reverts() public {
        depositEthAs(alice, 1);
        string memory json = Vectors.read("keys.json");
        for (uint256 i = 0; i < 8; ++i) {
            string memory k = string.concat(".smallOrder[", vm.toString(i), "].");
            uint256 x = uint256(vm.parseJsonBytes32(json, string.concat(k, "x")));
            uint256 y = uint256(vm.parseJsonBytes32(json, string.concat(k, "y")));
            vm.expectRevert(abi.encodeWithSelector(IRollup.InvalidPublicKey.selector, x, y));
            vm.prank(alice);
            rollup.requestKeyChange{value: FEE}(x, y);
        }
        assertEq(rollup.totalRequests(), 2);
    }

    function test_requestKeyChange_noAccount_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IRollup.NoAccount.selector, bob));
        vm.prank(bob);
        rollup.requestKeyChange{value: FEE}(KEY_X, KEY_Y);
    }

    // withdrawPending --------------------------------------------------------------------------------

    /// @dev Credits `amount` of token `tid` to alice's pending balance through a real withdrawal batch.
    function _creditAlice(uint8 tid, uint128 amount) internal {
        if (tid == 0) {
            depositEthAs(alice, amount);
        } else {
            vm.prank(alice);
            rollup.depositErc20{value: NEW_FEE}(address(token), amount, KEY_X, KEY_Y);
        }
        (uint256 b, IRollup.DataBinding memory dcs) = commit(
            one(
                chunkOf(
                    feeAccountRecord(), depositRecord(1, alice, tid, amount, key()), withdrawRecord(1, tid, amount, 0)
                )
            )
        );
        finalize(b, dcs, 3);
        IRollup.Withdrawal[] memory ws = new IRollup.Withdrawal[](1);
        ws[0] = IRollup.Withdrawal(1, tid, amount);
        rollup.executeBatch(b, ws);
    }

    function test_withdrawPending_ethToAnyAddress_succeeds() public {
        _creditAlice(0, 3 ether);
        address to = makeAddr("cold wallet");
        vm.expectEmit(address(rollup));
        emit IRollup.Withdrawn(alice, 0, to, 3 ether);
        vm.prank(alice);
        rollup.withdrawPending(0, to);
        assertEq(to.balance, 3 ether);
        assertEq(rollup.pending(alice, 0), 0);
    }

    function test_withdrawPending_erc20_succeeds() public {
        _creditAlice(tokenId, 700);
        vm.prank(alice);
        rollup.withdrawPending(tokenId, bob);
        assertEq(token.balanceOf(bob), 1e30 + 700);
    }

    function test_withdrawPending_nothing_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IRollup.NothingToWithdraw.selector, alice, 0));
        vm.prank(alice);
        rollup.withdrawPending(0, alice);
    }

    function test_withdrawPending_zeroRecipient_reverts() public {
        vm.expectRevert(IRollup.ZeroAddress.selector);
        vm.prank(alice);
        rollup.withdrawPending(0, address(0));
    }

    function test_withdrawPending_rejectingRecipient_keepsFunds_reverts() public {
        _creditAlice(0, 1 ether);
        EthRejecter rejecter = new EthRejecter();
        vm.expectRevert(abi.encodeWithSelector(SafeTransfer.EthSendFailed.selector, address(rejecter), 1 ether));
        vm.prank(alice);
        rollup.withdrawPending(0, address(rejecter));
        // Nothing lost: the owner pulls to another address.
        assertEq(rollup.pending(alice, 0), 1 ether);
        vm.prank(alice);
        rollup.withdrawPending(0, bob);
        assertEq(rollup.pending(alice, 0), 0);
    }

    function test_withdrawPending_falseReturningToken_reverts() public {
        FalseReturningERC20 t = new FalseReturningERC20();
        vm.prank(owner);
        uint8 tid = rollup.registerToken(address(t));
        t.mint(alice, 5);
        vm.startPrank(alice);
        t.approve(address(rollup), 5);
        rollup.depositErc20{value: NEW_FEE}(address(t), 5, KEY_X, KEY_Y);
        vm.stopPrank();
        (uint256 b, IRollup.DataBinding memory dcs) = commit(
            one(chunkOf(feeAccountRecord(), depositRecord(1, alice, tid, 5, key()), withdrawRecord(1, tid, 5, 0)))
        );
        finalize(b, dcs, 3);
        IRollup.Withdrawal[] memory ws = new IRollup.Withdrawal[](1);
        ws[0] = IRollup.Withdrawal(1, tid, 5);
        rollup.executeBatch(b, ws);
        vm.expectRevert(abi.encodeWithSelector(SafeTransfer.TransferFailed.selector, address(t)));
        vm.prank(alice);
        rollup.withdrawPending(tid, alice);
        assertEq(rollup.pending(alice, tid), 5);
    }

    function test_withdrawPending_reentrancy_reverts() public {
        Reenterer r = new Reenterer(rollup);
        vm.deal(address(r), 1 ether);
        r.deposit{value: 1 ether}();
        (uint256 b, IRollup.DataBinding memory dcs) = commit(
            one(
                chunkOf(
                    feeAccountRecord(),
                    depositRecord(1, address(r), 0, 1 ether, bytes32(0)),
                    withdrawRecord(1, 0, 1 ether, 0)
                )
            )
        );
        finalize(b, dcs, 3);
        IRollup.Withdrawal[] memory ws = new IRollup.Withdrawal[](1);
        ws[0] = IRollup.Withdrawal(1, 0, 1 ether);
        rollup.executeBatch(b, ws);
        // The nested call hits the guard; the outer send fails, and the pending balance stays.
        vm.expectRevert(abi.encodeWithSelector(SafeTransfer.EthSendFailed.selector, address(r), 1 ether));
        r.pull();
        assertEq(rollup.pending(address(r), 0), 1 ether);
    }

    // setOwner ---------------------------------------------------------------------------------------

    function test_setOwner_handsOver_succeeds() public {
        vm.prank(owner);
        rollup.setOwner(bob);
        assertEq(rollup.owner(), bob);
        vm.expectRevert(abi.encodeWithSelector(IRollup.NotOwner.selector, owner));
        vm.prank(owner);
        rollup.setOwner(alice);
    }

    function test_setOwner_zero_reverts() public {
        vm.expectRevert(IRollup.ZeroAddress.selector);
        vm.prank(owner);
        rollup.setOwner(address(0));
    }
}
