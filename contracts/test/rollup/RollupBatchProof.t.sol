// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Deploy} from "../../../script/Deploy.s.sol";
import {ProtocolConstants as C} from "../../src/generated/ProtocolConstants.sol";
import {IRollup} from "../../src/interfaces/IRollup.sol";
import {Rollup} from "../../src/rollup/Rollup.sol";
import {Test} from "../utils/Test.sol";
import {Vectors} from "../utils/Vectors.sol";

/// @notice The rollup with a real generated verifier, deployed through `Deploy.s.sol` from a fixture of real proofs
///         (`verifier-gen --stage batch|compress fixtures`): the sample history's users deposit on L1, its chunks are
///         committed as the fixture's batches and finalized with their real proofs. One test body for each stage
///         L1 may verify: the batch proof itself, or its compression.
abstract contract RealProofTest is Test {
    /// @dev Gas for a call expected to fail on the proof: a rejected proof can burn all the gas the verifier is
    ///      given, so such calls are capped well above a valid finalization.
    uint256 internal constant CAP = 2_000_000;

    string internal json;
    Rollup internal rollup;
    address internal sequencer = makeAddr("sequencer");
    uint256 internal batches;

    /// @dev The fixture's file name under contracts/test/vectors.
    function fixture() internal pure virtual returns (string memory);

    /// @dev The verifier's parameters file (`VERIFIER_PARAMS`: a path, or the JSON text).
    function verifierParams() internal view virtual returns (string memory);

    /// @dev The `snapshots/rollup.json` entry for a real finalization.
    function gasName() internal pure virtual returns (string memory);

    function setUp() public {
        json = Vectors.read(fixture());
        batches = Vectors.count(json, ".batches");
        address me = makeAddr("deployer");
        Deploy.Params memory p;
        p.owner = me;
        p.sequencer = sequencer;
        p.timelockAdmin = me;
        p.timelockDelay = C.UPGRADE_DELAY;
        p.verifierBytecode = vm.parseJsonBytes(json, ".verifierBytecode");
        p.verifierParams = verifierParams();
        p.feeRecipient = vm.parseJsonAddress(json, ".accounts[0].owner");
        p.requestFee = C.DEFAULT_REQUEST_FEE;
        rollup = new Deploy().deploy(p).rollup;
        // The fixture's users deposit from their own addresses, in account order.
        uint256 accounts = Vectors.count(json, ".accounts");
        for (uint256 i = 1; i < accounts; ++i) {
            string memory a = string.concat(".accounts[", vm.toString(i), "]");
            address owner = vm.parseJsonAddress(json, string.concat(a, ".owner"));
            uint256 amount = vm.parseJsonUint(json, string.concat(a, ".amount"));
            uint256 fee = rollup.requestFee(owner);
            vm.deal(owner, amount + fee);
            vm.prank(owner);
            rollup.depositEth{value: amount + fee}(
                vm.parseJsonUint(json, string.concat(a, ".pubkeyX")),
                vm.parseJsonUint(json, string.concat(a, ".pubkeyY"))
            );
        }
    }

    function key(uint256 i, string memory field) internal pure returns (string memory) {
        return string.concat(".batches[", vm.toString(i), "].", field);
    }

    function binding(uint256 i) internal view returns (IRollup.DataBinding memory) {
        uint256[] memory b = vm.parseJsonUintArray(json, key(i, "binding"));
        return IRollup.DataBinding({commitment: b[0], challenge: b[1], l1Evaluation: b[2], blobEvaluation: b[3]});
    }

    function newRoot(uint256 i) internal view returns (uint256) {
        return vm.parseJsonUint(json, key(i, "newStateRoot"));
    }

    function proof(uint256 i) internal view returns (bytes memory) {
        return vm.parseJsonBytes(json, key(i, "proof"));
    }

    /// @dev Commits fixture batch `i` as the sequencer, with the prover's batch commitment.
    function commit(uint256 i) internal {
        bytes memory pubdata = vm.parseJsonBytes(json, key(i, "pubdata"));
        vm.prank(sequencer);
        rollup.commitBatch(i + 1, pubdata, binding(i).commitment);
    }

    /// @dev Commits and finalizes every fixture batch before `last`, and commits `last`.
    function upTo(uint256 last) internal {
        for (uint256 i = 0; i < last; ++i) {
            commit(i);
            rollup.finalizeBatch(i + 1, binding(i), newRoot(i), proof(i));
        }
        commit(last);
    }

    /// @dev L1 computes the same batch challenge and evaluations from the calldata as the core did for the proof,
    ///      and every batch finalizes with its one real proof, the roots chaining from genesis.
    function test_finalizeBatch_realProofs_succeeds() public {
        assertTrue(batches >= 2, "fixture has batches");
        assertEq(rollup.stateRoot(), vm.parseJsonUint(json, key(0, "oldStateRoot")), "genesis");
        for (uint256 i = 0; i < batches; ++i) {
            commit(i);
            assertEq(rollup.batch(i + 1).bindingHash, keccak256(abi.encode(binding(i))), "L1's binding is the core's");
            rollup.finalizeBatch(i + 1, binding(i), newRoot(i), proof(i));
            if (i == batches - 1) {
                uint256 execution = vm.snapshotGasLastCall("rollup", gasName());
                bytes memory data = abi.encodeCall(rollup.finalizeBatch, (i + 1, binding(i), newRoot(i), proof(i)));
                vm.snapshotValue("rollup", string.concat(gasName(), ": transaction"), txGas(data, execution));
            }
            assertEq(rollup.stateRoot(), newRoot(i));
            assertEq(rollup.lastFinalizedBatch(), i + 1);
        }
        assertEq(rollup.finalizedRequests(), rollup.totalRequests(), "every deposit finalized");
    }

    /// @dev Every input the proof is checked against changes the outcome: another new root is an invalid proof;
    ///      another challenge, evaluation or commitment is not the batch L1 committed.
    function test_finalizeBatch_flippedInput_reverts() public {
        uint256 last = batches - 1;
        upTo(last);
        uint256 b = last + 1;
        vm.expectRevert(abi.encodeWithSelector(IRollup.InvalidProof.selector, b));
        rollup.finalizeBatch{gas: CAP}(b, binding(last), newRoot(last) ^ 1, proof(last));
        for (uint256 j = 0; j < 4; ++j) {
            IRollup.DataBinding memory d = binding(last);
            if (j == 0) d.commitment ^= 1;
            if (j == 1) d.challenge ^= 1;
            if (j == 2) d.l1Evaluation ^= 1;
            if (j == 3) d.blobEvaluation ^= 1;
            vm.expectRevert(abi.encodeWithSelector(IRollup.BatchDataMismatch.selector, b));
            rollup.finalizeBatch(b, d, newRoot(last), proof(last));
        }
        rollup.finalizeBatch(b, binding(last), newRoot(last), proof(last));
    }

    /// @dev The proof of a batch is bound to the root it starts from: batch 2's proof cannot finalize batch 1.
    function test_finalizeBatch_proofOfAnotherBatch_reverts() public {
        commit(0);
        commit(1);
        vm.expectRevert(abi.encodeWithSelector(IRollup.BatchDataMismatch.selector, 1));
        rollup.finalizeBatch(1, binding(1), newRoot(1), proof(1));
        vm.expectRevert(abi.encodeWithSelector(IRollup.InvalidProof.selector, 1));
        rollup.finalizeBatch{gas: CAP}(1, binding(0), newRoot(1), proof(1));
    }

    function test_finalizeBatch_tamperedProof_reverts() public {
        uint256 last = batches - 1;
        upTo(last);
        bytes memory p = proof(last);
        // In the accumulator, at the start of the proof proper, in its middle, at its end.
        uint256[4] memory at = [uint256(31), 384, 384 + (p.length - 384) / 2, p.length - 1];
        for (uint256 j = 0; j < 4; ++j) {
            bytes memory bad = bytes.concat(p);
            bad[at[j]] ^= 0x01;
            vm.expectRevert(abi.encodeWithSelector(IRollup.InvalidProof.selector, last + 1));
            rollup.finalizeBatch{gas: CAP}(last + 1, binding(last), newRoot(last), bad);
        }
        assertEq(rollup.lastFinalizedBatch(), last);
    }

    /// @dev The generated verifier would reduce `root + r` to `root`; L1 refuses it before the proof is checked.
    function test_finalizeBatch_nonCanonicalRoot_reverts() public {
        uint256 last = batches - 1;
        upTo(last);
        uint256 root = newRoot(last) + C.FIELD_MODULUS;
        vm.expectRevert(abi.encodeWithSelector(IRollup.NonCanonicalRoot.selector, root));
        rollup.finalizeBatch(last + 1, binding(last), root, proof(last));
    }
}

/// @notice The committed batch verifier (a cargo test checks that the fixture's is the committed one, whose parameters
///         file is beside it): each one-slot chunk a batch of its own, finalized with its batch proof.
contract RollupBatchProofTest is RealProofTest {
    function fixture() internal pure override returns (string memory) {
        return "batch_proofs.json";
    }

    function verifierParams() internal view override returns (string memory) {
        return vm.readFile("contracts/verifier/Halo2BatchVerifier.json");
    }

    function gasName() internal pure override returns (string memory) {
        return "finalizeBatch (real batch proof, one 1-slot chunk)";
    }
}

/// @notice The thin last stage on L1, through a tree of aggregation nodes: a batch of one 4-slot chunk (padded in its
///         node and in the batch circuit) and one of three (the third chunk's node padded), each proven by nodes of two
///         chunk proofs, the batch circuit over two nodes (capacity 4) and the compression of its batch proof
///         (contracts/test/vectors/compressed_proofs.json, which carries its verifier and parameters: a batch circuit
///         of capacity 2 or more has a verifier past the code size limit, so its proofs reach L1 compressed).
contract RollupCompressedProofTest is RealProofTest {
    function fixture() internal pure override returns (string memory) {
        return "compressed_proofs.json";
    }

    function verifierParams() internal view override returns (string memory) {
        return vm.parseJsonString(json, ".verifierParams");
    }

    function gasName() internal pure override returns (string memory) {
        return "finalizeBatch (real compressed proof, three 4-slot chunks, tree of depth 1)";
    }
}
