// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Deploy} from "../../../script/Deploy.s.sol";
import {ProtocolConstants as C} from "../../src/generated/ProtocolConstants.sol";
import {IChunkVerifier} from "../../src/interfaces/IChunkVerifier.sol";
import {IRollup} from "../../src/interfaces/IRollup.sol";
import {Halo2ChunkVerifier} from "../../src/rollup/Halo2ChunkVerifier.sol";
import {Rollup} from "../../src/rollup/Rollup.sol";
import {VerifierParams} from "../../src/rollup/VerifierParams.sol";
import {Test} from "../utils/Test.sol";
import {Vectors} from "../utils/Vectors.sol";
import {Vm} from "../utils/Vm.sol";

/// @notice The generated Halo2 verifier behind `Halo2ChunkVerifier`, on real chunk proofs that `verifier-gen
///         fixtures` made (contracts/test/vectors/chunk_proofs.json): a history from genesis (the fee account,
///         two deposits, a transfer; one slot per chunk), its proofs, and the verifier's creation bytecode
///         (compiled by the pinned solc without the optimizer, from contracts/verifier/Halo2Verifier.sol).
contract Halo2ChunkVerifierTest is Test {
    string internal json;
    address internal halo2;
    Halo2ChunkVerifier internal verifier;
    Rollup internal rollup;
    address internal sequencer = makeAddr("sequencer");
    uint256 internal chunks;

    /// @dev Deploys through the production `Deploy.deploy`, which deploys the generated verifier from its
    ///      bytecode behind a `Halo2ChunkVerifier`.
    function setUp() public {
        json = Vectors.read("chunk_proofs.json");
        chunks = Vectors.count(json, ".chunks");
        Deploy.Deployment memory d = new Deploy()
            .deploy(
                Deploy.Params({
                owner: makeAddr("owner"),
                sequencer: sequencer,
                timelockAdmin: makeAddr("admin"),
                timelockDelay: C.UPGRADE_DELAY,
                verifier: address(0),
                verifierBytecode: vm.parseJsonBytes(json, ".verifierBytecode"),
                chunkSlots: vm.parseJsonUint(json, ".slots"),
                feeRecipient: vm.parseJsonAddress(json, ".accounts[0].owner"),
                feePubkeyX: vm.parseJsonUint(json, ".accounts[0].pubkeyX"),
                feePubkeyY: vm.parseJsonUint(json, ".accounts[0].pubkeyY"),
                requestFee: C.DEFAULT_REQUEST_FEE,
                allowForgeableVerifier: false
            })
            );
        rollup = d.rollup;
        verifier = Halo2ChunkVerifier(address(d.verifier));
        halo2 = verifier.halo2Verifier();
    }

    function key(uint256 i, string memory field) internal pure returns (string memory) {
        return string.concat(".chunks[", vm.toString(i), "].", field);
    }

    function inputs(uint256 i) internal view returns (uint256[5] memory out) {
        uint256[] memory xs = vm.parseJsonUintArray(json, key(i, "publicInputs"));
        require(xs.length == 5, "five public inputs");
        out = [xs[0], xs[1], xs[2], xs[3], xs[4]];
    }

    function proof(uint256 i) internal view returns (bytes memory) {
        return vm.parseJsonBytes(json, key(i, "proof"));
    }

    /// @dev Makes the fixture's deposits on L1 (account 0 is the constructor's fee-account request) and
    ///      commits its chunks as one batch, with the data commitments the proofs were made for, each changed
    ///      by `tweak` (0: none); returns the bindings L1 computed.
    function depositAndCommit(uint256 tweak)
        internal
        returns (uint256 batch, IRollup.DataBinding[] memory dcs, uint256[] memory roots)
    {
        for (uint256 a = 1; vm.keyExistsJson(json, string.concat(".accounts[", vm.toString(a), "]")); ++a) {
            string memory k = string.concat(".accounts[", vm.toString(a), "].");
            address who = vm.parseJsonAddress(json, string.concat(k, "owner"));
            uint256 amount = vm.parseJsonUint(json, string.concat(k, "amount"));
            uint256 fee = rollup.requestFee(who);
            vm.deal(who, amount + fee);
            vm.prank(who);
            rollup.depositEth{value: amount + fee}(
                vm.parseJsonUint(json, string.concat(k, "pubkeyX")), vm.parseJsonUint(json, string.concat(k, "pubkeyY"))
            );
        }
        bytes[] memory data = new bytes[](chunks);
        uint256[] memory commitments = new uint256[](chunks);
        roots = new uint256[](chunks);
        for (uint256 i = 0; i < chunks; ++i) {
            data[i] = vm.parseJsonBytes(json, key(i, "pubdata"));
            uint256[5] memory x = inputs(i);
            roots[i] = x[1];
            commitments[i] = x[2] ^ tweak;
        }
        vm.recordLogs();
        vm.prank(sequencer);
        rollup.commitBatch(data, commitments);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        (dcs,,) = abi.decode(logs[logs.length - 1].data, (IRollup.DataBinding[], uint64, bytes32));
        batch = rollup.lastFinalizedBatch() + 1;
    }

    /// @dev L1 computes, from the calldata it received, the challenge and evaluation the core computed (and
    ///      the proofs were made for).
    function test_commitBatch_bindingsMatchTheCore_succeeds() public {
        (, IRollup.DataBinding[] memory dcs,) = depositAndCommit(0);
        for (uint256 i = 0; i < chunks; ++i) {
            uint256[5] memory x = inputs(i);
            assertEq(dcs[i].commitment, x[2], "commitment");
            assertEq(dcs[i].challenge, x[3], "challenge");
            assertEq(dcs[i].evaluation, x[4], "evaluation");
        }
    }

    /// @dev A commit under another data commitment draws another challenge: the real proofs, made for the
    ///      records' own commitment, do not verify against what L1 stored.
    function test_finalizeBatch_proofForOtherData_reverts() public {
        (uint256 batch, IRollup.DataBinding[] memory dcs, uint256[] memory roots) = depositAndCommit(1);
        vm.expectRevert(abi.encodeWithSelector(IRollup.InvalidProof.selector, batch, 0));
        rollup.finalizeBatch(batch, dcs, roots, proofs());
    }

    function proofs() internal view returns (bytes[] memory ps) {
        ps = new bytes[](chunks);
        for (uint256 i = 0; i < chunks; ++i) {
            ps[i] = proof(i);
        }
    }

    function test_verifyChunk_realProofs_succeeds() public {
        assertTrue(chunks >= 2, "fixture has chunks");
        for (uint256 i = 0; i < chunks; ++i) {
            assertTrue(verifier.verifyChunk(inputs(i), proof(i)), "real proof");
        }
        vm.snapshotGasLastCall("rollup", "verifyChunk (Halo2ChunkVerifier, one 1-slot proof)");
    }

    function test_verifyChunk_flippedInput_fails() public view {
        uint256 last = chunks - 1;
        for (uint256 j = 0; j < 5; ++j) {
            uint256[5] memory x = inputs(last);
            x[j] ^= 1;
            assertFalse(verifier.verifyChunk(x, proof(last)), "flipped public input");
        }
    }

    function test_verifyChunk_inputsOfAnotherChunk_fails() public view {
        assertFalse(verifier.verifyChunk(inputs(0), proof(chunks - 1)));
    }

    /// @dev The generated verifier reduces scalars modulo r, so on its own it accepts `x + r`; the adapter does not.
    function test_verifyChunk_nonCanonicalInput_fails() public view {
        uint256 last = chunks - 1;
        for (uint256 j = 0; j < 5; ++j) {
            uint256[5] memory x = inputs(last);
            if (x[j] > type(uint256).max - C.FIELD_MODULUS) continue;
            x[j] += C.FIELD_MODULUS;
            (bool raw,) = halo2.staticcall(abi.encodePacked(x, proof(last)));
            assertTrue(raw, "the raw verifier reduces modulo r");
            assertFalse(verifier.verifyChunk(x, proof(last)), "non-canonical input");
        }
    }

    function test_verifyChunk_corruptedProof_fails() public view {
        uint256 last = chunks - 1;
        bytes memory p = proof(last);
        uint256[3] memory at = [uint256(0), p.length / 2, p.length - 1];
        for (uint256 j = 0; j < 3; ++j) {
            bytes memory bad = proof(last);
            bad[at[j]] ^= 0x01;
            assertFalse(verifier.verifyChunk(inputs(last), bad), "corrupted proof");
        }
    }

    function test_verifyChunk_truncatedOrEmptyProof_fails() public view {
        uint256 last = chunks - 1;
        bytes memory p = proof(last);
        bytes memory short = new bytes(p.length - 32);
        for (uint256 i = 0; i < short.length; ++i) {
            short[i] = p[i];
        }
        assertFalse(verifier.verifyChunk(inputs(last), short), "truncated proof");
        assertFalse(verifier.verifyChunk(inputs(last), ""), "empty proof");
    }

    /// @dev The generated verifier reads the proof at fixed offsets, so appended bytes are ignored: documented as
    ///      harmless because no contract keys anything on a proof's bytes (docs/protocol.md, section 8).
    function test_verifyChunk_appendedBytes_stillVerifies() public view {
        uint256 last = chunks - 1;
        bytes memory longer = bytes.concat(proof(last), hex"deadbeef");
        assertTrue(verifier.verifyChunk(inputs(last), longer), "proof bytes are malleable: never an identifier");
    }

    /// @dev The committed verifier comes from the development SRS, and the adapter says so: it reads `−[τ]G2` out
    ///      of the generated code (verifier-gen's tests tie `DEVELOPMENT_PARAMS_DIGEST` to the seed).
    function test_paramsDigest_committedVerifier_isDevelopment() public view {
        assertEq(verifier.PARAMS_DIGEST(), verifier.DEVELOPMENT_PARAMS_DIGEST());
        assertTrue(verifier.usesDevelopmentParams());
    }

    /// @dev Code without snark-verifier's pairing constants is not a generated verifier.
    function test_constructor_unrecognizedCode_reverts() public {
        address notGenerated = address(new Halo2ChunkVerifier(halo2)); // has code, but no pairing constants
        vm.expectRevert(abi.encodeWithSelector(VerifierParams.UnrecognizedVerifier.selector, notGenerated));
        new Halo2ChunkVerifier(notGenerated);
    }

    function test_constructor_addressWithoutCode_reverts() public {
        address nothing = makeAddr("no code");
        vm.expectRevert(abi.encodeWithSelector(IChunkVerifier.VerifierWithoutCode.selector, nothing));
        new Halo2ChunkVerifier(nothing);
    }

    function test_finalizeBatch_realProofs_succeeds() public {
        (uint256 batch, IRollup.DataBinding[] memory dcs, uint256[] memory roots) = depositAndCommit(0);
        assertEq(inputs(0)[0], C.EMPTY_STATE_ROOT, "the history starts at genesis");
        rollup.finalizeBatch(batch, dcs, roots, proofs());
        vm.snapshotGasLastCall("rollup", "finalizeBatch (4 one-slot chunks, real Halo2 proofs)");
        assertEq(rollup.stateRoot(), roots[chunks - 1]);
        assertEq(rollup.lastFinalizedBatch(), batch);
    }

    function test_finalizeBatch_wrongNewRoot_reverts() public {
        (uint256 batch, IRollup.DataBinding[] memory dcs, uint256[] memory roots) = depositAndCommit(0);
        roots[chunks - 1] ^= 1;
        vm.expectRevert(abi.encodeWithSelector(IRollup.InvalidProof.selector, batch, chunks - 1));
        rollup.finalizeBatch(batch, dcs, roots, proofs());
    }

    function test_finalizeBatch_proofsOutOfOrder_reverts() public {
        (uint256 batch, IRollup.DataBinding[] memory dcs, uint256[] memory roots) = depositAndCommit(0);
        bytes[] memory ps = proofs();
        (ps[0], ps[1]) = (ps[1], ps[0]);
        vm.expectRevert(abi.encodeWithSelector(IRollup.InvalidProof.selector, batch, 0));
        rollup.finalizeBatch(batch, dcs, roots, ps);
    }
}
