// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Deploy} from "../../../script/Deploy.s.sol";
import {ProtocolConstants as C} from "../../src/generated/ProtocolConstants.sol";
import {Halo2BatchVerifier} from "../../src/rollup/Halo2BatchVerifier.sol";
import {MockBatchVerifier} from "../mocks/MockBatchVerifier.sol";
import {Test} from "../utils/Test.sol";

/// @dev An adapter that claims other parameters than the generated verifier behind it has.
contract LyingAdapter {
    address public immutable halo2Verifier;

    constructor(address generated) {
        halo2Verifier = generated;
    }

    function PARAMS_DIGEST() external pure returns (bytes32) {
        return keccak256("a ceremony, honestly");
    }

    uint256 public constant CHUNK_SLOTS = 4;
    uint256 public constant CAPACITY = 1;
    uint256 public constant KEY_DIGEST = 1;

    function verifyBatch(uint256[7] calldata, bytes calldata) external pure returns (bool) {
        return true;
    }
}

/// @notice The production deployment script's refusals: the paths that must not deploy at all.
contract DeployTest is Test {
    Deploy internal script;

    function setUp() public {
        script = new Deploy();
    }

    function _params() internal returns (Deploy.Params memory p) {
        address me = makeAddr("deployer");
        p.owner = me;
        p.sequencer = me;
        p.timelockAdmin = me;
        p.timelockDelay = C.UPGRADE_DELAY;
        p.feeRecipient = me;
        p.requestFee = C.DEFAULT_REQUEST_FEE;
    }

    /// @dev The review's day-7 death: a rollup started without a verifier queued request 0, could finalize
    ///      nothing, and a verifier could only arrive through the 21-day timelock.
    function test_deploy_withoutVerifier_reverts() public {
        Deploy.Params memory p = _params();
        vm.expectRevert(Deploy.NoVerifier.selector);
        script.deploy(p);
    }

    function _devVerifierBytecode() internal view returns (bytes memory) {
        string memory path = "contracts/verifier/Halo2BatchVerifier.bin";
        return vm.parseBytes(vm.trim(vm.readFile(path)));
    }

    /// @dev The committed verifier's parameters file (`verifier-gen --stage batch solidity` writes both).
    function _devVerifierParams() internal view returns (string memory) {
        return vm.readFile("contracts/verifier/Halo2BatchVerifier.json");
    }

    /// @dev The committed generated verifier, as an operator deploys it.
    function _devParams() internal returns (Deploy.Params memory p) {
        p = _params();
        p.verifierBytecode = _devVerifierBytecode();
        p.verifierParams = _devVerifierParams();
    }

    /// @dev The adapter pins what the parameters file says, and the rollup's chunk size is the verifier's: none of
    ///      it is typed in by hand.
    function test_deploy_generatedVerifier_pinsItsParameters() public {
        string memory json = _devVerifierParams();
        Deploy.Deployment memory d = script.deploy(_devParams());
        Halo2BatchVerifier v = Halo2BatchVerifier(address(d.verifier));
        assertEq(v.KEY_DIGEST(), vm.parseJsonUint(json, ".keyDigest"));
        assertEq(v.CHUNK_SLOTS(), vm.parseJsonUint(json, ".chunkSlots"));
        assertEq(v.CAPACITY(), vm.parseJsonUint(json, ".capacity"));
        assertEq(d.rollup.CHUNK_SLOTS(), vm.parseJsonUint(json, ".chunkSlots"));
        assertEq(keccak256(v.halo2Verifier().code), keccak256(_runtimeOf(_devVerifierBytecode())));
    }

    /// @dev A rollup deployed behind a given verifier takes that verifier's chunk size.
    function test_deploy_givenVerifier_setsChunkSlots() public {
        Deploy.Params memory p = _params();
        p.verifier = address(new MockBatchVerifier(8, 1));
        assertEq(script.deploy(p).rollup.CHUNK_SLOTS(), 8);
    }

    /// @dev Bytecode alone says nothing of the key digest, chunk size or capacity it was generated for.
    function test_deploy_bytecodeWithoutParams_reverts() public {
        Deploy.Params memory p = _devParams();
        p.verifierParams = "";
        vm.expectRevert(Deploy.NoVerifierParams.selector);
        script.deploy(p);
    }

    /// @dev A parameters file written before it recorded the bytecode's hash is refused, not half-read.
    function test_deploy_paramsWithoutBytecodeHash_reverts() public {
        Deploy.Params memory p = _devParams();
        p.verifierParams = '{"keyDigest": "0x01", "chunkSlots": 1, "capacity": 1}';
        vm.expectRevert(Deploy.NoVerifierParams.selector);
        script.deploy(p);
    }

    /// @dev A deployed verifier and a generated one to deploy: the script does not pick one.
    function test_deploy_verifierAndBytecode_reverts() public {
        Deploy.Params memory p = _devParams();
        p.verifier = address(new MockBatchVerifier(1, 1));
        vm.expectRevert(Deploy.AmbiguousVerifier.selector);
        script.deploy(p);
    }

    /// @dev A parameters file of another generation (here: bytecode that differs by one byte) is refused.
    function test_deploy_paramsOfOtherBytecode_reverts() public {
        Deploy.Params memory p = _devParams();
        bytes32 expected = keccak256(p.verifierBytecode);
        p.verifierBytecode = bytes.concat(p.verifierBytecode, hex"00");
        vm.expectRevert(
            abi.encodeWithSelector(Deploy.VerifierParamsMismatch.selector, expected, keccak256(p.verifierBytecode))
        );
        script.deploy(p);
    }

    /// @dev The runtime code that creation code `code` deploys.
    function _runtimeOf(bytes memory code) internal returns (bytes memory) {
        return script.deployCode(code).code;
    }

    /// @dev Runtime code that stores constants the way snark-verifier's output does: the G2 generator, then
    ///      four words standing for a ceremony's `−[τ]G2`.
    function _ceremonyLikeVerifier() internal returns (address at) {
        uint256[8] memory words = [
            0x198e9393920d483a7260bfb731fb5d25f1aa493335a9e71297e485b7aef312c2,
            0x1800deef121f1e76426a00665e5c4479674322d4f75edadd46debd5cd992f6ed,
            0x090689d0585ff075ec9e99ad690c3395bc4b313370b38ef355acdadcd122975b,
            0x12c85ea5db8c6deb4aab71808dcb408fe3d1e7690c43d37b4ce6cc0166fa7daa,
            uint256(11),
            uint256(12),
            uint256(13),
            uint256(14)
        ];
        bytes memory code;
        for (uint256 i = 0; i < 8; ++i) {
            code = bytes.concat(code, hex"7f", bytes32(words[i]), hex"61", bytes2(uint16(0xa4c0 + 32 * i)), hex"52");
        }
        at = makeAddr("ceremony verifier");
        vm.etch(at, bytes.concat(code, hex"00"));
    }

    /// @dev The review's forgery: a verifier from the development SRS deployed outside a devnet. Refused.
    function test_deploy_developmentVerifierOnPublicChain_reverts() public {
        vm.chainId(1);
        Deploy.Params memory p = _devParams();
        vm.expectRevert(
            abi.encodeWithSelector(
                Deploy.ForgeableVerifier.selector, 1, 0xe70079ff8f3463c41231ebae1f61e9c7a6341e8a19289a4e5b326fa761a49280
            )
        );
        script.deploy(p);
    }

    /// @dev Only the loudly named override lets it through (a public testnet that accepts forgeable proofs).
    function test_deploy_developmentVerifierWithOverride_succeeds() public {
        vm.chainId(11155111);
        Deploy.Params memory p = _devParams();
        p.allowForgeableVerifier = true;
        Deploy.Deployment memory d = script.deploy(p);
        assertEq(address(d.rollup.verifier()), address(d.verifier));
    }

    /// @dev On a local devnet the development SRS is the point.
    function test_deploy_developmentVerifierOnDevnet_succeeds() public {
        assertEq(block.chainid, script.DEVNET_CHAIN_ID());
        Deploy.Params memory p = _devParams();
        script.deploy(p);
    }

    /// @dev A verifier whose parameters are not the development SRS's deploys anywhere.
    function test_deploy_ceremonyVerifierOnPublicChain_succeeds() public {
        vm.chainId(1);
        Halo2BatchVerifier v = new Halo2BatchVerifier(_ceremonyLikeVerifier(), 1, 4, 1);
        assertEq(v.PARAMS_DIGEST(), keccak256(abi.encodePacked(uint256(11), uint256(12), uint256(13), uint256(14))));
        assertFalse(v.usesDevelopmentParams());
        Deploy.Params memory p = _params();
        p.verifier = address(v);
        Deploy.Deployment memory d = script.deploy(p);
        assertEq(address(d.rollup.verifier()), address(v));
    }

    /// @dev Outside a devnet a verifier must record its parameters: a bare `IBatchVerifier` is refused.
    function test_deploy_unrecognizedVerifierOnPublicChain_reverts() public {
        vm.chainId(1);
        Deploy.Params memory p = _params();
        p.verifier = address(new MockBatchVerifier(4, 1));
        vm.expectRevert(abi.encodeWithSelector(Deploy.UnrecognizedVerifier.selector, 1, p.verifier));
        script.deploy(p);
    }

    /// @dev The script recomputes the digest from the generated verifier's code: an adapter's own word about
    ///      its parameters counts for nothing.
    function test_deploy_adapterLyingAboutParams_reverts() public {
        Deploy.Params memory p = _params();
        address generated = script.deployCode(_devVerifierBytecode());
        p.verifier = address(new LyingAdapter(generated));
        vm.chainId(1);
        vm.expectRevert(
            abi.encodeWithSelector(
                Deploy.ForgeableVerifier.selector, 1, 0xe70079ff8f3463c41231ebae1f61e9c7a6341e8a19289a4e5b326fa761a49280
            )
        );
        script.deploy(p);
    }
}
