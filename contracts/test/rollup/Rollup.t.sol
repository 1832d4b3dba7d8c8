// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {DataBinding} from "../../src/generated/DataBinding.sol";
import {ProtocolConstants as C} from "../../src/generated/ProtocolConstants.sol";
import {IBatchVerifier} from "../../src/interfaces/IBatchVerifier.sol";
import {IRollup} from "../../src/interfaces/IRollup.sol";
import {Rollup} from "../../src/rollup/Rollup.sol";
import {MockBatchVerifier} from "../mocks/MockBatchVerifier.sol";
import {Setup} from "../setup/Setup.sol";
import {DataBindingHarness} from "../utils/DataBindingHarness.sol";
import {Pubdata} from "../utils/Pubdata.sol";

/// @notice Commit, finalize, execute and revert of batches.
contract RollupTest is Setup {
    function test_constructor_genesis_succeeds() public view {
        assertEq(rollup.stateRoot(), C.EMPTY_STATE_ROOT);
        assertEq(rollup.CHUNK_SLOTS(), SLOTS);
        assertEq(rollup.totalRequests(), 1, "fee account request");
        assertEq(rollup.ownerOf(0), feeRecipient);
        assertEq(rollup.request(0).recordHash, keccak256(feeAccountRecord()));
        assertEq(rollup.governance(), address(timelock));
        assertEq(rollup.sequencer(), sequencer);
        assertEq(rollup.owner(), owner);
    }

    // commitBatch ------------------------------------------------------------------------------------

    function test_commitBatch_consumesRequestsInOrder_succeeds() public {
        depositEthAs(alice, 1 ether);
        (uint256 b, IRollup.DataBinding memory dcs) =
            commit(one(chunkOf(feeAccountRecord(), depositRecord(1, alice, 0, 1 ether, key()))));
        assertEq(b, 1);
        assertEq(rollup.committedRequests(), 2);
        assertEq(rollup.finalizedRequests(), 0);
        IRollup.Batch memory batch = rollup.batch(1);
        assertEq(batch.bindingHash, keccak256(abi.encode(dcs)));
        assertEq(batch.requestsEnd, 2);
        assertEq(batch.withdrawalsHash, bytes32(0));
    }

    function test_commitBatch_emitsBinding_succeeds() public {
        bytes[] memory chunks = one(chunkOf(feeAccountRecord()));
        uint256 commitment = commitmentOf(chunks);
        IRollup.DataBinding memory binding = bindingOf(chunks, commitment);
        vm.expectEmit(address(rollup));
        emit IRollup.BatchCommitted(1, binding, 1, bytes32(0));
        vm.prank(sequencer);
        rollup.commitBatch(nextBatch(), Pubdata.cat(chunks), commitment);
    }

    /// @dev The binding is computed from the calldata at commit: the challenge moves with the commitment and
    ///      with every byte of every chunk, so do both evaluations, and all three are canonical.
    function test_commitBatch_bindingFollowsCalldataAndCommitment_succeeds() public {
        // A deposit of 1 ether with a key reaches all three of its elements (the fee account's, of amount 0 and
        // key 0, only its first), so `Y_L1` depends on the challenge.
        bytes[] memory chunks = new bytes[](2);
        chunks[0] = chunkOf(depositRecord(1, alice, 0, 1 ether, key()), transferRecord(1, 2, 0, 1 ether, 1000));
        chunks[1] = chunkOf(transferRecord(2, 1, 0, 1 ether, 1000));
        uint256 commitment = commitmentOf(chunks);
        IRollup.DataBinding memory a = bindingOf(chunks, commitment);
        IRollup.DataBinding memory b = bindingOf(chunks, commitment + 1);
        assertTrue(a.challenge != b.challenge, "another commitment: the challenge");
        assertTrue(a.l1Evaluation != b.l1Evaluation && a.blobEvaluation != b.blobEvaluation, "the evaluations");
        chunks[1] = chunkOf(transferRecord(2, 1, 0, 1 ether, 2000));
        IRollup.DataBinding memory c = bindingOf(chunks, commitment);
        assertTrue(a.challenge != c.challenge && a.blobEvaluation != c.blobEvaluation, "another second chunk");
        assertLt(a.challenge, 1 << 253);
        assertLt(a.l1Evaluation, C.FIELD_MODULUS);
        assertLt(a.blobEvaluation, DataBinding.R_BLS);
    }

    /// @dev `Y_L1` is one polynomial over the whole batch: a deposit in the second chunk's first slot sits at
    ///      z^(3·SLOTS), and the first chunk's transfers add nothing.
    function test_commitBatch_l1EvaluationCountsSlotsAcrossChunks_succeeds() public {
        bytes[] memory chunks = new bytes[](2);
        chunks[0] = chunkOf(transferRecord(1, 2, 0, 1 ether, 1000));
        chunks[1] = chunkOf(feeAccountRecord());
        uint256 commitment = commitmentOf(chunks);
        IRollup.DataBinding memory whole = bindingOf(chunks, commitment);
        DataBindingHarness h = new DataBindingHarness();
        (uint256 deposit, uint256 records) = h.evaluate(chunks[1], whole.challenge);
        assertEq(records, SLOTS);
        uint256 stride = 1;
        for (uint256 i = 0; i < 3 * SLOTS; ++i) {
            stride = mulmod(stride, whole.challenge, C.FIELD_MODULUS);
        }
        assertEq(whole.l1Evaluation, mulmod(deposit, stride, C.FIELD_MODULUS), "Y_L1 = e(deposit)(z) z^(3 SLOTS)");
        assertEq(whole.blobEvaluation, h.blobEvaluation(Pubdata.cat(chunks), whole.challenge));
    }

    function test_commitBatch_nonCanonicalCommitment_reverts() public {
        bytes[] memory chunks = one(chunkOf(feeAccountRecord()));
        vm.expectRevert(abi.encodeWithSelector(IRollup.NonCanonicalCommitment.selector, C.FIELD_MODULUS));
        vm.prank(sequencer);
        rollup.commitBatch(nextBatch(), Pubdata.cat(chunks), C.FIELD_MODULUS);
    }

    function test_commitBatch_sameIndexTwice_reverts() public {
        bytes[] memory chunks = one(chunkOf(feeAccountRecord()));
        vm.prank(sequencer);
        rollup.commitBatch(1, Pubdata.cat(chunks), commitmentOf(chunks));
        // The same commit sent again (a resend after a reorg, or under a second nonce) must not append batch 2.
        bytes[] memory noops = one(chunkOf(hex"00"));
        vm.expectRevert(abi.encodeWithSelector(IRollup.UnexpectedBatchIndex.selector, 1, 2));
        vm.prank(sequencer);
        rollup.commitBatch(1, Pubdata.cat(noops), commitmentOf(noops));
        assertEq(rollup.lastCommittedBatch(), 1);
    }

    function test_commitBatch_skipsAnIndex_reverts() public {
        bytes[] memory chunks = one(chunkOf(feeAccountRecord()));
        vm.expectRevert(abi.encodeWithSelector(IRollup.UnexpectedBatchIndex.selector, 2, 1));
        vm.prank(sequencer);
        rollup.commitBatch(2, Pubdata.cat(chunks), commitmentOf(chunks));
    }

    function testFuzz_commitBatch_otherIndex_reverts(uint256 index) public {
        commit(one(chunkOf(feeAccountRecord())));
        vm.assume(index != 2);
        bytes[] memory noops = one(chunkOf(hex"00"));
        vm.expectRevert(abi.encodeWithSelector(IRollup.UnexpectedBatchIndex.selector, index, 2));
        vm.prank(sequencer);
        rollup.commitBatch(index, Pubdata.cat(noops), commitmentOf(noops));
    }

    function test_commitBatch_notSequencer_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IRollup.NotSequencer.selector, alice));
        vm.prank(alice);
        bytes[] memory chunks = one(chunkOf(feeAccountRecord()));
        rollup.commitBatch(nextBatch(), Pubdata.cat(chunks), commitmentOf(chunks));
    }

    function test_commitBatch_noChunks_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IRollup.BadChunkCount.selector, 0));
        vm.prank(sequencer);
        rollup.commitBatch(nextBatch(), Pubdata.cat(new bytes[](0)), commitmentOf(new bytes[](0)));
    }

    function test_commitBatch_tooManyChunks_reverts() public {
        bytes[] memory chunks = new bytes[](rollup.maxChunksPerBatch() + 1);
        for (uint256 i = 0; i < chunks.length; ++i) {
            chunks[i] = chunkOf(hex"00");
        }
        vm.expectRevert(abi.encodeWithSelector(IRollup.BadChunkCount.selector, chunks.length));
        vm.prank(sequencer);
        rollup.commitBatch(nextBatch(), Pubdata.cat(chunks), commitmentOf(chunks));
    }

    function test_commitBatch_requestOutOfOrder_reverts() public {
        depositEthAs(alice, 1 ether);
        // Skips request 0 (the fee account) and processes request 1 first.
        bytes memory c = chunkOf(depositRecord(1, alice, 0, 1 ether, key()));
        vm.expectRevert(abi.encodeWithSelector(IRollup.RequestMismatch.selector, 0));
        vm.prank(sequencer);
        rollup.commitBatch(nextBatch(), Pubdata.cat(one(c)), commitmentOf(one(c)));
    }

    function test_commitBatch_alteredDeposit_reverts() public {
        depositEthAs(alice, 1 ether);
        bytes memory c = chunkOf(feeAccountRecord(), depositRecord(1, alice, 0, 2 ether, key()));
        vm.expectRevert(abi.encodeWithSelector(IRollup.RequestMismatch.selector, 1));
        vm.prank(sequencer);
        rollup.commitBatch(nextBatch(), Pubdata.cat(one(c)), commitmentOf(one(c)));
    }

    function test_commitBatch_unqueuedRequest_reverts() public {
        bytes memory c = chunkOf(feeAccountRecord(), depositRecord(1, alice, 0, 1, key()));
        vm.expectRevert(abi.encodeWithSelector(IRollup.RequestOutOfRange.selector, 1));
        vm.prank(sequencer);
        rollup.commitBatch(nextBatch(), Pubdata.cat(one(c)), commitmentOf(one(c)));
    }

    /// @dev A batch is at most one blob's data in calldata too; the bound is checked before anything is parsed.
    function test_commitBatch_pubdataLargerThanABlob_reverts() public {
        bytes memory big = new bytes(C.MAX_BATCH_PUBDATA + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IRollup.PubdataTooLarge.selector, C.MAX_BATCH_PUBDATA + 1, C.MAX_BATCH_PUBDATA)
        );
        vm.prank(sequencer);
        rollup.commitBatch(nextBatch(), big, 1);
        // One byte less passes the bound and fails on its contents: 126,976 no-ops are more chunks than a batch.
        bytes memory atMax = new bytes(C.MAX_BATCH_PUBDATA);
        vm.expectRevert(abi.encodeWithSelector(IRollup.BadChunkCount.selector, C.MAX_BATCH_PUBDATA / SLOTS));
        vm.prank(sequencer);
        rollup.commitBatch(nextBatch(), atMax, 1);
    }

    function test_commitBatch_partialChunk_reverts() public {
        bytes memory c = bytes.concat(chunkOf(feeAccountRecord()), hex"00");
        vm.expectRevert(abi.encodeWithSelector(IRollup.PartialChunk.selector, SLOTS + 1));
        vm.prank(sequencer);
        rollup.commitBatch(nextBatch(), c, commitmentOf(one(c)));
    }

    function test_commitBatch_truncatedRecord_reverts() public {
        bytes memory whole = chunkOf(hex"00", hex"00", feeAccountRecord());
        bytes memory c = new bytes(2 + DataBinding.recordLength(C.TYPE_DEPOSIT) - 1);
        for (uint256 i = 0; i < c.length; ++i) {
            c[i] = whole[i];
        }
        // Two noops, then a deposit one byte short.
        vm.expectRevert(abi.encodeWithSelector(DataBinding.TruncatedRecord.selector, 2, c.length));
        vm.prank(sequencer);
        rollup.commitBatch(nextBatch(), c, commitmentOf(one(c)));
    }

    function test_commitBatch_withdrawalOfUnknownAccount_reverts() public {
        bytes memory c = chunkOf(feeAccountRecord(), withdrawRecord(7, 0, 1, 0));
        vm.expectRevert(abi.encodeWithSelector(IRollup.UnknownAccountId.selector, 7));
        vm.prank(sequencer);
        rollup.commitBatch(nextBatch(), Pubdata.cat(one(c)), commitmentOf(one(c)));
    }

    function test_commitBatch_inEscapeMode_reverts() public {
        vm.warp(block.timestamp + C.REQUEST_DEADLINE_MAX + 1);
        rollup.activateEscapeMode();
        vm.expectRevert(IRollup.EscapeModeActive.selector);
        vm.prank(sequencer);
        bytes[] memory chunks = one(chunkOf(feeAccountRecord()));
        rollup.commitBatch(nextBatch(), Pubdata.cat(chunks), commitmentOf(chunks));
    }

    function test_commitBatch_forcedExitAndWithdrawal_chainsWithdrawals_succeeds() public {
        depositEthAs(alice, 5 ether);
        vm.prank(alice);
        rollup.requestForcedExit{value: FEE}(0);
        bytes memory c =
            chunkOf(feeAccountRecord(), depositRecord(1, alice, 0, 5 ether, key()), withdrawRecord(1, 0, 1 ether, 0));
        bytes memory c2 = chunkOf(forcedExitRecord(1, 0, 4 ether));
        bytes[] memory chunks = new bytes[](2);
        chunks[0] = c;
        chunks[1] = c2;
        commit(chunks);
        IRollup.Withdrawal[] memory ws = new IRollup.Withdrawal[](2);
        ws[0] = IRollup.Withdrawal(1, 0, 1 ether);
        ws[1] = IRollup.Withdrawal(1, 0, 4 ether);
        assertEq(rollup.batch(1).withdrawalsHash, rollup.withdrawalsHashOf(ws));
        assertEq(rollup.committedRequests(), 3);
    }

    // finalizeBatch ----------------------------------------------------------------------------------

    function test_finalizeBatch_advancesRoot_succeeds() public {
        (uint256 b, IRollup.DataBinding memory dcs) = commit(one(chunkOf(feeAccountRecord())));
        finalize(b, dcs, 42);
        assertEq(rollup.stateRoot(), 42);
        assertEq(rollup.lastFinalizedBatch(), 1);
        assertEq(rollup.finalizedRequests(), 1);
    }

    function test_finalizeBatch_buildsPublicInputsFromStorage_succeeds() public {
        bytes[] memory chunks = new bytes[](2);
        chunks[0] = chunkOf(feeAccountRecord());
        chunks[1] = chunkOf(hex"00");
        (uint256 b, IRollup.DataBinding memory dcs) = commit(chunks);
        bytes memory proof = hex"0102";
        uint256[7] memory inputs = [
            C.EMPTY_STATE_ROOT,
            uint256(12),
            dcs.commitment,
            dcs.challenge,
            dcs.l1Evaluation,
            dcs.blobEvaluation % (1 << 176),
            dcs.blobEvaluation >> 176
        ];
        assertEq(C.BATCH_INPUTS, inputs.length, "the generated count");
        assertEq(C.BLOB_EVALUATION_LOW_BITS, 176);
        assertTrue(inputs[6] != 0 && inputs[5] != 0, "both halves used");
        vm.expectCall(address(verifier), abi.encodeCall(IBatchVerifier.verifyBatch, (inputs, proof)));
        rollup.finalizeBatch(b, dcs, 12, proof);
        assertEq(rollup.stateRoot(), 12);
    }

    function test_finalizeBatch_rejectedProof_reverts() public {
        (uint256 b, IRollup.DataBinding memory dcs) = commit(one(chunkOf(feeAccountRecord())));
        verifier.setMode(MockBatchVerifier.Mode.Reject);
        vm.expectRevert(abi.encodeWithSelector(IRollup.InvalidProof.selector, b));
        finalize(b, dcs, 42);
    }

    function test_finalizeBatch_revertingVerifier_reverts() public {
        (uint256 b, IRollup.DataBinding memory dcs) = commit(one(chunkOf(feeAccountRecord())));
        verifier.setMode(MockBatchVerifier.Mode.Revert);
        vm.expectRevert(abi.encodeWithSelector(IRollup.InvalidProof.selector, b));
        finalize(b, dcs, 42);
    }

    /// @dev A verifier whose return data is not one ABI bool (the word 2, or nothing) rejects like any other:
    ///      `InvalidProof`, never an empty revert.
    function test_finalizeBatch_verifierReturnsNonBool_reverts() public {
        (uint256 b, IRollup.DataBinding memory dcs) = commit(one(chunkOf(feeAccountRecord())));
        verifier.setMode(MockBatchVerifier.Mode.ReturnTwo);
        vm.expectRevert(abi.encodeWithSelector(IRollup.InvalidProof.selector, b));
        finalize(b, dcs, 42);
        verifier.setMode(MockBatchVerifier.Mode.ReturnNothing);
        vm.expectRevert(abi.encodeWithSelector(IRollup.InvalidProof.selector, b));
        finalize(b, dcs, 42);
        assertEq(rollup.lastFinalizedBatch(), 0);
    }

    function test_finalizeBatch_nonCanonicalRoot_reverts() public {
        (uint256 b, IRollup.DataBinding memory dcs) = commit(one(chunkOf(feeAccountRecord())));
        vm.expectRevert(abi.encodeWithSelector(IRollup.NonCanonicalRoot.selector, C.FIELD_MODULUS));
        finalize(b, dcs, C.FIELD_MODULUS);
    }

    function test_finalizeBatch_wrongCommitments_reverts() public {
        (uint256 b, IRollup.DataBinding memory dcs) = commit(one(chunkOf(feeAccountRecord())));
        dcs.commitment ^= 1;
        vm.expectRevert(abi.encodeWithSelector(IRollup.BatchDataMismatch.selector, b));
        finalize(b, dcs, 42);
    }

    /// @dev Each value of the binding is checked against the commit: the challenge or either evaluation changed
    ///      alone is refused too.
    function test_finalizeBatch_wrongChallengeOrEvaluation_reverts() public {
        (uint256 b, IRollup.DataBinding memory dcs) = commit(one(chunkOf(feeAccountRecord())));
        dcs.challenge ^= 1;
        vm.expectRevert(abi.encodeWithSelector(IRollup.BatchDataMismatch.selector, b));
        finalize(b, dcs, 42);
        dcs.challenge ^= 1;
        dcs.l1Evaluation ^= 1;
        vm.expectRevert(abi.encodeWithSelector(IRollup.BatchDataMismatch.selector, b));
        finalize(b, dcs, 42);
        dcs.l1Evaluation ^= 1;
        dcs.blobEvaluation ^= 1;
        vm.expectRevert(abi.encodeWithSelector(IRollup.BatchDataMismatch.selector, b));
        finalize(b, dcs, 42);
    }

    function test_finalizeBatch_notNext_reverts() public {
        (, IRollup.DataBinding memory dcs) = commit(one(chunkOf(feeAccountRecord())));
        vm.expectRevert(abi.encodeWithSelector(IRollup.BatchNotFinalizable.selector, 2));
        finalize(2, dcs, 42);
        vm.expectRevert(abi.encodeWithSelector(IRollup.BatchNotFinalizable.selector, 0));
        finalize(0, dcs, 42);
    }

    function test_finalizeBatch_inEscapeMode_reverts() public {
        (uint256 b, IRollup.DataBinding memory dcs) = commit(one(chunkOf(feeAccountRecord())));
        vm.warp(block.timestamp + C.REQUEST_DEADLINE_MAX + 1);
        rollup.activateEscapeMode();
        vm.expectRevert(IRollup.EscapeModeActive.selector);
        finalize(b, dcs, 42);
    }

    // executeBatch -----------------------------------------------------------------------------------

    function _batchWithWithdrawal() internal returns (uint256 b, IRollup.Withdrawal[] memory ws) {
        depositEthAs(alice, 5 ether);
        IRollup.DataBinding memory dcs;
        (b, dcs) = commit(
            one(
                chunkOf(
                    feeAccountRecord(), depositRecord(1, alice, 0, 5 ether, key()), withdrawRecord(1, 0, 2 ether, 0)
                )
            )
        );
        finalize(b, dcs, 7);
        ws = new IRollup.Withdrawal[](1);
        ws[0] = IRollup.Withdrawal(1, 0, 2 ether);
    }

    function test_executeBatch_creditsOwners_succeeds() public {
        (uint256 b, IRollup.Withdrawal[] memory ws) = _batchWithWithdrawal();
        vm.expectEmit(address(rollup));
        emit IRollup.PendingCredited(alice, 0, 2 ether);
        rollup.executeBatch(b, ws);
        assertEq(rollup.pending(alice, 0), 2 ether);
        assertTrue(rollup.batch(b).executed);
    }

    function test_executeBatch_twice_reverts() public {
        (uint256 b, IRollup.Withdrawal[] memory ws) = _batchWithWithdrawal();
        rollup.executeBatch(b, ws);
        vm.expectRevert(abi.encodeWithSelector(IRollup.BatchNotExecutable.selector, b));
        rollup.executeBatch(b, ws);
    }

    function test_executeBatch_wrongList_reverts() public {
        (uint256 b, IRollup.Withdrawal[] memory ws) = _batchWithWithdrawal();
        ws[0].amount += 1;
        vm.expectRevert(abi.encodeWithSelector(IRollup.BatchDataMismatch.selector, b));
        rollup.executeBatch(b, ws);
    }

    function test_executeBatch_unfinalized_reverts() public {
        (uint256 b,) = commit(one(chunkOf(feeAccountRecord())));
        vm.expectRevert(abi.encodeWithSelector(IRollup.BatchNotExecutable.selector, b));
        rollup.executeBatch(b, noWithdrawals());
        vm.expectRevert(abi.encodeWithSelector(IRollup.BatchNotExecutable.selector, 0));
        rollup.executeBatch(0, noWithdrawals());
    }

    function test_executeBatch_inEscapeMode_succeeds() public {
        (uint256 b, IRollup.Withdrawal[] memory ws) = _batchWithWithdrawal();
        vm.prank(alice);
        rollup.requestForcedExit{value: FEE}(0);
        vm.warp(block.timestamp + C.REQUEST_DEADLINE_MAX + 1);
        rollup.activateEscapeMode();
        rollup.executeBatch(b, ws);
        assertEq(rollup.pending(alice, 0), 2 ether);
    }

    // revertBatches ----------------------------------------------------------------------------------

    function test_revertBatches_returnsRequestsToQueue_succeeds() public {
        depositEthAs(alice, 1 ether);
        (uint256 b1, IRollup.DataBinding memory dcs) = commit(one(chunkOf(feeAccountRecord())));
        finalize(b1, dcs, 5);
        commit(one(chunkOf(depositRecord(1, alice, 0, 1 ether, key()))));
        assertEq(rollup.committedRequests(), 2);
        vm.prank(owner);
        rollup.revertBatches(1);
        assertEq(rollup.lastCommittedBatch(), 1);
        assertEq(rollup.committedRequests(), 1);
        assertEq(rollup.batch(2).bindingHash, bytes32(0));
        // The request can be committed again.
        commit(one(chunkOf(depositRecord(1, alice, 0, 1 ether, key()))));
        assertEq(rollup.lastCommittedBatch(), 2);
    }

    function test_revertBatches_finalized_reverts() public {
        (uint256 b, IRollup.DataBinding memory dcs) = commit(one(chunkOf(feeAccountRecord())));
        finalize(b, dcs, 5);
        vm.expectRevert(abi.encodeWithSelector(IRollup.NothingToRevert.selector, 0));
        vm.prank(owner);
        rollup.revertBatches(0);
        vm.expectRevert(abi.encodeWithSelector(IRollup.NothingToRevert.selector, 1));
        vm.prank(owner);
        rollup.revertBatches(1);
    }

    function test_revertBatches_notOwner_reverts() public {
        commit(one(chunkOf(feeAccountRecord())));
        vm.expectRevert(abi.encodeWithSelector(IRollup.NotOwner.selector, sequencer));
        vm.prank(sequencer);
        rollup.revertBatches(0);
    }

    function test_revertBatches_inEscapeMode_reverts() public {
        commit(one(chunkOf(feeAccountRecord())));
        vm.warp(block.timestamp + C.REQUEST_DEADLINE_MAX + 1);
        rollup.activateEscapeMode();
        vm.expectRevert(IRollup.EscapeModeActive.selector);
        vm.prank(owner);
        rollup.revertBatches(0);
    }

    // roles ------------------------------------------------------------------------------------------

    function test_setSequencer_byOwner_succeeds() public {
        vm.prank(owner);
        rollup.setSequencer(bob);
        assertEq(rollup.sequencer(), bob);
    }

    function test_setSequencer_notOwner_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IRollup.NotOwner.selector, alice));
        vm.prank(alice);
        rollup.setSequencer(bob);
    }

    function test_setSequencer_zero_reverts() public {
        vm.expectRevert(IRollup.ZeroAddress.selector);
        vm.prank(owner);
        rollup.setSequencer(address(0));
    }

    function test_setVerifier_notGovernance_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IRollup.NotGovernance.selector, owner));
        vm.prank(owner);
        rollup.setVerifier(IBatchVerifier(address(1)));
    }

    function test_setVerifier_throughTimelock_succeeds() public {
        MockBatchVerifier next = new MockBatchVerifier(SLOTS, 2);
        bytes memory data = abi.encodeCall(IRollup.setVerifier, (next));
        vm.prank(admin);
        timelock.schedule(address(rollup), 0, data, bytes32(0));
        vm.warp(block.timestamp + C.UPGRADE_DELAY);
        vm.expectEmit(address(rollup));
        emit IRollup.VerifierChanged(address(next), 2);
        timelock.execute(address(rollup), 0, data, bytes32(0));
        assertEq(address(rollup.verifier()), address(next));
        assertEq(rollup.maxChunksPerBatch(), 2, "the new verifier's capacity");
    }

    /// @dev A batch verifier for another chunk size could never verify this rollup's batches.
    function test_setVerifier_otherChunkSize_reverts() public {
        MockBatchVerifier other = new MockBatchVerifier(SLOTS + 1, 1);
        vm.expectRevert(abi.encodeWithSelector(IRollup.VerifierChunkSlotsMismatch.selector, SLOTS + 1, SLOTS));
        vm.prank(address(timelock));
        rollup.setVerifier(other);
    }

    /// @dev The batch binding's soundness bound assumes at most `MAX_CHUNKS_PER_BATCH` chunks per proof; a verifier
    ///      of capacity 0 could finalize nothing.
    function test_setVerifier_badCapacity_reverts() public {
        MockBatchVerifier none = new MockBatchVerifier(SLOTS, 0);
        vm.expectRevert(abi.encodeWithSelector(IRollup.BadVerifierCapacity.selector, 0));
        vm.prank(address(timelock));
        rollup.setVerifier(none);
        MockBatchVerifier big = new MockBatchVerifier(SLOTS, C.MAX_CHUNKS_PER_BATCH + 1);
        vm.expectRevert(abi.encodeWithSelector(IRollup.BadVerifierCapacity.selector, C.MAX_CHUNKS_PER_BATCH + 1));
        vm.prank(address(timelock));
        rollup.setVerifier(big);
    }

    /// @dev A commit never holds more chunks than the verifier can aggregate.
    function test_commitBatch_overVerifierCapacity_reverts() public {
        MockBatchVerifier small = new MockBatchVerifier(SLOTS, 1);
        vm.prank(address(timelock));
        rollup.setVerifier(small);
        bytes[] memory chunks = new bytes[](2);
        chunks[0] = chunkOf(feeAccountRecord());
        chunks[1] = chunkOf(hex"00");
        vm.expectRevert(abi.encodeWithSelector(IRollup.BadChunkCount.selector, 2));
        vm.prank(sequencer);
        rollup.commitBatch(nextBatch(), Pubdata.cat(chunks), commitmentOf(chunks));
    }

    function test_setVerifier_zero_reverts() public {
        vm.expectRevert(IRollup.ZeroAddress.selector);
        vm.prank(address(timelock));
        rollup.setVerifier(IBatchVerifier(address(0)));
    }

    function test_setVerifier_noCode_reverts() public {
        address eoa = makeAddr("not a contract");
        vm.expectRevert(abi.encodeWithSelector(IBatchVerifier.VerifierWithoutCode.selector, eoa));
        vm.prank(address(timelock));
        rollup.setVerifier(IBatchVerifier(eoa));
    }

    function test_constructor_zeroChunkSlots_reverts() public {
        Rollup.Config memory cfg = rollupConfig();
        cfg.chunkSlots = 0;
        vm.expectRevert(abi.encodeWithSelector(IRollup.BadChunkSlots.selector, 0));
        new Rollup(cfg);
    }

    /// @dev No rollup without a verifier that can run: request 0's deadline starts at deployment, and a
    ///      verifier installed later would come through the timelock after that deadline.
    function test_constructor_verifierWithoutCode_reverts() public {
        Rollup.Config memory cfg = rollupConfig();
        cfg.verifier = IBatchVerifier(makeAddr("not a contract"));
        vm.expectRevert(abi.encodeWithSelector(IBatchVerifier.VerifierWithoutCode.selector, address(cfg.verifier)));
        new Rollup(cfg);
    }

    // fuzz -------------------------------------------------------------------------------------------

    /// @dev Withdrawals and forced exits across two chunks commit the hash chain `withdrawalsHashOf`
    ///      recomputes, and executing it credits exactly those amounts to the accounts' owners.
    function testFuzz_commitBatch_withdrawalsChain(uint128[3] memory amounts) public {
        depositEthAs(alice, 1);
        vm.prank(alice);
        rollup.requestForcedExit{value: FEE}(0);
        bytes[] memory chunks = new bytes[](2);
        chunks[0] = bytes.concat(
            feeAccountRecord(),
            depositRecord(1, alice, 0, 1, key()),
            withdrawRecord(0, 0, amounts[0], 0),
            forcedExitRecord(1, 0, amounts[1])
        );
        chunks[1] = chunkOf(withdrawRecord(1, 0, amounts[2], 1));
        IRollup.Withdrawal[] memory ws = new IRollup.Withdrawal[](3);
        ws[0] = IRollup.Withdrawal(0, 0, amounts[0]);
        ws[1] = IRollup.Withdrawal(1, 0, amounts[1]);
        ws[2] = IRollup.Withdrawal(1, 0, amounts[2]);
        (uint256 b, IRollup.DataBinding memory dcs) = commit(chunks);
        assertEq(rollup.batch(b).withdrawalsHash, rollup.withdrawalsHashOf(ws));
        finalize(b, dcs, 9);
        rollup.executeBatch(b, ws);
        // The fee recipient also holds the two requests' base fees (alice's account creation, her forced exit).
        assertEq(rollup.pending(feeRecipient, 0), amounts[0] + 2 * FEE);
        assertEq(rollup.pending(alice, 0), uint256(amounts[1]) + amounts[2]);
    }

    /// @dev A forced-exit record matches its request whatever amount the transition withdrew, and only for
    ///      the token that was requested.
    function testFuzz_commitBatch_forcedExitBinding(uint128 amount, uint8 otherToken) public {
        depositEthAs(alice, 1);
        vm.prank(alice);
        rollup.requestForcedExit{value: FEE}(tokenId);
        if (otherToken != tokenId) {
            bytes memory bad = chunkOf(
                feeAccountRecord(), depositRecord(1, alice, 0, 1, key()), forcedExitRecord(1, otherToken, amount)
            );
            vm.expectRevert(abi.encodeWithSelector(IRollup.RequestMismatch.selector, 2));
            vm.prank(sequencer);
            rollup.commitBatch(nextBatch(), Pubdata.cat(one(bad)), commitmentOf(one(bad)));
        }
        commit(
            one(chunkOf(feeAccountRecord(), depositRecord(1, alice, 0, 1, key()), forcedExitRecord(1, tokenId, amount)))
        );
        assertEq(rollup.committedRequests(), 3);
    }
}
