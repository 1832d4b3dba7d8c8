// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {DataBinding} from "../../src/generated/DataBinding.sol";
import {ProtocolConstants as C} from "../../src/generated/ProtocolConstants.sol";
import {DataBindingHarness} from "../utils/DataBindingHarness.sol";
import {Test} from "../utils/Test.sol";

/// @notice The generated data binding against the core's vectors (pubdata.json): the sample chunk as a batch of its
///         own, the same records turned so that a deposit ends the calldata, and a batch of two chunks. For each, the
///         challenge, `Y_L1` (the records L1 acts on, at `z`, modulo BN254's `r`) and the blob polynomial at `z`
///         (modulo BLS12-381's `r`) are the core's.
contract DataBindingTest is Test {
    string internal json;
    DataBindingHarness internal h;
    bytes internal chunk;
    uint256 internal slots;

    function setUp() public {
        json = vm.readFile("contracts/test/vectors/pubdata.json");
        h = new DataBindingHarness();
        chunk = vm.parseJsonBytes(json, ".chunk");
        slots = vm.parseJsonUint(json, ".slots");
    }

    function bytes32At(string memory key) internal view returns (uint256) {
        return uint256(vm.parseJsonBytes32(json, key));
    }

    /// @dev The vector at `key` (`.single`, `.longLast`, `.batch`) against the library.
    function check(string memory key) internal view {
        bytes memory pubdata = vm.parseJsonBytes(json, string.concat(key, ".pubdata"));
        (uint256 z, uint256 l1, uint256 blob, uint256 records) =
            h.binding(pubdata, bytes32At(string.concat(key, ".commitment")));
        assertEq(z, bytes32At(string.concat(key, ".challenge")), "challenge");
        assertEq(l1, bytes32At(string.concat(key, ".l1Evaluation")), "Y_L1");
        assertEq(blob, bytes32At(string.concat(key, ".blobEvaluation")), "blob evaluation");
        assertEq(records, vm.parseJsonUint(json, string.concat(key, ".records")), "records");
    }

    function test_binding_oneChunk_matchesCore() public view {
        check(".single");
        assertEq(vm.parseJsonBytes(json, ".single.pubdata"), chunk, "the sample chunk");
    }

    /// A batch whose last record is its longest (a deposit): its elements and the blob's last word end where the
    /// calldata ends, so what lies past them must be masked off.
    function test_binding_longRecordLast_matchesCore() public view {
        check(".longLast");
        bytes memory last = vm.parseJsonBytes(json, ".longLast.pubdata");
        uint256 depositLength = DataBinding.recordLength(C.TYPE_DEPOSIT);
        assertEq(uint8(last[last.length - depositLength]), C.TYPE_DEPOSIT, "a deposit ends the pubdata");
        assertTrue(last.length % 31 != 0, "the last word is partial");
    }

    /// One challenge over both chunks' bytes and `C_B`, both evaluations over both chunks.
    function test_binding_batchOfTwo_matchesCore() public view {
        check(".batch");
        assertEq(vm.parseJsonUint(json, ".batch.records"), 2 * slots);
    }

    /// The offsets of the records L1 acts on (requests, withdrawals) are the core's, in order.
    function test_evaluate_onchainOffsetsMatchCore() public view {
        uint256[] memory expected = vm.parseJsonUintArray(json, ".onchainOffsets");
        uint256[] memory got = h.onchainOffsets(chunk);
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

    /// `Y_L1` is Σ eᵢ·zⁱ over the core's field elements (pubdata.json's `fields`) of the records L1 acts on.
    function test_evaluate_isThePolynomialOfTheRecordsL1ActsOn() public view {
        bytes32[] memory fields = vm.parseJsonBytes32Array(json, ".fields");
        bytes[] memory records = vm.parseJsonBytesArray(json, ".records");
        uint256 z = bytes32At(".single.challenge");
        (uint256 y,) = h.evaluate(chunk, z);
        uint256 expected;
        uint256 power = 1;
        uint256 skipped;
        for (uint256 i = 0; i < fields.length; ++i) {
            uint8 ty = uint8(records[i / C.RECORD_FIELDS][0]);
            if ((DataBinding.ONCHAIN_TYPES >> ty) & 1 == 1) {
                expected = addmod(expected, mulmod(uint256(fields[i]), power, C.FIELD_MODULUS), C.FIELD_MODULUS);
            } else if (fields[i] != 0) {
                ++skipped;
            }
            power = mulmod(power, z, C.FIELD_MODULUS);
        }
        assertEq(y, expected);
        assertEq(fields.length, slots * C.RECORD_FIELDS);
        assertTrue(skipped > 0, "the vector has records L1 does not act on");
    }

    /// The blob evaluation is Σ cₖ·zᵏ over the pubdata's 31-byte words, the last zero-padded.
    function test_blobEvaluation_isThePolynomialOfTheWords() public view {
        uint256 z = bytes32At(".single.challenge");
        uint256 expected;
        uint256 power = 1;
        for (uint256 k = 0; k * 31 < chunk.length; ++k) {
            uint256 word;
            for (uint256 j = 0; j < 31; ++j) {
                uint256 at = 31 * k + j;
                word = (word << 8) | (at < chunk.length ? uint8(chunk[at]) : 0);
            }
            expected = addmod(expected, mulmod(word, power, DataBinding.R_BLS), DataBinding.R_BLS);
            power = mulmod(power, z, DataBinding.R_BLS);
        }
        assertEq(h.blobEvaluation(chunk, z), expected);
        assertEq(h.blobEvaluation("", z), 0, "no words");
    }

    function test_evaluate_truncatedRecord_reverts() public {
        uint256 first = DataBinding.recordLength(uint8(chunk[0]));
        assertTrue(first > 1, "the sample chunk starts with a record of more than one byte");
        bytes memory cut = new bytes(first - 1);
        for (uint256 i = 0; i < cut.length; ++i) {
            cut[i] = chunk[i];
        }
        vm.expectRevert(abi.encodeWithSelector(DataBinding.TruncatedRecord.selector, 0, cut.length));
        h.evaluate(cut, 1);
    }

    function test_evaluate_unknownType_reverts() public {
        bytes memory bad = bytes.concat(chunk);
        bad[0] = 0x09;
        vm.expectRevert(abi.encodeWithSelector(DataBinding.UnknownRecordType.selector, 0, 9));
        h.evaluate(bad, 1);
    }

    /// A byte flipped in any record's payload moves the challenge and the blob evaluation; another commitment
    /// moves the challenge.
    function test_binding_anyFlippedByteOrCommitment_changesBinding() public view {
        uint256 commitment = bytes32At(".single.commitment");
        (uint256 z,, uint256 y,) = h.binding(chunk, commitment);
        bytes[] memory records = vm.parseJsonBytesArray(json, ".records");
        uint256 offset;
        for (uint256 i = 0; i < records.length; ++i) {
            if (records[i].length > 1) {
                bytes memory bad = bytes.concat(chunk);
                bad[offset + records[i].length - 1] ^= 0x01;
                (uint256 z2,, uint256 y2,) = h.binding(bad, commitment);
                assertTrue(z2 != z && y2 != y, "a flip changes the binding");
                assertTrue(h.blobEvaluation(bad, z) != y, "a flip changes the blob at the same z");
            }
            offset += records[i].length;
        }
        (uint256 z3,,,) = h.binding(chunk, commitment + 1);
        assertTrue(z3 != z, "the commitment moves the challenge");
    }

    function testFuzz_binding_challengeIsBelow2To253(uint256 c) public view {
        c = bound(c, 0, C.FIELD_MODULUS - 1);
        (uint256 z, uint256 l1, uint256 blob,) = h.binding(chunk, c);
        assertLt(z, 1 << 253);
        assertLt(l1, C.FIELD_MODULUS);
        assertLt(blob, DataBinding.R_BLS);
    }
}
