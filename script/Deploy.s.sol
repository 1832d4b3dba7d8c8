// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ProtocolHasher} from "../contracts/src/escape/ProtocolHasher.sol";
import {ProtocolConstants as C} from "../contracts/src/generated/ProtocolConstants.sol";
import {Timelock} from "../contracts/src/governance/Timelock.sol";
import {IBatchVerifier} from "../contracts/src/interfaces/IBatchVerifier.sol";
import {Halo2BatchVerifier} from "../contracts/src/rollup/Halo2BatchVerifier.sol";
import {Rollup} from "../contracts/src/rollup/Rollup.sol";
import {VerifierParams} from "../contracts/src/rollup/VerifierParams.sol";
import {Script} from "../contracts/test/utils/Script.sol";
import {console} from "../contracts/test/utils/console.sol";

/// @notice Deploys the whole system: protocol hasher, governance timelock, verifier (unless given), rollup.
///         There is no deployment without a verifier: the rollup's first request starts its deadline at once.
/// @dev `tools/bin/forge script script/Deploy.s.sol:Deploy --rpc-url <url> --broadcast --private-key <key>`.
///      Parameters come from the environment, each defaulting to the broadcaster:
///      `OWNER`, `SEQUENCER`, `TIMELOCK_ADMIN`, `FEE_RECIPIENT` (addresses); `TIMELOCK_DELAY` (seconds, default
///      `UPGRADE_DELAY`); `VERIFIER` (an `IBatchVerifier`); `VERIFIER_BYTECODE` (path, or 0x-hex, of the generated batch
///      verifier's creation bytecode, `contracts/verifier/Halo2BatchVerifier.bin` from `verifier-gen --stage batch
///      solidity`) with `VERIFIER_PARAMS` (path, or the JSON text, of the parameters file the same command writes
///      beside it, `Halo2BatchVerifier.json`: the chunk key digest, chunk size and capacity the verifier was
///      generated for, and the bytecode's hash), deployed behind a `Halo2BatchVerifier` with exactly those; one of
///      `VERIFIER` and `VERIFIER_BYTECODE` is required: `NoVerifier` otherwise, and not both: `AmbiguousVerifier`.
///      The rollup's chunk size is always its verifier's, and the verifier's shape comes from the file generated
///      with it, not from hand-typed values.
///      `FEE_PUBKEY_X`, `FEE_PUBKEY_Y` (the fee account's L2 key; default none);
///      `REQUEST_FEE` (wei per L1 request, default `DEFAULT_REQUEST_FEE`);
///      `UNSAFE_ALLOW_FORGEABLE_VERIFIER` (default false: see `checkVerifier`).
///
///      On any chain but a local devnet (chain id 31337), the verifier must be a `Halo2BatchVerifier` whose
///      parameters are not the development SRS's: with those, anyone can forge a proof and finalize any state
///      root. `UNSAFE_ALLOW_FORGEABLE_VERIFIER=true` overrides this, loudly, for a public testnet that accepts
///      it.
///      Tests call `deploy(params)` to get the production wiring without broadcasting.
contract Deploy is Script {
    /// @notice Neither `VERIFIER` nor `VERIFIER_BYTECODE` was given. A rollup without a working verifier could
    ///         finalize nothing, and its first request's deadline (which starts at deployment) would pass long
    ///         before governance could install one through the timelock: escape mode on day 7.
    error NoVerifier();

    /// @notice `VERIFIER_BYTECODE` was given without `VERIFIER_PARAMS`, the file that says what it was generated for,
    ///         or with one that does not record the bytecode's hash (written before it did: generate it again).
    error NoVerifierParams();

    /// @notice Both a deployed verifier (`VERIFIER`) and a generated one to deploy (`VERIFIER_BYTECODE` or
    ///         `VERIFIER_PARAMS`) were given: which one the rollup should use is not guessed.
    error AmbiguousVerifier();

    /// @notice The parameters file was written for other bytecode than the one given (files of two generations
    ///         mixed): the adapter would pin a key digest, chunk size or capacity the verifier was not made for, and
    ///         every proof would fail on L1.
    error VerifierParamsMismatch(bytes32 paramsBytecodeHash, bytes32 bytecodeHash);

    /// @notice The verifier was generated from the development SRS, whose secret is public: anyone could forge
    ///         proofs for it. Generate it from a ceremony's parameters (`docs/srs.md`).
    error ForgeableVerifier(uint256 chainId, bytes32 paramsDigest);

    /// @notice Outside a local devnet the verifier must say which parameters it was generated from (a
    ///         `Halo2BatchVerifier`); this one does not.
    error UnrecognizedVerifier(uint256 chainId, address verifier);

    /// @notice The chain id of a local devnet (anvil's default), where the development SRS is allowed.
    uint256 public constant DEVNET_CHAIN_ID = 31337;

    /// @notice Every parameter of a deployment.
    struct Params {
        address owner;
        address sequencer;
        address timelockAdmin;
        uint256 timelockDelay;
        address verifier;
        bytes verifierBytecode;
        /// @dev The JSON `verifier-gen --stage batch solidity` writes beside `verifierBytecode`.
        string verifierParams;
        address feeRecipient;
        uint256 feePubkeyX;
        uint256 feePubkeyY;
        uint256 requestFee;
        bool allowForgeableVerifier;
    }

    /// @notice Every contract of one deployment.
    struct Deployment {
        Rollup rollup;
        Timelock timelock;
        ProtocolHasher hasher;
        IBatchVerifier verifier;
    }

    /// @notice The parameters from the environment, defaulting to `sender`.
    function paramsFromEnv(address sender) public view returns (Params memory p) {
        p.owner = vm.envOr("OWNER", sender);
        p.sequencer = vm.envOr("SEQUENCER", sender);
        p.timelockAdmin = vm.envOr("TIMELOCK_ADMIN", sender);
        p.timelockDelay = vm.envOr("TIMELOCK_DELAY", C.UPGRADE_DELAY);
        p.verifier = vm.envOr("VERIFIER", address(0));
        string memory bytecode = vm.envOr("VERIFIER_BYTECODE", string(""));
        if (bytes(bytecode).length != 0) {
            // The `.bin` file's path, or its hex itself (for a file forge may not read).
            bool isHex = bytes(bytecode).length > 2 && bytes(bytecode)[0] == "0" && bytes(bytecode)[1] == "x";
            p.verifierBytecode = vm.parseBytes(vm.trim(isHex ? bytecode : vm.readFile(bytecode)));
        }
        // The `.json` file's path, or its text itself.
        string memory params = vm.trim(vm.envOr("VERIFIER_PARAMS", string("")));
        bool isJson = bytes(params).length != 0 && bytes(params)[0] == "{";
        p.verifierParams = isJson || bytes(params).length == 0 ? params : vm.readFile(params);
        p.feeRecipient = vm.envOr("FEE_RECIPIENT", sender);
        p.feePubkeyX = vm.envOr("FEE_PUBKEY_X", uint256(0));
        p.feePubkeyY = vm.envOr("FEE_PUBKEY_Y", uint256(0));
        p.requestFee = vm.envOr("REQUEST_FEE", C.DEFAULT_REQUEST_FEE);
        p.allowForgeableVerifier = vm.envOr("UNSAFE_ALLOW_FORGEABLE_VERIFIER", false);
    }

    /// @notice Deploys everything from the environment's parameters, broadcasting from the script's signer.
    function run() public returns (Deployment memory d) {
        vm.startBroadcast();
        (, address sender,) = vm.readCallers();
        d = deploy(paramsFromEnv(sender));
        vm.stopBroadcast();
    }

    /// @notice Deploys everything from the caller with `p`; the wiring is the same as `run`'s.
    function deploy(Params memory p) public returns (Deployment memory d) {
        d.hasher = new ProtocolHasher();
        d.timelock = new Timelock(p.timelockAdmin, p.timelockDelay);
        if (p.verifier != address(0)) {
            if (p.verifierBytecode.length != 0 || bytes(p.verifierParams).length != 0) revert AmbiguousVerifier();
            d.verifier = IBatchVerifier(p.verifier);
        } else if (p.verifierBytecode.length != 0) {
            d.verifier = deployGenerated(p.verifierBytecode, p.verifierParams);
        } else {
            revert NoVerifier();
        }
        checkVerifier(d.verifier, p.allowForgeableVerifier);
        d.rollup = new Rollup(
            Rollup.Config({
                owner: p.owner,
                sequencer: p.sequencer,
                governance: address(d.timelock),
                verifier: d.verifier,
                hasher: d.hasher,
                chunkSlots: d.verifier.CHUNK_SLOTS(),
                feeRecipient: p.feeRecipient,
                feePubkeyX: p.feePubkeyX,
                feePubkeyY: p.feePubkeyY,
                requestFee: p.requestFee
            })
        );
    }

    /// @notice Deploys generated verifier `code` behind a `Halo2BatchVerifier` pinning what `paramsJson` (the file
    ///         written beside it) says it was generated for, once that file is shown to be `code`'s.
    function deployGenerated(bytes memory code, string memory paramsJson) public returns (IBatchVerifier) {
        if (bytes(paramsJson).length == 0 || !vm.keyExistsJson(paramsJson, ".bytecodeHash")) revert NoVerifierParams();
        bytes32 expected = vm.parseJsonBytes32(paramsJson, ".bytecodeHash");
        if (expected != keccak256(code)) revert VerifierParamsMismatch(expected, keccak256(code));
        return new Halo2BatchVerifier(
            deployCode(code),
            vm.parseJsonUint(paramsJson, ".keyDigest"),
            vm.parseJsonUint(paramsJson, ".chunkSlots"),
            vm.parseJsonUint(paramsJson, ".capacity")
        );
    }

    /// @notice Refuses, outside a local devnet, a verifier that does not record its parameters or records the
    ///         development SRS's, unless `allowForgeable` (which only logs).
    function checkVerifier(IBatchVerifier verifier, bool allowForgeable) public view {
        if (block.chainid == DEVNET_CHAIN_ID) return;
        bytes32 digest;
        // The digest is recomputed from the generated verifier's code, and compared with this script's
        // constant: nothing is taken on the word of the contract being checked.
        try Halo2BatchVerifier(address(verifier)).halo2Verifier() returns (address generated) {
            try this.digestOf(generated) returns (bytes32 d) {
                digest = d;
            } catch {}
        } catch {}
        if (digest == bytes32(0)) {
            if (!allowForgeable) revert UnrecognizedVerifier(block.chainid, address(verifier));
            console.log(
                "UNSAFE: the verifier does not record its parameters; allowed by UNSAFE_ALLOW_FORGEABLE_VERIFIER"
            );
            return;
        }
        if (digest == VerifierParams.DEVELOPMENT_PARAMS_DIGEST) {
            if (!allowForgeable) revert ForgeableVerifier(block.chainid, digest);
            console.log(
                "UNSAFE: development SRS verifier, anyone can forge proofs; allowed by UNSAFE_ALLOW_FORGEABLE_VERIFIER"
            );
        }
    }

    /// @notice The parameters digest of generated verifier code (`VerifierParams.digestOf`), external so that
    ///         `checkVerifier` can catch its refusal of unrecognized code.
    function digestOf(address generated) external view returns (bytes32) {
        return VerifierParams.digestOf(generated);
    }

    /// @notice Deploys raw creation bytecode (the generated verifier, compiled outside forge's optimizer).
    function deployCode(bytes memory code) public returns (address deployed) {
        assembly ("memory-safe") {
            deployed := create(0, add(code, 0x20), mload(code))
        }
        require(deployed != address(0), "verifier bytecode did not deploy");
    }
}
