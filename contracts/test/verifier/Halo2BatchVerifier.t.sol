// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ProtocolConstants as C} from "../../src/generated/ProtocolConstants.sol";
import {IBatchVerifier} from "../../src/interfaces/IBatchVerifier.sol";
import {Halo2BatchVerifier} from "../../src/rollup/Halo2BatchVerifier.sol";
import {Test} from "../utils/Test.sol";
import {Vectors} from "../utils/Vectors.sol";

/// @notice A generated verifier behind `Halo2BatchVerifier`, on the real proofs of a fixture that `verifier-gen
///         --stage batch|compress fixtures` made, with the verifier's creation bytecode. One body for each stage L1
///         may verify: the batch proof, or its compression (the same eighteen public inputs).
abstract contract RealVerifierTest is Test {
    string internal json;
    address internal halo2;
    Halo2BatchVerifier internal verifier;
    uint256 internal batches;

    /// @dev Gas for a call expected to fail: a rejected proof can burn all the gas it is given (the generated code
    ///      hands all of it to the pairing precompile), so such calls are capped well above a valid verification.
    uint256 internal constant CAP = 2_000_000;

    /// @dev The fixture's file name under contracts/test/vectors.
    function fixture() internal pure virtual returns (string memory);

    /// @dev The `snapshots/rollup.json` entry for a real verification.
    function gasName() internal pure virtual returns (string memory);

    function setUp() public {
        json = Vectors.read(fixture());
        batches = Vectors.count(json, ".batches");
        bytes memory code = vm.parseJsonBytes(json, ".verifierBytecode");
        address deployed;
        assembly ("memory-safe") {
            deployed := create(0, add(code, 0x20), mload(code))
        }
        require(deployed != address(0), "the generated verifier deploys");
        halo2 = deployed;
        verifier = new Halo2BatchVerifier(
            halo2,
            vm.parseJsonUint(json, ".keyDigest"),
            vm.parseJsonUint(json, ".slots"),
            vm.parseJsonUint(json, ".capacity")
        );
    }

    function key(uint256 i, string memory field) internal pure returns (string memory) {
        return string.concat(".batches[", vm.toString(i), "].", field);
    }

    /// @dev `[oldStateRoot, newStateRoot, C_B, z, Y_L1, y_lo, y_hi]`: what the rollup builds from its state and
    ///      the commit.
    function inputs(uint256 i) internal view returns (uint256[7] memory out) {
        uint256[] memory b = vm.parseJsonUintArray(json, key(i, "binding"));
        require(b.length == 4, "four binding values");
        out = [
            vm.parseJsonUint(json, key(i, "oldStateRoot")),
            vm.parseJsonUint(json, key(i, "newStateRoot")),
            b[0],
            b[1],
            b[2],
            b[3] % (1 << C.BLOB_EVALUATION_LOW_BITS),
            b[3] >> C.BLOB_EVALUATION_LOW_BITS
        ];
    }

    function proof(uint256 i) internal view returns (bytes memory) {
        return vm.parseJsonBytes(json, key(i, "proof"));
    }

    function test_verifyBatch_realProofs_succeeds() public {
        assertTrue(batches >= 2, "fixture has batches");
        for (uint256 i = 0; i < batches; ++i) {
            assertTrue(verifier.verifyBatch(inputs(i), proof(i)), "real proof");
        }
        vm.snapshotGasLastCall("rollup", gasName());
    }

    /// @dev The fixture's public inputs are what the adapter passes on: the accumulator from the proof, the seven
    ///      from the caller, the key digest it pins.
    function test_verifyBatch_inputsAsTheProverExposedThem_match() public view {
        for (uint256 i = 0; i < batches; ++i) {
            uint256[] memory all = vm.parseJsonUintArray(json, key(i, "publicInputs"));
            assertEq(all.length, 12 + C.BATCH_INPUTS + 1, "twenty public inputs");
            uint256[7] memory x = inputs(i);
            for (uint256 j = 0; j < C.BATCH_INPUTS; ++j) {
                assertEq(all[12 + j], x[j], "batch input");
            }
            assertEq(all[12 + C.BATCH_INPUTS], verifier.KEY_DIGEST(), "key digest");
        }
    }

    function test_verifyBatch_flippedInput_fails() public view {
        uint256 last = batches - 1;
        for (uint256 j = 0; j < C.BATCH_INPUTS; ++j) {
            uint256[7] memory x = inputs(last);
            x[j] ^= 1;
            assertFalse(verifier.verifyBatch(x, proof(last)), "flipped public input");
        }
    }

    function test_verifyBatch_inputsOfAnotherBatch_fails() public view {
        assertFalse(verifier.verifyBatch(inputs(0), proof(batches - 1)));
    }

    /// @dev The generated verifier reduces scalars modulo r, so on its own it accepts `x + r`; the adapter does not.
    function test_verifyBatch_nonCanonicalInput_fails() public view {
        uint256 last = batches - 1;
        bytes memory p = proof(last);
        for (uint256 j = 0; j < C.BATCH_INPUTS; ++j) {
            uint256[7] memory x = inputs(last);
            if (x[j] > type(uint256).max - C.FIELD_MODULUS) continue;
            x[j] += C.FIELD_MODULUS;
            assertTrue(raw(x, verifier.KEY_DIGEST(), p), "the raw verifier reduces modulo r");
            assertFalse(verifier.verifyBatch(x, p), "non-canonical input");
        }
    }

    /// @dev An accumulator limb re-encoded as `limb + r` is the same scalar to the generated verifier; the adapter
    ///      takes limbs below 2^88 only, the range the circuit constrains them to.
    function test_verifyBatch_nonCanonicalAccumulatorLimb_fails() public view {
        uint256 last = batches - 1;
        bytes memory p = proof(last);
        bytes memory bad = bytes.concat(p);
        uint256 limb;
        assembly ("memory-safe") {
            limb := mload(add(bad, 0x20))
            mstore(
                add(bad, 0x20),
                add(limb, 21888242871839275222246405745257275088548364400416034343698204186575808495617)
            )
        }
        assertTrue(raw(inputs(last), verifier.KEY_DIGEST(), bad), "the raw verifier reduces modulo r");
        assertFalse(verifier.verifyBatch(inputs(last), bad), "non-canonical limb");
    }

    /// @dev A verifier pinning another chunk key refuses proofs aggregated under this one.
    function test_verifyBatch_otherKeyDigest_fails() public {
        Halo2BatchVerifier other = new Halo2BatchVerifier(
            halo2, verifier.KEY_DIGEST() ^ 1, vm.parseJsonUint(json, ".slots"), vm.parseJsonUint(json, ".capacity")
        );
        assertFalse(other.verifyBatch(inputs(0), proof(0)));
    }

    function test_verifyBatch_corruptedProof_fails() public view {
        uint256 last = batches - 1;
        bytes memory p = proof(last);
        // In the accumulator, at the start of the proof proper, in its middle, at its end.
        uint256[4] memory at = [uint256(31), 384, 384 + (p.length - 384) / 2, p.length - 1];
        for (uint256 j = 0; j < 4; ++j) {
            bytes memory bad = bytes.concat(p);
            bad[at[j]] ^= 0x01;
            assertFalse(verifier.verifyBatch{gas: CAP}(inputs(last), bad), "corrupted proof");
        }
    }

    function test_verifyBatch_truncatedOrEmptyProof_fails() public view {
        uint256 last = batches - 1;
        bytes memory p = proof(last);
        bytes memory short = new bytes(p.length - 32);
        for (uint256 i = 0; i < short.length; ++i) {
            short[i] = p[i];
        }
        assertFalse(verifier.verifyBatch{gas: CAP}(inputs(last), short), "truncated proof");
        assertFalse(verifier.verifyBatch(inputs(last), ""), "empty proof");
        assertFalse(verifier.verifyBatch(inputs(last), new bytes(383)), "shorter than the accumulator");
    }

    function test_constructor_nonCanonicalKeyDigest_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IBatchVerifier.NonCanonicalKeyDigest.selector, C.FIELD_MODULUS));
        new Halo2BatchVerifier(halo2, C.FIELD_MODULUS, 1, 1);
    }

    function test_constructor_noCode_reverts() public {
        address nothing = makeAddr("nothing");
        vm.expectRevert(abi.encodeWithSelector(IBatchVerifier.VerifierWithoutCode.selector, nothing));
        new Halo2BatchVerifier(nothing, 1, 1, 1);
    }

    /// @dev The fixtures' verifiers come from the development SRS, and the adapter says so.
    function test_paramsDigest_committedVerifier_isDevelopment() public view {
        assertEq(verifier.PARAMS_DIGEST(), verifier.DEVELOPMENT_PARAMS_DIGEST());
        assertTrue(verifier.usesDevelopmentParams());
    }

    /// @dev The generated verifier called directly, as the adapter would call it for `x` and `keyDigest`.
    function raw(uint256[7] memory x, uint256 keyDigest, bytes memory p) internal view returns (bool ok) {
        bytes memory accumulator = new bytes(384);
        bytes memory rest = new bytes(p.length - 384);
        for (uint256 i = 0; i < 384; ++i) {
            accumulator[i] = p[i];
        }
        for (uint256 i = 0; i < rest.length; ++i) {
            rest[i] = p[384 + i];
        }
        (ok,) = halo2.staticcall(abi.encodePacked(accumulator, x, keyDigest, rest));
    }
}

/// @notice The committed batch verifier (contracts/verifier/Halo2BatchVerifier.sol) on contracts/test/vectors/
///         batch_proofs.json: each chunk of the sample history as a batch of its own, its recursive chunk proof
///         aggregated by the batch circuit (capacity 1, k = 20).
contract Halo2BatchVerifierTest is RealVerifierTest {
    function fixture() internal pure override returns (string memory) {
        return "batch_proofs.json";
    }

    function gasName() internal pure override returns (string memory) {
        return "verifyBatch (Halo2BatchVerifier, one batch of one 1-slot chunk)";
    }
}

/// @notice The compression stage's verifier on contracts/test/vectors/compressed_proofs.json: batches of one and three
///         4-slot chunks through a tree of depth 1 (nodes of two chunk proofs, k = 20; the batch circuit over two
///         nodes, capacity 4, k = 20), each batch proof proven again by the compression circuit (k = 22).
contract Halo2CompressedVerifierTest is RealVerifierTest {
    function fixture() internal pure override returns (string memory) {
        return "compressed_proofs.json";
    }

    function gasName() internal pure override returns (string memory) {
        return "verifyBatch (compressed proof, one batch of three 4-slot chunks, tree of depth 1)";
    }
}
