// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Poseidon} from "../../src/generated/Poseidon.sol";
import {ProtocolConstants as C} from "../../src/generated/ProtocolConstants.sol";
import {Test} from "../utils/Test.sol";

/// @notice The generated Poseidon against the protocol core's vectors (contracts/test/vectors/poseidon.json).
contract PoseidonTest is Test {
    string internal json;

    function setUp() public {
        json = vm.readFile("contracts/test/vectors/poseidon.json");
    }

    function _key(string memory list, uint256 i, string memory field) internal pure returns (string memory) {
        return string.concat(".", list, "[", vm.toString(i), "].", field);
    }

    function _uints(bytes32[] memory xs) internal pure returns (uint256[] memory out) {
        out = new uint256[](xs.length);
        for (uint256 i = 0; i < xs.length; ++i) {
            out[i] = uint256(xs[i]);
        }
    }

    function test_permute_matchesVectors() public view {
        uint256 n;
        for (; vm.keyExistsJson(json, string.concat(".permutations[", vm.toString(n), "]")); ++n) {
            uint256[] memory input = _uints(vm.parseJsonBytes32Array(json, _key("permutations", n, "input")));
            uint256[] memory output = _uints(vm.parseJsonBytes32Array(json, _key("permutations", n, "output")));
            (uint256 a, uint256 b, uint256 c) = Poseidon.permute(input[0], input[1], input[2]);
            assertEq(a, output[0], "s0");
            assertEq(b, output[1], "s1");
            assertEq(c, output[2], "s2");
        }
        assertGt(n, 3, "vectors read");
    }

    function test_permute_matchesCircomlib() public pure {
        // circomlib's poseidon([1, 2]): permutation of [0, 1, 2], element 0.
        (uint256 a,,) = Poseidon.permute(0, 1, 2);
        assertEq(a, 0x115cc0f5e7d690413df64c6b9662e9cf2a3617f2743245519e19607a4417189a);
    }

    function test_hash_matchesVectors() public view {
        uint256 n;
        for (; vm.keyExistsJson(json, string.concat(".hashes[", vm.toString(n), "]")); ++n) {
            uint256 tag = vm.parseJsonUint(json, _key("hashes", n, "tag"));
            uint256[] memory inputs = _uints(vm.parseJsonBytes32Array(json, _key("hashes", n, "inputs")));
            uint256 output = uint256(vm.parseJsonBytes32(json, _key("hashes", n, "output")));
            assertEq(Poseidon.hash(tag, inputs), output, "sponge");
            if (inputs.length == 2) assertEq(Poseidon.hash2(tag, inputs[0], inputs[1]), output, "hash2");
        }
        assertGt(n, 5, "vectors read");
    }

    function testFuzz_hash2_equalsSpongeOfTwo(uint256 tag, uint256 a, uint256 b) public pure {
        tag = bound(tag, 0, type(uint64).max);
        a = bound(a, 0, C.FIELD_MODULUS - 1);
        b = bound(b, 0, C.FIELD_MODULUS - 1);
        uint256[] memory xs = new uint256[](2);
        xs[0] = a;
        xs[1] = b;
        assertEq(Poseidon.hash2(tag, a, b), Poseidon.hash(tag, xs));
    }

    function testFuzz_permute_outputsAreCanonical(uint256 a, uint256 b, uint256 c) public pure {
        (uint256 x, uint256 y, uint256 z) = Poseidon.permute(a, b, c);
        assertLt(x, C.FIELD_MODULUS);
        assertLt(y, C.FIELD_MODULUS);
        assertLt(z, C.FIELD_MODULUS);
    }

    /// @dev Inputs act as their residues: a caller that needs canonical inputs must check them itself.
    function testFuzz_permute_takesInputsModuloTheField(uint256 a) public pure {
        a = bound(a, 0, type(uint256).max - C.FIELD_MODULUS);
        (uint256 x,,) = Poseidon.permute(a, 1, 2);
        (uint256 y,,) = Poseidon.permute(a + C.FIELD_MODULUS, 1, 2);
        assertEq(x, y);
    }
}
