// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ProtocolConstants as C} from "../../src/generated/ProtocolConstants.sol";
import {Setup} from "../setup/Setup.sol";
import {Pubdata} from "../utils/Pubdata.sol";

/// @notice `commitBatch` gas per slot for each record type, in one chunk of 4, 16 and 64 slots
///         (snapshots/commit.json): the call frame's execution gas, and the gas of the whole transaction
///         (21,000, the calldata, and the EIP-7623 floor of 10 gas per calldata token where it binds), each per
///         slot. Every measured chunk holds only records of one type; a rollup is deployed per chunk size.
contract CommitGasTest is Setup {
    enum Kind {
        Noop,
        Deposit,
        Transfer,
        Withdraw,
        ForcedExit,
        ChangeKey
    }

    string[6] internal names = ["noop", "deposit", "transfer", "withdraw", "forcedExit", "changeKey"];

    /// @dev A rollup of `slots`-slot chunks, through the production deployment script, in place of `rollup`.
    function _deploy(uint256 slots) internal {
        rollup = deploy(slots).rollup;
    }

    /// @dev A rollup of `slots`-slot chunks whose first batch, committed here, holds request 0 (the fee account) and
    ///      Alice's account 1: the measured batch is the second, as every real batch but the first.
    function _deployWithAccounts(uint256 slots) internal {
        _deploy(slots);
        depositEthAs(alice, 1 ether);
        bytes[] memory first =
            one(_padded(bytes.concat(feeAccountRecord(), depositRecord(1, alice, 0, 1 ether, key())), 2, slots));
        vm.prank(sequencer);
        rollup.commitBatch(nextBatch(), Pubdata.cat(first), commitmentOf(first));
    }

    function _padded(bytes memory body, uint256 used, uint256 slots) internal pure returns (bytes memory out) {
        out = body;
        for (uint256 i = used; i < slots; ++i) {
            out = bytes.concat(out, hex"00");
        }
    }

    /// @dev Queues the request a `kind` record consumes (from Alice, account 1) and returns the record.
    function _record(Kind kind) internal returns (bytes memory) {
        uint256 fee = rollup.requestFee(alice);
        if (kind == Kind.Deposit) {
            depositEthAs(alice, 1 ether);
            return depositRecord(1, alice, 0, 1 ether, bytes32(0));
        }
        if (kind == Kind.ForcedExit) {
            vm.prank(alice);
            rollup.requestForcedExit{value: fee}(0);
            return forcedExitRecord(1, 0, 1 ether);
        }
        if (kind == Kind.ChangeKey) {
            vm.prank(alice);
            rollup.requestKeyChange{value: fee}(KEY_X, KEY_Y);
            return changeKeyRecord(1, key());
        }
        if (kind == Kind.Transfer) return transferRecord(1, 2, 0, 1 ether, 1000);
        if (kind == Kind.Withdraw) return withdrawRecord(1, 0, 1 ether, 1000);
        return hex"00";
    }

    function _measure(Kind kind, uint256 slots, uint256 nChunks) internal {
        _deployWithAccounts(slots);

        bytes[] memory chunks = new bytes[](nChunks);
        for (uint256 c = 0; c < nChunks; ++c) {
            for (uint256 i = 0; i < slots; ++i) {
                chunks[c] = bytes.concat(chunks[c], _record(kind));
            }
        }
        uint256 commitment = commitmentOf(chunks);
        uint256 index = nextBatch();
        vm.prank(sequencer);
        rollup.commitBatch(index, Pubdata.cat(chunks), commitment);
        string memory name = string.concat(names[uint256(kind)], ", ", vm.toString(slots), "-slot chunk");
        if (nChunks > 1) name = string.concat(name, " x", vm.toString(nChunks));
        uint256 execution = vm.snapshotGasLastCall("commit", string.concat(name, ": execution"));
        uint256 transaction =
            txGas(abi.encodeCall(rollup.commitBatch, (index, Pubdata.cat(chunks), commitment)), execution);
        uint256 n = slots * nChunks;
        vm.snapshotValue("commit", string.concat(name, ": transaction"), transaction);
        vm.snapshotValue("commit", string.concat(name, ": record bytes"), chunks[0].length / slots);
        vm.snapshotValue("commit", string.concat(name, ": execution per slot"), execution / n);
        vm.snapshotValue("commit", string.concat(name, ": transaction per slot"), transaction / n);
    }

    function _sizes(Kind kind) internal {
        uint256 snap = vm.snapshotState();
        _measure(kind, 4, 1);
        vm.revertToState(snap);
        _measure(kind, 16, 1);
        vm.revertToState(snap);
        _measure(kind, 64, 1);
    }

    function test_gas_commit_noop() public {
        _sizes(Kind.Noop);
    }

    function test_gas_commit_deposit() public {
        _sizes(Kind.Deposit);
    }

    function test_gas_commit_transfer() public {
        _sizes(Kind.Transfer);
    }

    /// @dev A full batch (MAX_CHUNKS_PER_BATCH chunks) of transfers: the batch's own cost (its storage, its
    ///      event) spread over every slot.
    function test_gas_commit_transferFullBatch() public {
        uint256 snap = vm.snapshotState();
        _measure(Kind.Transfer, 4, C.MAX_CHUNKS_PER_BATCH);
        vm.revertToState(snap);
        _measure(Kind.Transfer, 16, C.MAX_CHUNKS_PER_BATCH);
        vm.revertToState(snap);
        _measure(Kind.Transfer, 64, C.MAX_CHUNKS_PER_BATCH);
    }

    /// @dev Batches of 2 and 4 chunks of transfers, 4- and 16-slot chunks: the commit's share of a transfer in the
    ///      batch sizes the aggregation benchmarks measure (docs/benchmarks.md, batch stage).
    function test_gas_commit_transferBatchOf2And4Chunks() public {
        uint256 snap = vm.snapshotState();
        uint256[2] memory sizes = [uint256(4), 16];
        for (uint256 s = 0; s < 2; ++s) {
            for (uint256 c = 2; c <= 4; c *= 2) {
                _measure(Kind.Transfer, sizes[s], c);
                vm.revertToState(snap);
            }
        }
    }

    function test_gas_commit_withdraw() public {
        _sizes(Kind.Withdraw);
    }

    function test_gas_commit_forcedExit() public {
        _sizes(Kind.ForcedExit);
    }

    function test_gas_commit_changeKey() public {
        _sizes(Kind.ChangeKey);
    }

    /// @dev A full batch of transfers posted in a blob (contracts/test/vectors/blob_transfers.json, c-kzg: 16 chunks
    ///      of 128 transfers): L1 reads none of its records, so the commit costs the same whatever the batch holds,
    ///      and its share of a transfer falls as 1 / transfers. The transaction figure adds 21,000 and the calldata
    ///      (or EIP-7623's floor); the blob's 131,072 blob gas is priced apart.
    function test_gas_commitBlob_transferFullBatch() public {
        string memory json = vm.readFile("contracts/test/vectors/blob_transfers.json");
        uint256 slots = vm.parseJsonUint(json, ".slots");
        uint256 nChunks = vm.parseJsonUint(json, ".chunks");
        assertEq(nChunks, C.MAX_CHUNKS_PER_BATCH, "a full batch");
        _deployWithAccounts(slots);

        bytes memory list = vm.parseJsonBytes(json, ".l1Records");
        assertEq(list.length, 0, "transfers only: nothing listed");
        uint256 commitment = uint256(vm.parseJsonBytes32(json, ".commitment"));
        uint256 y = uint256(vm.parseJsonBytes32(json, ".blobEvaluation"));
        bytes memory opening = vm.parseJsonBytes(json, ".kzgOpening");
        bytes32[] memory hashes = new bytes32[](1);
        hashes[0] = vm.parseJsonBytes32(json, ".versionedHash");
        vm.blobhashes(hashes);
        uint256 index = nextBatch();
        vm.prank(sequencer);
        rollup.commitBatchBlob(index, list, commitment, y, opening);
        string memory name =
            string.concat("blob, transfers, ", vm.toString(nChunks), " x ", vm.toString(slots), " slots");
        uint256 execution = vm.snapshotGasLastCall("commit", string.concat(name, ": execution"));
        uint256 transaction =
            txGas(abi.encodeCall(rollup.commitBatchBlob, (index, list, commitment, y, opening)), execution);
        uint256 n = slots * nChunks;
        vm.snapshotValue("commit", string.concat(name, ": transaction"), transaction);
        vm.snapshotValue("commit", string.concat(name, ": transaction per slot"), transaction / n);
        assertEq(rollup.lastCommittedBatch(), index);
    }
}
