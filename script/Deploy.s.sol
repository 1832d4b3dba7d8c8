// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {StateProofVerifier} from "../contracts/src/escape/StateProofVerifier.sol";
import {Script} from "../contracts/test/utils/Script.sol";

/// @notice Deploys the rollup system's contracts in one broadcast.
/// @dev Run it with `tools/bin/forge script script/Deploy.s.sol:Deploy --rpc-url <url> --broadcast
///      --private-key <key>`; the signer given on the command line pays for and owns the deployments.
///      scripts/devnet runs it against a local anvil and prints every contract created here, by name and
///      address, from forge's broadcast log. Tests call `deploy()` to get the production wiring without
///      broadcasting.
contract Deploy is Script {
    /// @notice Every contract of one deployment.
    struct Deployment {
        StateProofVerifier stateProofVerifier;
    }

    /// @notice Deploys everything, broadcasting from the command line's signer.
    function run() public returns (Deployment memory d) {
        vm.startBroadcast();
        d = deploy();
        vm.stopBroadcast();
    }

    /// @notice Deploys everything from the caller; the wiring is the same as `run`'s.
    function deploy() public returns (Deployment memory d) {
        d.stateProofVerifier = new StateProofVerifier();
    }
}
