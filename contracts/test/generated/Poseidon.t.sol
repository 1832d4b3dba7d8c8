// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Poseidon} from "../../src/generated/Poseidon.sol";
import {PoseidonPermutation} from "../../src/generated/PoseidonPermutation.sol";
import {ProtocolConstants as C} from "../../src/generated/ProtocolConstants.sol";
import {Test} from "../utils/Test.sol";

/// @notice The tests every L1 form of the permutation must pass: the protocol core's vectors
///         (contracts/test/vectors/poseidon.json) and the Poseidon2 reference vector.
abstract contract PoseidonVectorsTest is Test {
    string internal json;

    function setUp() public virtual {
        json = vm.readFile("contracts/test/vectors/poseidon.json");
    }

    /// @dev The form under test.
    function _permute(uint256 a, uint256 b, uint256 c) internal view virtual returns (uint256, uint256, uint256);
    function _hash(uint256 tag, uint256[] memory inputs) internal view virtual returns (uint256);
    function _hash2(uint256 tag, uint256 a, uint256 b) internal view virtual returns (uint256);

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
            (uint256 a, uint256 b, uint256 c) = _permute(input[0], input[1], input[2]);
            assertEq(a, output[0], "s0");
            assertEq(b, output[1], "s1");
            assertEq(c, output[2], "s2");
        }
        assertGt(n, 3, "vectors read");
    }

    function test_permute_matchesReferenceVector() public view {
        // The Poseidon2 paper's reference implementation permutes [0, 1, 2] to these for this instance.
        (uint256 a, uint256 b, uint256 c) = _permute(0, 1, 2);
        assertEq(a, 0x0bb61d24daca55eebcb1929a82650f328134334da98ea4f847f760054f4a3033);
        assertEq(b, 0x303b6f7c86d043bfcbcc80214f26a30277a15d3f74ca654992defe7ff8d03570);
        assertEq(c, 0x1ed25194542b12eef8617361c3ba7c52e660b145994427cc86296242cf766ec8);
    }

    function test_hash_matchesVectors() public view {
        uint256 n;
        for (; vm.keyExistsJson(json, string.concat(".hashes[", vm.toString(n), "]")); ++n) {
            uint256 tag = vm.parseJsonUint(json, _key("hashes", n, "tag"));
            uint256[] memory inputs = _uints(vm.parseJsonBytes32Array(json, _key("hashes", n, "inputs")));
            uint256 output = uint256(vm.parseJsonBytes32(json, _key("hashes", n, "output")));
            assertEq(_hash(tag, inputs), output, "sponge");
            if (inputs.length == 2) assertEq(_hash2(tag, inputs[0], inputs[1]), output, "hash2");
        }
        assertGt(n, 5, "vectors read");
    }

    function testFuzz_hash2_equalsSpongeOfTwo(uint256 tag, uint256 a, uint256 b) public view {
        tag = bound(tag, 0, type(uint64).max);
        a = bound(a, 0, C.FIELD_MODULUS - 1);
        b = bound(b, 0, C.FIELD_MODULUS - 1);
        uint256[] memory xs = new uint256[](2);
        xs[0] = a;
        xs[1] = b;
        assertEq(_hash2(tag, a, b), _hash(tag, xs));
    }

    function testFuzz_permute_outputsAreCanonical(uint256 a, uint256 b, uint256 c) public view {
        (uint256 x, uint256 y, uint256 z) = _permute(a, b, c);
        assertLt(x, C.FIELD_MODULUS);
        assertLt(y, C.FIELD_MODULUS);
        assertLt(z, C.FIELD_MODULUS);
    }

    /// @dev Inputs act as their residues: a caller that needs canonical inputs must check them itself.
    function testFuzz_permute_takesInputsModuloTheField(uint256 a) public view {
        a = bound(a, 0, type(uint256).max - C.FIELD_MODULUS);
        (uint256 x,,) = _permute(a, 1, 2);
        (uint256 y,,) = _permute(a + C.FIELD_MODULUS, 1, 2);
        assertEq(x, y);
    }
}

/// @notice The generated Yul library `Poseidon`.
contract PoseidonTest is PoseidonVectorsTest {
    function _permute(uint256 a, uint256 b, uint256 c) internal pure override returns (uint256, uint256, uint256) {
        return Poseidon.permute(a, b, c);
    }

    function _hash(uint256 tag, uint256[] memory inputs) internal pure override returns (uint256) {
        return Poseidon.hash(tag, inputs);
    }

    function _hash2(uint256 tag, uint256 a, uint256 b) internal pure override returns (uint256) {
        return Poseidon.hash2(tag, a, b);
    }
}

/// @dev External entry point, so that a revert inside the library is a revert of one call.
contract PermutationCaller {
    function permute(address permutation, uint256 a, uint256 b, uint256 c)
        external
        view
        returns (uint256, uint256, uint256)
    {
        return PoseidonPermutation.permute(permutation, a, b, c);
    }
}

/// @notice The generated permutation contract (hand-scheduled bytecode) against the same vectors, and against
///         the Yul `Poseidon`, which the same core generates.
contract PoseidonPermutationTest is PoseidonVectorsTest {
    address internal permutation;
    PermutationCaller internal caller;

    function setUp() public override {
        super.setUp();
        permutation = PoseidonPermutation.deploy();
        caller = new PermutationCaller();
    }

    function _permute(uint256 a, uint256 b, uint256 c) internal view override returns (uint256, uint256, uint256) {
        return PoseidonPermutation.permute(permutation, a, b, c);
    }

    function _hash(uint256 tag, uint256[] memory inputs) internal view override returns (uint256) {
        return PoseidonPermutation.hash(permutation, tag, inputs);
    }

    function _hash2(uint256 tag, uint256 a, uint256 b) internal view override returns (uint256) {
        return PoseidonPermutation.hash2(permutation, tag, a, b);
    }

    /// @dev Any 256-bit inputs, reduced or not: the bytecode and the Yul agree.
    function testFuzz_permute_equalsYul(uint256 a, uint256 b, uint256 c) public view {
        (uint256 x0, uint256 x1, uint256 x2) = _permute(a, b, c);
        (uint256 y0, uint256 y1, uint256 y2) = Poseidon.permute(a, b, c);
        assertEq(x0, y0);
        assertEq(x1, y1);
        assertEq(x2, y2);
    }

    /// @dev The largest inputs stress every unreduced sum the generator allowed.
    function test_permute_largestInputs_equalsYul() public view {
        uint256 m = type(uint256).max;
        uint256 r = C.FIELD_MODULUS - 1;
        uint256[3][4] memory cases = [[m, m, m], [r, r, r], [m, r, uint256(0)], [uint256(0), 0, 0]];
        for (uint256 i = 0; i < cases.length; ++i) {
            (uint256 x0, uint256 x1, uint256 x2) = _permute(cases[i][0], cases[i][1], cases[i][2]);
            (uint256 y0, uint256 y1, uint256 y2) = Poseidon.permute(cases[i][0], cases[i][1], cases[i][2]);
            assertEq(x0, y0);
            assertEq(x1, y1);
            assertEq(x2, y2);
        }
    }

    /// @dev An address without code answers a static call with success and no data: that must not read as a
    ///      permutation that returns its input.
    function test_permute_noCode_reverts() public {
        vm.expectRevert();
        caller.permute(address(0xdead), 1, 2, 3);
    }

    function test_deploy_runtimeIsTheGeneratedCode() public view {
        bytes memory creation = PoseidonPermutation.CREATION_CODE;
        assertEq(permutation.code.length + 10, creation.length);
        bytes memory runtime = new bytes(creation.length - 10);
        for (uint256 i = 0; i < runtime.length; ++i) {
            runtime[i] = creation[10 + i];
        }
        assertEq(keccak256(permutation.code), keccak256(runtime));
    }
}
