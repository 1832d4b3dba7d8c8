// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {VM_ADDRESS, Vm} from "./Vm.sol";

/// @notice Base for Foundry scripts (script/*.s.sol): gives access to the cheatcodes (`vm`).
abstract contract Script {
    Vm internal constant vm = Vm(VM_ADDRESS);
}
