// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ProtocolConstants as C} from "../../src/generated/ProtocolConstants.sol";
import {StateProof} from "../../src/generated/StateProof.sol";
import {IRollup} from "../../src/interfaces/IRollup.sol";
import {Rollup} from "../../src/rollup/Rollup.sol";
import {MockERC20} from "../mocks/Tokens.sol";
import {DataBindingHarness} from "../utils/DataBindingHarness.sol";
import {Pubdata} from "../utils/Pubdata.sol";
import {Test} from "../utils/Test.sol";
import {Vectors} from "../utils/Vectors.sol";

/// @notice Drives escape mode over real state roots: the protocol core's `escape_states.json` holds a few
///         states of the same accounts (each reached from the last by L2 transfers, so every state holds
///         the same totals), with a balance proof of every (account, token). The handler finalizes any of
///         them, activates escape mode, then escapes with honest, aliased (`id + k·2^20`) and inflated
///         proofs in any order, and pulls. It records what the bridge paid so the invariants can compare it
///         with the finalized state.
contract EscapeHandler is Test {
    uint256 public constant TOKENS = 2;

    Rollup public immutable rollup;
    MockERC20 public immutable token;
    uint8 public immutable tokenId;
    address public immutable sequencer;
    DataBindingHarness public immutable binding = new DataBindingHarness();

    uint256 public stateCount;
    uint256 public proofCount;
    /// @notice The state finalized last (an index into the vector's states).
    uint256 public current;
    bool public finalized;
    /// @dev The vector, read once: roots, proofs per state, totals per token.
    uint256[] internal _roots;
    mapping(uint256 state => mapping(uint256 i => StateProof.BalanceProof)) internal _proofs;
    uint256[TOKENS] internal _totals;

    /// @notice Per (account, token) key: how many escapes were paid.
    mapping(uint256 => uint256) public paidCount;
    uint256 public maxPaidCount;
    /// @notice Per token (0 ETH, 1 the ERC20): what escapes paid in all.
    uint256[TOKENS] public escapedTotal;
    /// @notice Owners that ever received a payout (their pending balances count as owed).
    address[] public payees;
    mapping(address => bool) internal _isPayee;

    string public violation;

    constructor(Rollup r, MockERC20 t, uint8 tid, address seq) {
        rollup = r;
        token = t;
        tokenId = tid;
        sequencer = seq;
        string memory json = Vectors.read("escape_states.json");
        stateCount = Vectors.count(json, ".states");
        proofCount = Vectors.count(json, ".states[0].proofs");
        for (uint256 st = 0; st < stateCount; ++st) {
            string memory k = string.concat(".states[", vm.toString(st), "]");
            _roots.push(uint256(vm.parseJsonBytes32(json, string.concat(k, ".root"))));
            for (uint256 i = 0; i < proofCount; ++i) {
                _proofs[st][i] = Vectors.balanceProofAt(json, string.concat(k, ".proofs[", vm.toString(i), "]."));
            }
        }
        for (uint256 tk = 0; tk < TOKENS; ++tk) {
            _totals[tk] = vm.parseJsonUint(json, string.concat(".totals[", vm.toString(tk), "]"));
        }
    }

    function _t(uint8 tid) internal view returns (uint256) {
        return tid == tokenId ? 1 : 0;
    }

    /// @notice The root of state `i`.
    function rootOf(uint256 i) public view returns (uint256) {
        return _roots[i];
    }

    /// @notice What every state holds of token `t` in all (the same for each: transfers only).
    function totalOf(uint256 t) public view returns (uint256) {
        return _totals[t];
    }

    // ------------------------------------------------------------------------------------------------
    // Actions
    // ------------------------------------------------------------------------------------------------

    /// @notice Finalizes state `seed % stateCount` through a batch of no-ops (the mock verifier stands for the
    ///         proof; the root is the core's).
    function finalizeState(uint256 seed) external {
        if (rollup.escapeMode()) return;
        uint256 i = seed % stateCount;
        bytes[] memory chunks = new bytes[](1);
        chunks[0] = hex"00000000";
        // Any canonical commitment: the mock verifier stands for the proof that would bind it.
        (uint256 z, uint256 l1, uint256 blob,) = binding.binding(Pubdata.cat(chunks), 1);
        IRollup.DataBinding memory dcs =
            IRollup.DataBinding({commitment: 1, challenge: z, l1Evaluation: l1, blobEvaluation: blob});
        uint256 nextIndex = rollup.lastCommittedBatch() + 1;
        vm.prank(sequencer);
        rollup.commitBatch(nextIndex, Pubdata.cat(chunks), 1);
        rollup.finalizeBatch(rollup.lastCommittedBatch(), dcs, rootOf(i), hex"01");
        current = i;
        finalized = true;
    }

    /// @notice Request 0 (the fee account) is never processed: past its deadline anyone activates escape mode.
    function activate() external {
        if (rollup.escapeMode() || !finalized) return;
        vm.warp(rollup.request(0).deadline + 1);
        rollup.activateEscapeMode();
    }

    /// @notice An escape with proof `seed % proofCount` of the finalized state: honest (`mode` 0), with the
    ///         account id aliased by `k·2^20` (1), or with the balance raised by one (2).
    function escape(uint256 seed, uint8 mode, uint32 k) external {
        if (!rollup.escapeMode()) return;
        StateProof.BalanceProof memory p = _proofs[current][seed % proofCount];
        uint256 key = (uint256(p.accountId) << 8) | p.token;
        mode %= 3;
        if (mode == 1) {
            uint256 shift = bound(k, 1, 4095);
            p.accountId = uint32(uint256(p.accountId) + shift * C.MAX_ACCOUNTS);
        } else if (mode == 2) {
            if (p.balance == type(uint128).max) return;
            p.balance += 1;
        }
        bool shouldPay = mode == 0 && paidCount[key] == 0;
        uint256 before = rollup.pending(p.account.owner, p.token);
        try rollup.escape(p) {
            if (!shouldPay) violation = "an escape was paid that must be refused";
            ++paidCount[key];
            if (paidCount[key] > maxPaidCount) maxPaidCount = paidCount[key];
            escapedTotal[_t(p.token)] += p.balance;
            if (rollup.pending(p.account.owner, p.token) != before + p.balance) violation = "paid a wrong amount";
            if (!_isPayee[p.account.owner]) {
                _isPayee[p.account.owner] = true;
                payees.push(p.account.owner);
            }
        } catch {
            if (shouldPay) violation = "an honest first escape was refused";
        }
    }

    /// @notice An owner pulls what escapes credited to it.
    function pull(uint256 seed, bool erc20) external {
        if (payees.length == 0) return;
        address a = payees[seed % payees.length];
        uint8 tid = erc20 ? tokenId : 0;
        if (rollup.pending(a, tid) == 0) return;
        vm.prank(a);
        rollup.withdrawPending(tid, a);
    }

    function warp(uint256 secs) external {
        vm.warp(block.timestamp + bound(secs, 0, 3 days));
    }

    function payeeCount() external view returns (uint256) {
        return payees.length;
    }

    /// @notice What the finalized state still owes in `t` to balances not yet escaped.
    function unescaped(uint256 t) external view returns (uint256 sum) {
        if (!finalized) return _totals[t];
        for (uint256 i = 0; i < proofCount; ++i) {
            StateProof.BalanceProof storage p = _proofs[current][i];
            if (_t(p.token) != t) continue;
            if (paidCount[(uint256(p.accountId) << 8) | p.token] == 0) sum += p.balance;
        }
    }
}
