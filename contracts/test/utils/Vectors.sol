// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {StateProof} from "../../src/generated/StateProof.sol";
import {VM_ADDRESS, Vm} from "./Vm.sol";

/// @notice Reads the protocol core's JSON test vectors (contracts/test/vectors/, written by protocol-gen).
library Vectors {
    Vm private constant vm = Vm(VM_ADDRESS);

    /// @notice The contents of `contracts/test/vectors/<name>`.
    function read(string memory name) internal view returns (string memory) {
        return vm.readFile(string.concat("contracts/test/vectors/", name));
    }

    /// @notice Number of entries of the array at `key` (e.g. ".proofs").
    function count(string memory json, string memory key) internal view returns (uint256 n) {
        while (vm.keyExistsJson(json, string.concat(key, "[", vm.toString(n), "]"))) ++n;
    }

    /// @notice Balance proof `i` of state.json.
    function balanceProof(string memory json, uint256 i) internal pure returns (StateProof.BalanceProof memory p) {
        return balanceProofAt(json, string.concat(".proofs[", vm.toString(i), "]."));
    }

    /// @notice The balance proof whose fields are under `k` (a JSON path ending in a dot).
    function balanceProofAt(string memory json, string memory k)
        internal
        pure
        returns (StateProof.BalanceProof memory p)
    {
        p.accountId = uint32(vm.parseJsonUint(json, string.concat(k, "accountId")));
        p.token = uint8(vm.parseJsonUint(json, string.concat(k, "token")));
        p.balance = uint128(vm.parseJsonUint(json, string.concat(k, "balance")));
        p.account.owner = vm.parseJsonAddress(json, string.concat(k, "owner"));
        p.account.nonce = uint32(vm.parseJsonUint(json, string.concat(k, "nonce")));
        p.account.pubkeyX = uint256(vm.parseJsonBytes32(json, string.concat(k, "pubkeyX")));
        p.account.pubkeyY = uint256(vm.parseJsonBytes32(json, string.concat(k, "pubkeyY")));
        p.account.balanceRoot = uint256(vm.parseJsonBytes32(json, string.concat(k, "balanceRoot")));
        bytes32[] memory bs = vm.parseJsonBytes32Array(json, string.concat(k, "balanceSiblings"));
        bytes32[] memory accs = vm.parseJsonBytes32Array(json, string.concat(k, "accountSiblings"));
        require(bs.length == p.balanceSiblings.length && accs.length == p.accountSiblings.length, "path lengths");
        for (uint256 l = 0; l < bs.length; ++l) {
            p.balanceSiblings[l] = uint256(bs[l]);
        }
        for (uint256 l = 0; l < accs.length; ++l) {
            p.accountSiblings[l] = uint256(accs[l]);
        }
    }
}
