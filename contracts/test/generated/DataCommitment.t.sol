// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {DataCommitment} from "../../src/generated/DataCommitment.sol";
import {Test} from "../utils/Test.sol";

/// @dev Exposes the library through external calls, so that reverts can be expected.
contract DataCommitmentHarness {
    function commit(bytes calldata chunk, uint256 slots) external pure returns (uint256) {
        return DataCommitment.commit(chunk, slots);
    }

    function recordFields(bytes calldata chunk, uint256 offset, uint256 len)
        external
        pure
        returns (uint256, uint256, uint256)
    {
        return DataCommitment.recordFields(chunk, offset, len);
    }
}

/// @notice The generated data commitment against the core's chunk vector (pubdata.json).
contract DataCommitmentTest is Test {
    string internal json;
    DataCommitmentHarness internal h;
    bytes internal chunk;
    uint256 internal slots;

    function setUp() public {
        json = vm.readFile("contracts/test/vectors/pubdata.json");
        h = new DataCommitmentHarness();
        chunk = vm.parseJsonBytes(json, ".chunk");
        slots = vm.parseJsonUint(json, ".slots");
    }

    function test_commit_matchesCore() public view {
        assertEq(h.commit(chunk, slots), uint256(vm.parseJsonBytes32(json, ".dataCommitment")));
    }

    function test_recordFields_matchCore() public view {
        bytes32[] memory fields = vm.parseJsonBytes32Array(json, ".fields");
        bytes[] memory records = vm.parseJsonBytesArray(json, ".records");
        assertEq(records.length, slots, "one record per slot");
        uint256 offset;
        for (uint256 i = 0; i < records.length; ++i) {
            assertEq(DataCommitment.recordLength(uint8(records[i][0])), records[i].length, "length table");
            (uint256 a, uint256 b, uint256 c) = h.recordFields(chunk, offset, records[i].length);
            assertEq(a, uint256(fields[3 * i]));
            assertEq(b, uint256(fields[3 * i + 1]));
            assertEq(c, uint256(fields[3 * i + 2]));
            offset += records[i].length;
        }
        assertEq(offset, chunk.length);
    }

    function test_commit_truncatedChunk_reverts() public {
        bytes memory cut = new bytes(chunk.length - 1);
        for (uint256 i = 0; i < cut.length; ++i) {
            cut[i] = chunk[i];
        }
        vm.expectRevert(abi.encodeWithSelector(DataCommitment.ChunkLengthMismatch.selector, cut.length, slots));
        h.commit(cut, slots);
    }

    function test_commit_trailingBytes_reverts() public {
        bytes memory longer = bytes.concat(chunk, hex"00");
        vm.expectRevert(abi.encodeWithSelector(DataCommitment.ChunkLengthMismatch.selector, longer.length, slots));
        h.commit(longer, slots);
    }

    function test_commit_unknownType_reverts() public {
        bytes memory bad = bytes.concat(chunk);
        bad[0] = 0x09;
        vm.expectRevert(abi.encodeWithSelector(DataCommitment.UnknownRecordType.selector, 0, 9));
        h.commit(bad, slots);
    }

    function test_commit_anyFlippedByte_changesCommitment() public view {
        uint256 good = h.commit(chunk, slots);
        // Flip a byte inside every record's payload (after its type byte) that the vector reaches.
        bytes[] memory records = vm.parseJsonBytesArray(json, ".records");
        uint256 offset;
        for (uint256 i = 0; i < records.length; ++i) {
            if (records[i].length > 1) {
                bytes memory bad = bytes.concat(chunk);
                bad[offset + records[i].length - 1] ^= 0x01;
                assertTrue(h.commit(bad, slots) != good, "flip changes the commitment");
            }
            offset += records[i].length;
        }
    }
}
