// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ProtocolHasher} from "../../src/escape/ProtocolHasher.sol";
import {ProtocolConstants as C} from "../../src/generated/ProtocolConstants.sol";
import {StateProof} from "../../src/generated/StateProof.sol";
import {IProtocolHasher} from "../../src/interfaces/IProtocolHasher.sol";
import {Test} from "../utils/Test.sol";
import {Vectors} from "../utils/Vectors.sol";

/// @notice The generated state-proof verification against the core's vectors (state.json), through the
///         `ProtocolHasher` contract.
contract StateProofTest is Test {
    string internal json;
    IProtocolHasher internal verifier;
    address internal permutation;
    uint256 internal root;

    function setUp() public {
        json = Vectors.read("state.json");
        root = uint256(vm.parseJsonBytes32(json, ".root"));
        verifier = new ProtocolHasher();
        permutation = verifier.permutation();
    }

    function _proof(uint256 i) internal view returns (StateProof.BalanceProof memory) {
        return Vectors.balanceProof(json, i);
    }

    function _count() internal view returns (uint256) {
        return Vectors.count(json, ".proofs");
    }

    function test_emptyStateRoot_matchesCore() public view {
        assertEq(C.EMPTY_STATE_ROOT, uint256(vm.parseJsonBytes32(json, ".emptyStateRoot")));
    }

    function test_emptySubtrees_matchCore() public view {
        bytes32[] memory bal = vm.parseJsonBytes32Array(json, ".emptyBalanceSubtrees");
        bytes32[] memory acc = vm.parseJsonBytes32Array(json, ".emptyAccountSubtrees");
        assertEq(bal.length, C.BALANCE_TREE_DEPTH + 1);
        assertEq(acc.length, C.ACCOUNT_TREE_DEPTH + 1);
        assertEq(uint256(bal[0]), 0, "empty balance leaf");
        assertEq(uint256(bal[C.BALANCE_TREE_DEPTH]), C.EMPTY_BALANCE_ROOT);
        StateProof.Account memory empty;
        empty.balanceRoot = C.EMPTY_BALANCE_ROOT;
        assertEq(StateProof.accountLeaf(permutation, empty), C.EMPTY_ACCOUNT_LEAF, "empty account leaf");
        assertEq(uint256(acc[0]), C.EMPTY_ACCOUNT_LEAF);
        assertEq(uint256(acc[C.ACCOUNT_TREE_DEPTH]), C.EMPTY_STATE_ROOT);
        for (uint256 l = 0; l < C.BALANCE_TREE_DEPTH; ++l) {
            assertEq(StateProof.node(permutation, uint256(bal[l]), uint256(bal[l])), uint256(bal[l + 1]));
        }
        for (uint256 l = 0; l < C.ACCOUNT_TREE_DEPTH; ++l) {
            assertEq(StateProof.node(permutation, uint256(acc[l]), uint256(acc[l])), uint256(acc[l + 1]));
        }
    }

    function test_accountLeaf_matchesCore() public view {
        for (uint256 i = 0; i < _count(); ++i) {
            StateProof.BalanceProof memory p = _proof(i);
            assertEq(
                StateProof.accountLeaf(permutation, p.account),
                uint256(vm.parseJsonBytes32(json, string.concat(".proofs[", vm.toString(i), "].accountLeaf")))
            );
        }
    }

    function test_verify_vectorProofs_succeeds() public view {
        uint256 n = _count();
        assertGt(n, 5, "vectors read");
        for (uint256 i = 0; i < n; ++i) {
            StateProof.BalanceProof memory p = _proof(i);
            assertEq(verifier.computeRoot(p), root, "root");
            assertTrue(verifier.verify(root, p), "verify");
        }
    }

    function test_verify_otherBalance_fails() public view {
        StateProof.BalanceProof memory p = _proof(0);
        p.balance += 1;
        assertFalse(verifier.verify(root, p));
    }

    function test_verify_otherToken_fails() public view {
        StateProof.BalanceProof memory p = _proof(0);
        p.token ^= 1;
        assertFalse(verifier.verify(root, p));
    }

    function test_verify_otherAccountId_fails() public view {
        StateProof.BalanceProof memory p = _proof(0);
        p.accountId ^= 1;
        assertFalse(verifier.verify(root, p));
    }

    /// @dev The Merkle walk reads the low 20 bits of the id, so `verify` must refuse every wider id: each one
    ///      would otherwise be one more name (and one more escape nullifier) for the same leaf.
    function testFuzz_verify_accountIdAboveTree_fails(uint32 id) public view {
        StateProof.BalanceProof memory p = _proof(0);
        uint32 high = uint32(bound(id, C.MAX_ACCOUNTS, type(uint32).max));
        p.accountId = (high & ~uint32(C.MAX_ACCOUNTS - 1)) | p.accountId;
        assertEq(verifier.computeRoot(p), root, "same leaf, same root");
        assertFalse(verifier.verify(root, p));
    }

    /// @dev Values at or above the field modulus act as their residues: they change no key (the escape's key is
    ///      the account id and token id only), so a sibling or key coordinate written as `x + r` is harmless.
    function test_verify_siblingPlusModulus_sameRoot() public view {
        StateProof.BalanceProof memory p = _proof(1);
        uint256 s = p.accountSiblings[3];
        p.accountSiblings[3] = s + C.FIELD_MODULUS;
        assertTrue(verifier.verify(root, p));
    }

    function test_verify_otherOwner_fails() public view {
        StateProof.BalanceProof memory p = _proof(0);
        p.account.owner = address(0xbad);
        assertFalse(verifier.verify(root, p));
    }

    function testFuzz_verify_tamperedSibling_fails(uint256 level, uint256 delta) public view {
        StateProof.BalanceProof memory p = _proof(1);
        delta = bound(delta, 1, C.FIELD_MODULUS - 1);
        level = bound(level, 0, C.BALANCE_TREE_DEPTH + C.ACCOUNT_TREE_DEPTH - 1);
        if (level < C.BALANCE_TREE_DEPTH) {
            p.balanceSiblings[level] = addmod(p.balanceSiblings[level], delta, C.FIELD_MODULUS);
        } else {
            uint256 l = level - C.BALANCE_TREE_DEPTH;
            p.accountSiblings[l] = addmod(p.accountSiblings[l], delta, C.FIELD_MODULUS);
        }
        assertFalse(verifier.verify(root, p));
    }

    function test_verify_otherRoot_fails() public view {
        assertFalse(verifier.verify(root ^ 1, _proof(0)));
        assertFalse(verifier.verify(C.EMPTY_STATE_ROOT, _proof(0)));
    }
}
