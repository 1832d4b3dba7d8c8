// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {DataBinding} from "../../src/generated/DataBinding.sol";
import {ProtocolConstants as C} from "../../src/generated/ProtocolConstants.sol";
import {DataBindingHarness} from "../utils/DataBindingHarness.sol";
import {Test} from "../utils/Test.sol";

/// @notice The generated data binding against the core's vectors (pubdata.json): a chunk as a batch of its own
///         (whose challenge is the chunk formula applied to the commitment given), and a batch of two chunks.
contract DataBindingTest is Test {
    string internal json;
    DataBindingHarness internal h;
    bytes internal chunk;
    uint256 internal slots;
    uint256 internal commitment;

    function setUp() public {
        json = vm.readFile("contracts/test/vectors/pubdata.json");
        h = new DataBindingHarness();
        chunk = vm.parseJsonBytes(json, ".chunk");
        slots = vm.parseJsonUint(json, ".slots");
        commitment = uint256(vm.parseJsonBytes32(json, ".dataCommitment"));
    }

    /// @dev `chunk` as a batch of its own under `c`.
    function ev(bytes memory c, uint256 s, uint256 cm) internal view returns (uint256, uint256) {
        bytes[] memory chunks = new bytes[](1);
        chunks[0] = c;
        return h.evaluate(chunks, s, cm);
    }

    /// The batch challenge over both chunks' bytes and `C_B`, and one evaluation over both chunks' elements.
    function test_evaluate_batchOfTwo_matchesCore() public view {
        bytes[] memory chunks = vm.parseJsonBytesArray(json, ".batch.chunks");
        assertEq(chunks.length, 2);
        (uint256 z, uint256 y) = h.evaluate(chunks, slots, uint256(vm.parseJsonBytes32(json, ".batch.commitment")));
        assertEq(z, uint256(vm.parseJsonBytes32(json, ".batch.challenge")), "challenge");
        assertEq(y, uint256(vm.parseJsonBytes32(json, ".batch.evaluation")), "evaluation");
    }

    function test_evaluate_matchesCore() public view {
        (uint256 z, uint256 y) = ev(chunk, slots, commitment);
        assertEq(z, uint256(vm.parseJsonBytes32(json, ".challenge")), "challenge");
        assertEq(y, uint256(vm.parseJsonBytes32(json, ".evaluation")), "evaluation");
    }

    /// A chunk whose last record is its longest (a deposit): its last elements end where the calldata ends.
    function test_evaluate_longRecordLast_matchesCore() public view {
        bytes memory last = vm.parseJsonBytes(json, ".longLast.chunk");
        uint256 c = uint256(vm.parseJsonBytes32(json, ".longLast.dataCommitment"));
        (uint256 z, uint256 y) = ev(last, slots, c);
        assertEq(z, uint256(vm.parseJsonBytes32(json, ".longLast.challenge")), "challenge");
        assertEq(y, uint256(vm.parseJsonBytes32(json, ".longLast.evaluation")), "evaluation");
        uint256 depositLength = DataBinding.recordLength(C.TYPE_DEPOSIT);
        assertEq(uint8(last[last.length - depositLength]), C.TYPE_DEPOSIT, "a deposit ends the chunk");
    }

    /// The offsets of the records L1 acts on (requests, withdrawals) are the core's, in order.
    function test_evaluate_onchainOffsetsMatchCore() public view {
        uint256[] memory expected = vm.parseJsonUintArray(json, ".onchainOffsets");
        uint256[] memory got = h.onchainOffsets(chunk, slots);
        assertEq(got.length, expected.length, "count");
        for (uint256 i = 0; i < got.length; ++i) {
            assertEq(got[i], expected[i]);
        }
        assertTrue(expected.length > 0, "the vector has records L1 acts on");
    }

    function test_recordLength_matchesCore() public view {
        bytes[] memory records = vm.parseJsonBytesArray(json, ".records");
        assertEq(records.length, slots, "one record per slot");
        uint256 total;
        for (uint256 i = 0; i < records.length; ++i) {
            assertEq(DataBinding.recordLength(uint8(records[i][0])), records[i].length, "length table");
            total += records[i].length;
        }
        assertEq(total, chunk.length);
    }

    /// The evaluation is Σ eᵢ·zⁱ over the core's field elements (pubdata.json's `fields`).
    function test_evaluate_isThePolynomialOfTheCoreFields() public view {
        bytes32[] memory fields = vm.parseJsonBytes32Array(json, ".fields");
        (uint256 z, uint256 y) = ev(chunk, slots, commitment);
        uint256 expected;
        uint256 power = 1;
        for (uint256 i = 0; i < fields.length; ++i) {
            expected = addmod(expected, mulmod(uint256(fields[i]), power, C.FIELD_MODULUS), C.FIELD_MODULUS);
            power = mulmod(power, z, C.FIELD_MODULUS);
        }
        assertEq(y, expected);
        assertEq(fields.length, slots * C.RECORD_FIELDS);
    }

    function test_evaluate_truncatedChunk_reverts() public {
        bytes memory cut = new bytes(chunk.length - 1);
        for (uint256 i = 0; i < cut.length; ++i) {
            cut[i] = chunk[i];
        }
        vm.expectRevert(abi.encodeWithSelector(DataBinding.ChunkLengthMismatch.selector, cut.length, slots));
        ev(cut, slots, commitment);
    }

    function test_evaluate_trailingBytes_reverts() public {
        bytes memory longer = bytes.concat(chunk, hex"00");
        vm.expectRevert(abi.encodeWithSelector(DataBinding.ChunkLengthMismatch.selector, longer.length, slots));
        ev(longer, slots, commitment);
    }

    function test_evaluate_unknownType_reverts() public {
        bytes memory bad = bytes.concat(chunk);
        bad[0] = 0x09;
        vm.expectRevert(abi.encodeWithSelector(DataBinding.UnknownRecordType.selector, 0, 9));
        ev(bad, slots, commitment);
    }

    /// A byte flipped in any record's payload moves both the challenge and the evaluation; another
    /// commitment moves the challenge.
    function test_evaluate_anyFlippedByteOrCommitment_changesBinding() public view {
        (uint256 z, uint256 y) = ev(chunk, slots, commitment);
        bytes[] memory records = vm.parseJsonBytesArray(json, ".records");
        uint256 offset;
        for (uint256 i = 0; i < records.length; ++i) {
            if (records[i].length > 1) {
                bytes memory bad = bytes.concat(chunk);
                bad[offset + records[i].length - 1] ^= 0x01;
                (uint256 z2, uint256 y2) = ev(bad, slots, commitment);
                assertTrue(z2 != z && y2 != y, "a flip changes the binding");
            }
            offset += records[i].length;
        }
        (uint256 z3,) = ev(chunk, slots, commitment + 1);
        assertTrue(z3 != z, "the commitment moves the challenge");
    }

    function testFuzz_evaluate_challengeIsCanonical(uint256 c) public view {
        c = bound(c, 0, C.FIELD_MODULUS - 1);
        (uint256 z, uint256 y) = ev(chunk, slots, c);
        assertLt(z, C.FIELD_MODULUS);
        assertLt(y, C.FIELD_MODULUS);
    }
}
