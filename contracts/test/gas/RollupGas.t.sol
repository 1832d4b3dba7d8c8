// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ProtocolConstants as C} from "../../src/generated/ProtocolConstants.sol";
import {StateProof} from "../../src/generated/StateProof.sol";
import {IProtocolHasher} from "../../src/interfaces/IProtocolHasher.sol";
import {IRollup} from "../../src/interfaces/IRollup.sol";
import {Setup} from "../setup/Setup.sol";
import {Pubdata} from "../utils/Pubdata.sol";
import {Vectors} from "../utils/Vectors.sol";

/// @notice Gas of each L1 step, one measured call per figure (snapshots/rollup.json). Finalization is
///         measured with the mock verifier, i.e. without the proof check itself.
contract RollupGasTest is Setup {
    function _transferChunk() internal pure returns (bytes memory c) {
        for (uint256 i = 0; i < SLOTS; ++i) {
            c = bytes.concat(c, transferRecord(1, 2, 0, 1 ether, 1000));
        }
    }

    function _commitTransfers(uint256 nChunks, string memory name) internal {
        // Request 0 first, so that later batches hold only L2 transactions.
        commit(one(chunkOf(feeAccountRecord())));
        bytes[] memory chunks = new bytes[](nChunks);
        for (uint256 i = 0; i < nChunks; ++i) {
            chunks[i] = _transferChunk();
        }
        uint256 commitment = commitmentOf(chunks);
        vm.prank(sequencer);
        rollup.commitBatch(nextBatch(), Pubdata.cat(chunks), commitment);
        if (bytes(name).length != 0) vm.snapshotGasLastCall("rollup", name);
    }

    function test_gas_depositEth_newAccount() public {
        vm.prank(alice);
        rollup.depositEth{value: 1 ether + NEW_FEE}(KEY_X, KEY_Y);
        vm.snapshotGasLastCall("rollup", "depositEth (new account)");
    }

    function test_gas_depositEth_existingAccount() public {
        depositEthAs(alice, 1 ether);
        vm.prank(alice);
        rollup.depositEth{value: 1 ether + FEE}(0, 0);
        vm.snapshotGasLastCall("rollup", "depositEth (existing account)");
    }

    function test_gas_depositErc20() public {
        depositEthAs(alice, 1);
        vm.prank(alice);
        rollup.depositErc20{value: FEE}(address(token), 1000, 0, 0);
        vm.snapshotGasLastCall("rollup", "depositErc20 (existing account)");
    }

    function test_gas_requestForcedExit() public {
        depositEthAs(alice, 1);
        vm.prank(alice);
        rollup.requestForcedExit{value: FEE}(0);
        vm.snapshotGasLastCall("rollup", "requestForcedExit");
    }

    function test_gas_commitBatch_1chunk() public {
        _commitTransfers(1, "commitBatch (1 chunk of 4 transfers)");
    }

    function test_gas_commitBatch_4chunks() public {
        _commitTransfers(4, "commitBatch (4 chunks, 16 transfers)");
    }

    function test_gas_commitBatch_16chunks() public {
        _commitTransfers(16, "commitBatch (16 chunks, 64 transfers)");
    }

    function _finalize(uint256 nChunks, string memory name) internal {
        _commitTransfers(nChunks, "");
        bytes[] memory first = one(chunkOf(feeAccountRecord()));
        finalize(1, bindingOf(first, commitmentOf(first)), 1);
        bytes[] memory chunks = new bytes[](nChunks);
        for (uint256 i = 0; i < nChunks; ++i) {
            chunks[i] = _transferChunk();
        }
        IRollup.DataBinding memory dcs = bindingOf(chunks, commitmentOf(chunks));
        // One proof whatever the batch's size.
        rollup.finalizeBatch(2, dcs, 100, new bytes(1000));
        vm.snapshotGasLastCall("rollup", name);
    }

    function test_gas_finalizeBatch_1chunk() public {
        _finalize(1, "finalizeBatch (1 chunk, verifier excluded)");
    }

    function test_gas_finalizeBatch_4chunks() public {
        _finalize(4, "finalizeBatch (4 chunks, verifier excluded)");
    }

    function test_gas_executeAndWithdraw() public {
        depositEthAs(alice, 5 ether);
        (uint256 b, IRollup.DataBinding memory dcs) = commit(
            one(
                chunkOf(
                    feeAccountRecord(), depositRecord(1, alice, 0, 5 ether, key()), withdrawRecord(1, 0, 2 ether, 0)
                )
            )
        );
        finalize(b, dcs, 7);
        IRollup.Withdrawal[] memory ws = new IRollup.Withdrawal[](1);
        ws[0] = IRollup.Withdrawal(1, 0, 2 ether);
        rollup.executeBatch(b, ws);
        vm.snapshotGasLastCall("rollup", "executeBatch (1 withdrawal)");
        vm.prank(alice);
        rollup.withdrawPending(0, alice);
        vm.snapshotGasLastCall("rollup", "withdrawPending (ETH)");
    }

    function test_gas_escape() public {
        string memory json = Vectors.read("state.json");
        (uint256 b, IRollup.DataBinding memory dcs) = commit(one(chunkOf(feeAccountRecord())));
        finalize(b, dcs, uint256(vm.parseJsonBytes32(json, ".root")));
        depositEthAs(alice, 1 ether);
        vm.deal(address(rollup), 100 ether);
        vm.warp(block.timestamp + C.REQUEST_DEADLINE_MAX + 1);
        rollup.activateEscapeMode();
        vm.snapshotGasLastCall("rollup", "activateEscapeMode");
        StateProof.BalanceProof memory p = Vectors.balanceProof(json, 0);
        // As in a transaction of its own: every account and slot the escape touches starts cold.
        address hasher = address(rollup.hasher());
        vm.cool(address(rollup));
        vm.cool(hasher);
        vm.cool(IProtocolHasher(hasher).permutation());
        vm.cool(p.account.owner);
        rollup.escape(p);
        uint256 execution = vm.snapshotGasLastCall("rollup", "escape (ETH, one balance proof)");
        // Issue 15's goal: at most 400k gas as a transaction.
        uint256 transaction = txGas(abi.encodeCall(rollup.escape, (p)), execution);
        vm.snapshotValue("rollup", "escape (ETH, one balance proof): transaction", transaction);
        assertLe(transaction, 400_000, "an escape fits 400k gas as a transaction");
        rollup.refundDeposit(1, depositRecord(1, alice, 0, 1 ether, key()));
        vm.snapshotGasLastCall("rollup", "refundDeposit");
    }
}
