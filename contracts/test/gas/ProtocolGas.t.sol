// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ProtocolHasher} from "../../src/escape/ProtocolHasher.sol";
import {DataBinding} from "../../src/generated/DataBinding.sol";
import {Poseidon} from "../../src/generated/Poseidon.sol";
import {StateProof} from "../../src/generated/StateProof.sol";
import {IProtocolHasher} from "../../src/interfaces/IProtocolHasher.sol";
import {Test} from "../utils/Test.sol";
import {Vectors} from "../utils/Vectors.sol";

/// @dev External entry points, so that each measured call is one call frame.
contract GasHarness {
    /// @dev Baseline: the cost of the call itself, subtracted in docs/benchmarks.md.
    function baseline(uint256 a, uint256 b, uint256 c) external pure returns (uint256, uint256, uint256) {
        return (c, b, a);
    }

    function permute(uint256 a, uint256 b, uint256 c) external pure returns (uint256, uint256, uint256) {
        return Poseidon.permute(a, b, c);
    }

    function hash2(uint256 tag, uint256 a, uint256 b) external pure returns (uint256) {
        return Poseidon.hash2(tag, a, b);
    }

    function evaluate(bytes calldata chunk, uint256 slots, uint256 commitment)
        external
        pure
        returns (uint256, uint256)
    {
        (uint256 z, uint256 y,) = DataBinding.evaluate(chunk, slots, commitment);
        return (z, y);
    }
}

/// @notice Gas of the generated Solidity, one measured call per test. Figures land in
///         snapshots/ProtocolGasTest.json (and, with setup excluded, in .gas-snapshot).
contract ProtocolGasTest is Test {
    GasHarness internal h;
    IProtocolHasher internal verifier;
    StateProof.BalanceProof internal proof;
    uint256 internal root;
    bytes internal chunk;
    uint256 internal slots;

    function setUp() public {
        h = new GasHarness();
        verifier = new ProtocolHasher();
        string memory state = Vectors.read("state.json");
        root = uint256(vm.parseJsonBytes32(state, ".root"));
        proof = Vectors.balanceProof(state, 0);
        string memory pubdata = Vectors.read("pubdata.json");
        chunk = vm.parseJsonBytes(pubdata, ".chunk");
        slots = vm.parseJsonUint(pubdata, ".slots");
    }

    function test_gas_callBaseline() public {
        h.baseline(1, 2, 3);
        vm.snapshotGasLastCall("poseidon", "call baseline");
    }

    function test_gas_poseidonPermute() public {
        h.permute(1, 2, 3);
        vm.snapshotGasLastCall("poseidon", "permute");
    }

    function test_gas_poseidonHash2() public {
        h.hash2(1, 2, 3);
        vm.snapshotGasLastCall("poseidon", "hash2");
    }

    function test_gas_stateProofVerify() public {
        assertTrue(verifier.verify(root, proof));
        vm.snapshotGasLastCall("stateProof", "verify (8 + 20 levels)");
    }

    function test_gas_dataBinding8Slots() public {
        assertEq(slots, 8);
        h.evaluate(chunk, slots, 1);
        vm.snapshotGasLastCall("dataBinding", "evaluate (8 slots)");
    }
}
