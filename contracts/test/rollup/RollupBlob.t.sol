// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {DataBinding} from "../../src/generated/DataBinding.sol";
import {ProtocolConstants as C} from "../../src/generated/ProtocolConstants.sol";
import {IBatchVerifier} from "../../src/interfaces/IBatchVerifier.sol";
import {IRollup} from "../../src/interfaces/IRollup.sol";
import {Setup} from "../setup/Setup.sol";

/// @notice Batches posted in a blob (`commitBatchBlob`), against contracts/test/vectors/blob.json, which c-kzg and the
///         protocol core made (`client/l1/tests/blob_vector.rs`): two 4-slot chunks whose one record L1 acts on is a
///         withdrawal from the fee account. The point evaluation precompile checks the blob's polynomial at the
///         batch's challenge; the list of the records L1 acts on is read and evaluated at it.
contract RollupBlobTest is Setup {
    string internal json;
    bytes internal l1Records;
    bytes internal opening;
    bytes32 internal versionedHash;
    uint256 internal commitment;
    uint256 internal y;

    function setUp() public override {
        super.setUp();
        json = vm.readFile("contracts/test/vectors/blob.json");
        assertEq(vm.parseJsonUint(json, ".slots"), SLOTS, "the vector's chunks are this deployment's");
        l1Records = vm.parseJsonBytes(json, ".l1Records");
        opening = vm.parseJsonBytes(json, ".kzgOpening");
        versionedHash = vm.parseJsonBytes32(json, ".versionedHash");
        commitment = uint256(vm.parseJsonBytes32(json, ".commitment"));
        y = uint256(vm.parseJsonBytes32(json, ".blobEvaluation"));
    }

    function withBlob(bytes32 hash) internal {
        bytes32[] memory hashes = new bytes32[](1);
        hashes[0] = hash;
        vm.blobhashes(hashes);
    }

    function expected() internal view returns (IRollup.DataBinding memory) {
        return IRollup.DataBinding({
            commitment: commitment,
            challenge: uint256(vm.parseJsonBytes32(json, ".challenge")),
            l1Evaluation: uint256(vm.parseJsonBytes32(json, ".l1Evaluation")),
            blobEvaluation: y
        });
    }

    function commitBlob(bytes memory list, uint256 evaluation, bytes memory kzg) internal {
        vm.prank(sequencer);
        rollup.commitBatchBlob(nextBatch(), list, commitment, evaluation, kzg);
    }

    /// @dev L1's challenge and `Y_L1` are the core's, the blob opens at the challenge, and the withdrawal it
    ///      listed is chained for execution.
    function test_commitBatchBlob_vector_succeeds() public {
        withBlob(versionedHash);
        IRollup.DataBinding memory binding = expected();
        IRollup.Withdrawal[] memory w = new IRollup.Withdrawal[](1);
        w[0] = IRollup.Withdrawal({accountId: 0, token: 0, amount: 5});
        bytes32 withdrawals = rollup.withdrawalsHashOf(w);
        vm.expectEmit(address(rollup));
        emit IRollup.BatchCommitted(1, binding, 0, withdrawals);
        commitBlob(l1Records, y, opening);
        vm.snapshotGasLastCall("commit", "commitBatchBlob (2 chunks of 4 slots, one withdrawal listed)");
        IRollup.Batch memory b = rollup.batch(1);
        assertEq(b.bindingHash, keccak256(abi.encode(binding)));
        assertEq(b.withdrawalsHash, withdrawals);
        assertEq(b.requestsEnd, 0);
        assertEq(rollup.lastCommittedBatch(), 1);
    }

    /// @dev Finalization is the same for both commit paths: the public inputs come from the stored binding, the
    ///      blob evaluation in two halves; a binding whose evaluation is not the opened one is not the batch's.
    function test_finalizeBatch_afterBlobCommit_buildsInputsFromTheOpening_succeeds() public {
        withBlob(versionedHash);
        commitBlob(l1Records, y, opening);
        IRollup.DataBinding memory binding = expected();
        IRollup.DataBinding memory other = expected();
        other.blobEvaluation ^= 1;
        vm.expectRevert(abi.encodeWithSelector(IRollup.BatchDataMismatch.selector, 1));
        finalize(1, other, 12);
        uint256[7] memory inputs = [
            C.EMPTY_STATE_ROOT,
            uint256(12),
            binding.commitment,
            binding.challenge,
            binding.l1Evaluation,
            y % (1 << C.BLOB_EVALUATION_LOW_BITS),
            y >> C.BLOB_EVALUATION_LOW_BITS
        ];
        vm.expectCall(address(verifier), abi.encodeCall(IBatchVerifier.verifyBatch, (inputs, hex"01")));
        finalize(1, binding, 12);
        assertEq(rollup.stateRoot(), 12);
    }

    function test_commitBatchBlob_noBlob_reverts() public {
        vm.expectRevert(IRollup.NoBlob.selector);
        commitBlob(l1Records, y, opening);
    }

    function test_commitBatchBlob_wrongEvaluation_reverts() public {
        withBlob(versionedHash);
        vm.expectRevert(abi.encodeWithSelector(IRollup.BlobOpeningFailed.selector, versionedHash));
        commitBlob(l1Records, y ^ 1, opening);
        // Not below BLS12-381's modulus: the precompile refuses it too.
        vm.expectRevert(abi.encodeWithSelector(IRollup.BlobOpeningFailed.selector, versionedHash));
        commitBlob(l1Records, y + DataBinding.R_BLS, opening);
    }

    /// @dev Another transaction's blob: its versioned hash is not the opening commitment's, and the challenge moves.
    function test_commitBatchBlob_otherBlob_reverts() public {
        bytes32 other = versionedHash ^ bytes32(uint256(1));
        withBlob(other);
        vm.expectRevert(abi.encodeWithSelector(IRollup.BlobOpeningFailed.selector, other));
        commitBlob(l1Records, y, opening);
    }

    function test_commitBatchBlob_tamperedOrShortOpening_reverts() public {
        withBlob(versionedHash);
        bytes memory bad = bytes.concat(opening);
        bad[60] ^= 0x01;
        vm.expectRevert(abi.encodeWithSelector(IRollup.BlobOpeningFailed.selector, versionedHash));
        commitBlob(l1Records, y, bad);
        bytes memory short = new bytes(95);
        for (uint256 i = 0; i < short.length; ++i) {
            short[i] = opening[i];
        }
        vm.expectRevert(abi.encodeWithSelector(IRollup.BlobOpeningFailed.selector, versionedHash));
        commitBlob(l1Records, y, short);
    }

    /// @dev A listed record changed (the withdrawal's amount): the challenge moves, and the opening made for the
    ///      proof's challenge no longer holds.
    function test_commitBatchBlob_changedListedRecord_reverts() public {
        withBlob(versionedHash);
        bytes memory changed = bytes.concat(l1Records);
        changed[changed.length - 3] ^= 0x01;
        vm.expectRevert(abi.encodeWithSelector(IRollup.BlobOpeningFailed.selector, versionedHash));
        commitBlob(changed, y, opening);
    }

    function test_commitBatchBlob_malformedList_reverts() public {
        withBlob(versionedHash);
        bytes memory withdraw = new bytes(l1Records.length - 3);
        for (uint256 i = 0; i < withdraw.length; ++i) {
            withdraw[i] = l1Records[3 + i];
        }
        // A transfer is not a record L1 acts on.
        bytes memory transfer = bytes.concat(hex"000000", transferRecord(1, 2, 0, 1 ether, 1000));
        vm.expectRevert(abi.encodeWithSelector(DataBinding.BadListEntry.selector, 0));
        commitBlob(transfer, y, opening);
        // Slots out of order, a slot twice, a slot past the batch's last.
        bytes memory entry5 = bytes.concat(hex"000005", withdraw);
        bytes memory entry1 = bytes.concat(hex"000001", withdraw);
        uint256 second = entry5.length;
        vm.expectRevert(abi.encodeWithSelector(DataBinding.BadListEntry.selector, second));
        commitBlob(bytes.concat(entry5, entry1), y, opening);
        vm.expectRevert(abi.encodeWithSelector(DataBinding.BadListEntry.selector, second));
        commitBlob(bytes.concat(entry5, entry5), y, opening);
        uint256 slots = rollup.maxChunksPerBatch() * SLOTS;
        bytes memory past = bytes.concat(bytes3(uint24(slots)), withdraw);
        vm.expectRevert(abi.encodeWithSelector(DataBinding.BadListEntry.selector, 0));
        commitBlob(past, y, opening);
        // A record cut short.
        bytes memory cut = new bytes(l1Records.length - 1);
        for (uint256 i = 0; i < cut.length; ++i) {
            cut[i] = l1Records[i];
        }
        vm.expectRevert(abi.encodeWithSelector(DataBinding.BadListEntry.selector, 0));
        commitBlob(cut, y, opening);
    }

    function test_commitBatchBlob_notSequencerOrEscapeMode_reverts() public {
        withBlob(versionedHash);
        vm.expectRevert(abi.encodeWithSelector(IRollup.NotSequencer.selector, alice));
        vm.prank(alice);
        rollup.commitBatchBlob(1, l1Records, commitment, y, opening);
        vm.warp(block.timestamp + C.REQUEST_DEADLINE_MAX + 1);
        rollup.activateEscapeMode();
        vm.expectRevert(IRollup.EscapeModeActive.selector);
        commitBlob(l1Records, y, opening);
    }

    /// @dev The commit records its timestamp; the batch finalizes up to the window's last second.
    function test_finalizeBatch_blobAtWindowEnd_succeeds() public {
        withBlob(versionedHash);
        commitBlob(l1Records, y, opening);
        uint256 committedAt = block.timestamp;
        assertEq(rollup.batch(1).blobCommittedAt, committedAt);
        vm.warp(committedAt + C.BLOB_FINALIZE_WINDOW);
        finalize(1, expected(), 12);
        assertEq(rollup.lastFinalizedBatch(), 1);
    }

    /// @dev Past the window the batch can no longer finalize (its blob may leave the beacon chain before anyone
    ///      fetched it); the owner reverts it and the sequencer commits it again, with a new window.
    function test_finalizeBatch_blobWindowPassed_reverts() public {
        withBlob(versionedHash);
        commitBlob(l1Records, y, opening);
        uint256 finalizeBy = block.timestamp + C.BLOB_FINALIZE_WINDOW;
        vm.warp(finalizeBy + 1);
        vm.expectRevert(abi.encodeWithSelector(IRollup.BlobFinalizeWindowPassed.selector, 1, finalizeBy));
        finalize(1, expected(), 12);
        vm.prank(owner);
        rollup.revertBatches(0);
        commitBlob(l1Records, y, opening);
        assertEq(rollup.batch(1).blobCommittedAt, finalizeBy + 1);
        finalize(1, expected(), 12);
        assertEq(rollup.stateRoot(), 12);
    }

    /// @dev A batch in calldata carries its data on L1 for good: no window.
    function test_finalizeBatch_calldataBatchAfterWindow_succeeds() public {
        (uint256 index, IRollup.DataBinding memory binding) = commit(one(chunkOf(feeAccountRecord())));
        assertEq(rollup.batch(index).blobCommittedAt, 0);
        vm.warp(block.timestamp + C.BLOB_FINALIZE_WINDOW + 1);
        finalize(index, binding, 12);
        assertEq(rollup.lastFinalizedBatch(), index);
    }
}
