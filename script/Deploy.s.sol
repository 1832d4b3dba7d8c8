// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {Script} from "../contracts/test/utils/Script.sol";

/// @notice Deploys the rollup system's contracts (from contracts/src) in one broadcast.
/// @dev Run it with `tools/bin/forge script script/Deploy.s.sol:Deploy --rpc-url <url> --broadcast
///      --private-key <key>`; the signer given on the command line pays for and owns the deployments.
///      scripts/devnet runs it against a local anvil and prints every contract created here, by name and
///      address, from forge's broadcast log: deploy each contract with `new` between start and stop.
contract Deploy is Script {
    function run() public {
        vm.startBroadcast();
        vm.stopBroadcast();
    }
}
