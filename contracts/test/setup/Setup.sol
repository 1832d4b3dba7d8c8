// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Deploy} from "../../../script/Deploy.s.sol";
import {ProtocolConstants as C} from "../../src/generated/ProtocolConstants.sol";
import {Records} from "../../src/generated/Records.sol";
import {Timelock} from "../../src/governance/Timelock.sol";
import {IProtocolHasher} from "../../src/interfaces/IProtocolHasher.sol";
import {IRollup} from "../../src/interfaces/IRollup.sol";
import {BabyJubjub} from "../../src/libraries/BabyJubjub.sol";
import {Rollup} from "../../src/rollup/Rollup.sol";
import {MockBatchVerifier} from "../mocks/MockBatchVerifier.sol";
import {MockERC20} from "../mocks/Tokens.sol";
import {DataBindingHarness} from "../utils/DataBindingHarness.sol";
import {Pubdata} from "../utils/Pubdata.sol";
import {Test} from "../utils/Test.sol";

/// @notice Base of the contract tests: deploys through the production `Deploy.deploy` (with a mock batch
///         verifier, the only stand-in), and builds pubdata records the way the protocol core encodes them.
abstract contract Setup is Test {
    uint256 internal constant SLOTS = 4;
    /// @dev A request's fee while the backlog is short (every test's), and a deposit's that creates an account.
    uint256 internal constant FEE = C.DEFAULT_REQUEST_FEE;
    uint256 internal constant NEW_FEE = C.DEFAULT_REQUEST_FEE * C.ACCOUNT_FEE_MULTIPLIER;
    /// @dev Baby Jubjub's generator B8: a valid L2 key.
    uint256 internal constant KEY_X = 5299619240641551281634865583518297030282874472190772894086521144482721001553;
    uint256 internal constant KEY_Y = 16950150798460657717958625567821834550301663161624707787222815936182638968203;

    Rollup internal rollup;
    Timelock internal timelock;
    IProtocolHasher internal hasher;
    MockBatchVerifier internal verifier;
    MockERC20 internal token;
    uint8 internal tokenId;

    address internal owner = makeAddr("owner");
    address internal sequencer = makeAddr("sequencer");
    address internal admin = makeAddr("timelock admin");
    address internal feeRecipient = makeAddr("fee recipient");
    address internal alice = makeAddr("alice");
    address internal bob = makeAddr("bob");

    function setUp() public virtual {
        verifier = new MockBatchVerifier(SLOTS, C.MAX_CHUNKS_PER_BATCH);
        Deploy.Deployment memory d = deploy(SLOTS);
        rollup = d.rollup;
        timelock = d.timelock;
        hasher = d.hasher;
        token = new MockERC20();
        vm.prank(owner);
        tokenId = rollup.registerToken(address(token));
        vm.deal(alice, 1000 ether);
        vm.deal(bob, 1000 ether);
        token.mint(alice, 1e30);
        token.mint(bob, 1e30);
        vm.prank(alice);
        token.approve(address(rollup), type(uint256).max);
        vm.prank(bob);
        token.approve(address(rollup), type(uint256).max);
    }

    /// @dev The production deployment (`Deploy.s.sol`) of a rollup of `chunkSlots`-slot chunks, with the
    ///      mock verifier (one for `chunkSlots`, of the largest capacity) and this setup's roles.
    function deploy(uint256 chunkSlots) internal returns (Deploy.Deployment memory) {
        MockBatchVerifier v = chunkSlots == SLOTS ? verifier : new MockBatchVerifier(chunkSlots, C.MAX_CHUNKS_PER_BATCH);
        return new Deploy()
            .deploy(
                Deploy.Params({
                owner: owner,
                sequencer: sequencer,
                timelockAdmin: admin,
                timelockDelay: C.UPGRADE_DELAY,
                verifier: address(v),
                verifierBytecode: "",
                verifierParams: "",
                feeRecipient: feeRecipient,
                feePubkeyX: 0,
                feePubkeyY: 0,
                requestFee: C.DEFAULT_REQUEST_FEE,
                allowForgeableVerifier: false
            })
            );
    }

    // ------------------------------------------------------------------------------------------------
    // Records, as client/protocol/src/codec.rs encodes them
    // ------------------------------------------------------------------------------------------------

    function key() internal pure returns (bytes32) {
        return BabyJubjub.compress(KEY_X, KEY_Y);
    }

    /// @dev A transfer amount's packing (5 bytes); the value must be representable.
    function packedAmount(uint256 amount) internal pure returns (uint40) {
        (uint256 p, bool exact) = Records.packAmount(amount);
        require(exact, "amount not representable");
        return uint40(p);
    }

    /// @dev A fee's packing (2 bytes); the value must be representable.
    function packedFee(uint256 fee) internal pure returns (uint16) {
        (uint256 p, bool exact) = Records.packFee(fee);
        require(exact, "fee not representable");
        return uint16(p);
    }

    function depositRecord(uint32 id, address who, uint8 tid, uint128 amount, bytes32 pubkey)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encodePacked(C.TYPE_DEPOSIT, uint24(id), who, tid, amount, pubkey);
    }

    function transferRecord(uint32 from, uint32 to, uint8 tid, uint128 amount, uint128 fee)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encodePacked(
            C.TYPE_TRANSFER, uint24(from), uint24(to), tid, uint40(packedAmount(amount)), packedFee(fee)
        );
    }

    function withdrawRecord(uint32 from, uint8 tid, uint128 amount, uint128 fee) internal pure returns (bytes memory) {
        return abi.encodePacked(C.TYPE_WITHDRAW, uint24(from), tid, amount, packedFee(fee));
    }

    function forcedExitRecord(uint32 id, uint8 tid, uint128 amount) internal pure returns (bytes memory) {
        return abi.encodePacked(C.TYPE_FORCED_EXIT, uint24(id), tid, amount);
    }

    function changeKeyRecord(uint32 id, bytes32 pubkey) internal pure returns (bytes memory) {
        return abi.encodePacked(C.TYPE_CHANGE_KEY, uint24(id), pubkey);
    }

    /// @dev The fee account's creation: request 0, queued by the constructor.
    function feeAccountRecord() internal view returns (bytes memory) {
        return depositRecord(0, feeRecipient, 0, 0, bytes32(0));
    }

    /// @dev Records back to back, padded with no-ops to `SLOTS`.
    function chunkOf(bytes memory a) internal pure returns (bytes memory) {
        return _pad(a, 1);
    }

    function chunkOf(bytes memory a, bytes memory b) internal pure returns (bytes memory) {
        return _pad(bytes.concat(a, b), 2);
    }

    function chunkOf(bytes memory a, bytes memory b, bytes memory c) internal pure returns (bytes memory) {
        return _pad(bytes.concat(a, b, c), 3);
    }

    function _pad(bytes memory body, uint256 used) private pure returns (bytes memory out) {
        out = body;
        for (uint256 i = used; i < SLOTS; ++i) {
            out = bytes.concat(out, hex"00");
        }
    }

    // ------------------------------------------------------------------------------------------------
    // Flows
    // ------------------------------------------------------------------------------------------------

    function one(bytes memory c) internal pure returns (bytes[] memory chunks) {
        chunks = new bytes[](1);
        chunks[0] = c;
    }

    /// @dev A stand-in batch commitment: any canonical value does, since L1 does not check it against the
    ///      records (the proof does, and the verifier here is the mock).
    function commitmentOf(bytes[] memory chunks) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode("commitment", chunks))) % C.FIELD_MODULUS;
    }

    /// @dev The binding L1 stores for `chunks` under `commitment`, as the generated library computes it.
    function bindingOf(bytes[] memory chunks, uint256 commitment) internal returns (IRollup.DataBinding memory) {
        (uint256 z, uint256 l1, uint256 blob,) = new DataBindingHarness().binding(Pubdata.cat(chunks), commitment);
        return IRollup.DataBinding({commitment: commitment, challenge: z, l1Evaluation: l1, blobEvaluation: blob});
    }

    /// @dev `Rollup.lastCommittedBatch`'s storage slot (`forge inspect Rollup storageLayout`); `commit` checks it.
    uint256 internal constant LAST_COMMITTED_BATCH_SLOT = 17;

    /// @dev The index the next commit must name, read with `vm.load` so that it can stand in the arguments of a
    ///      call after `vm.prank` or `vm.expectRevert` (a call to the rollup there would take the cheatcode).
    function nextBatch() internal view returns (uint256) {
        return uint256(vm.load(address(rollup), bytes32(LAST_COMMITTED_BATCH_SLOT))) + 1;
    }

    /// @dev Commits `chunks` as the sequencer, with a stand-in commitment; returns the batch and its binding.
    function commit(bytes[] memory chunks) internal returns (uint256 batchIndex, IRollup.DataBinding memory binding) {
        uint256 commitment = commitmentOf(chunks);
        binding = bindingOf(chunks, commitment);
        vm.prank(sequencer);
        rollup.commitBatch(nextBatch(), Pubdata.cat(chunks), commitment);
        batchIndex = rollup.lastCommittedBatch();
        assertEq(nextBatch(), batchIndex + 1, "LAST_COMMITTED_BATCH_SLOT is not lastCommittedBatch's slot");
    }

    /// @dev Finalizes with the mock verifier to `root` (any canonical value).
    function finalize(uint256 batchIndex, IRollup.DataBinding memory binding, uint256 root) internal {
        rollup.finalizeBatch(batchIndex, binding, root, hex"01");
    }

    /// @dev Deposits `amount` of ETH (plus the request fee, which `vm.deal` adds to `who`'s balance).
    function depositEthAs(address who, uint256 amount) internal {
        uint256 fee = rollup.requestFee(who);
        vm.deal(who, who.balance + fee);
        vm.prank(who);
        rollup.depositEth{value: amount + fee}(KEY_X, KEY_Y);
    }

    /// @dev The constructor arguments `setUp`'s rollup was deployed with, for tests that construct another.
    function rollupConfig() internal view returns (Rollup.Config memory) {
        return Rollup.Config({
            owner: owner,
            sequencer: sequencer,
            governance: address(timelock),
            verifier: verifier,
            hasher: hasher,
            chunkSlots: SLOTS,
            feeRecipient: feeRecipient,
            feePubkeyX: 0,
            feePubkeyY: 0,
            requestFee: C.DEFAULT_REQUEST_FEE
        });
    }

    /// @dev Stands for a queue so long that the last deadline is `deadline`: the state a flood leaves behind,
    ///      without queuing a hundred thousand requests in a unit test. `lastDeadline` is packed in slot 4 at
    ///      byte offset 1 (`forge inspect Rollup storageLayout`).
    function setLastDeadline(uint64 deadline) internal {
        bytes32 w = vm.load(address(rollup), bytes32(uint256(4)));
        uint256 mask = uint256(type(uint64).max) << 8;
        w = bytes32((uint256(w) & ~mask) | (uint256(deadline) << 8));
        vm.store(address(rollup), bytes32(uint256(4)), w);
        assertEq(rollup.lastDeadline(), deadline);
    }

    function noWithdrawals() internal pure returns (IRollup.Withdrawal[] memory) {
        return new IRollup.Withdrawal[](0);
    }
}
