// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ProtocolConstants as C} from "../../src/generated/ProtocolConstants.sol";
import {IProtocolHasher} from "../../src/interfaces/IProtocolHasher.sol";
import {IRollup} from "../../src/interfaces/IRollup.sol";
import {BabyJubjub} from "../../src/libraries/BabyJubjub.sol";
import {Rollup} from "../../src/rollup/Rollup.sol";
import {MockERC20} from "../mocks/Tokens.sol";
import {DataBindingHarness} from "../utils/DataBindingHarness.sol";
import {Pubdata} from "../utils/Pubdata.sol";
import {Test} from "../utils/Test.sol";

/// @notice Drives the rollup the way users, the sequencer and provers would, with a model of the L2
///         balances, so that the invariants can compare the bridge's holdings with what it owes.
contract RollupHandler is Test {
    uint256 internal constant SLOTS = 4;
    uint256 internal constant KEY_X = 5299619240641551281634865583518297030282874472190772894086521144482721001553;
    uint256 internal constant KEY_Y = 16950150798460657717958625567821834550301663161624707787222815936182638968203;

    struct Req {
        uint8 kind;
        uint32 accountId;
        address depositor;
        uint8 token;
        uint128 amount;
        bytes record;
    }

    struct BatchModel {
        IRollup.DataBinding binding;
        IRollup.Withdrawal[] withdrawals;
        int256[2] deposits;
        int256[2] withdrawn;
        bool executed;
    }

    Rollup public immutable rollup;
    IProtocolHasher public immutable hasher;
    DataBindingHarness public immutable binding = new DataBindingHarness();
    MockERC20 public immutable token;
    uint8 public immutable tokenId;
    address public immutable sequencer;
    address public immutable owner;

    address[] public actors;
    Req[] internal _reqs;
    mapping(uint256 => BatchModel) internal _batches;
    mapping(uint32 => mapping(uint8 => uint256)) public committedBalance;
    uint256 public nextToExecute = 1;

    /// @notice Per token (0 ETH, 1 the ERC20): finalized L2 total, unexecuted finalized withdrawals, deposits
    ///         not in finalized state and not refunded.
    int256[2] public finalizedTotal;
    int256[2] public unexecutedWithdrawals;
    int256[2] public unfinalizedDeposits;
    mapping(uint256 => uint256) public refundCount;
    uint256 public maxRefundCount;

    /// @notice Set when the contract did something an invariant forbids (checked by the invariant tests).
    string public violation;
    uint256 public escapeAttemptsBeforeDeadline;
    uint256 public commitsAttemptedInEscape;
    bool public escapeSeen;

    /// @dev Escape mode is final: checked around every action.
    modifier checksEscapeFinal() {
        _;
        if (escapeSeen && !rollup.escapeMode()) violation = "escape mode turned off";
        if (rollup.escapeMode()) escapeSeen = true;
    }

    constructor(Rollup r, IProtocolHasher h, MockERC20 t, uint8 tid, address seq, address own, address fee) {
        rollup = r;
        hasher = h;
        token = t;
        tokenId = tid;
        sequencer = seq;
        owner = own;
        for (uint256 i = 0; i < 3; ++i) {
            address a = address(uint160(0xA000 + i));
            actors.push(a);
            vm.deal(a, 1e30);
            t.mint(a, 1e30);
            vm.prank(a);
            t.approve(address(r), type(uint256).max);
        }
        // Request 0: the fee account, queued by the constructor.
        _reqs.push(
            Req(
                C.TYPE_DEPOSIT,
                0,
                fee,
                0,
                0,
                abi.encodePacked(C.TYPE_DEPOSIT, uint24(0), fee, uint8(0), uint128(0), bytes32(0))
            )
        );
    }

    function _t(uint8 tid) internal view returns (uint256) {
        return tid == 0 ? 0 : 1;
    }

    // ------------------------------------------------------------------------------------------------
    // Users
    // ------------------------------------------------------------------------------------------------

    function deposit(uint256 actorSeed, uint256 amount, bool erc20) external checksEscapeFinal {
        if (rollup.escapeMode()) return;
        address a = actors[actorSeed % actors.length];
        amount = bound(amount, 0, 1e24);
        (bool existed, uint32 id) = rollup.accountOf(a);
        uint8 tid = erc20 ? tokenId : 0;
        uint256 fee = rollup.requestFee(a);
        vm.prank(a);
        if (erc20) rollup.depositErc20{value: fee}(address(token), amount, KEY_X, KEY_Y);
        else rollup.depositEth{value: amount + fee}(KEY_X, KEY_Y);
        if (!existed) (, id) = rollup.accountOf(a);
        bytes32 k = existed ? bytes32(0) : BabyJubjub.compress(KEY_X, KEY_Y);
        _reqs.push(
            Req(
                C.TYPE_DEPOSIT,
                id,
                a,
                tid,
                uint128(amount),
                abi.encodePacked(C.TYPE_DEPOSIT, uint24(id), a, tid, uint128(amount), k)
            )
        );
        unfinalizedDeposits[_t(tid)] += int256(amount);
    }

    function forcedExit(uint256 actorSeed, bool erc20) external checksEscapeFinal {
        if (rollup.escapeMode()) return;
        address a = actors[actorSeed % actors.length];
        (bool existed, uint32 id) = rollup.accountOf(a);
        if (!existed) return;
        uint8 tid = erc20 ? tokenId : 0;
        uint256 fee = rollup.requestFee(a);
        vm.prank(a);
        rollup.requestForcedExit{value: fee}(tid);
        _reqs.push(Req(C.TYPE_FORCED_EXIT, id, a, tid, 0, ""));
    }

    function pull(uint256 actorSeed, bool erc20) external checksEscapeFinal {
        address a = actors[actorSeed % actors.length];
        uint8 tid = erc20 ? tokenId : 0;
        if (rollup.pending(a, tid) == 0) return;
        vm.prank(a);
        rollup.withdrawPending(tid, a);
    }

    function warp(uint256 secs) external checksEscapeFinal {
        vm.warp(block.timestamp + bound(secs, 0, 3 days));
    }

    // ------------------------------------------------------------------------------------------------
    // Operator
    // ------------------------------------------------------------------------------------------------

    /// @notice Commits one chunk: up to 3 next requests in queue order, then maybe a withdrawal.
    function commitBatch(uint256 take, uint256 actorSeed, uint256 amount, bool erc20) external checksEscapeFinal {
        if (rollup.escapeMode()) {
            _commitInEscape();
            return;
        }
        uint256 next = rollup.committedRequests();
        take = bound(take, 0, 3);
        if (take > _reqs.length - next) take = _reqs.length - next;
        uint256 b = rollup.lastCommittedBatch() + 1;
        delete _batches[b];
        BatchModel storage m = _batches[b];
        bytes memory chunk;
        for (uint256 i = 0; i < take; ++i) {
            Req storage r = _reqs[next + i];
            if (r.kind == C.TYPE_DEPOSIT) {
                chunk = bytes.concat(chunk, r.record);
                committedBalance[r.accountId][r.token] += r.amount;
                m.deposits[_t(r.token)] += int256(uint256(r.amount));
            } else {
                uint256 bal = committedBalance[r.accountId][r.token];
                committedBalance[r.accountId][r.token] = 0;
                chunk = bytes.concat(
                    chunk, abi.encodePacked(C.TYPE_FORCED_EXIT, uint24(r.accountId), r.token, uint128(bal))
                );
                m.withdrawals.push(IRollup.Withdrawal(r.accountId, r.token, uint128(bal)));
                m.withdrawn[_t(r.token)] += int256(bal);
            }
        }
        uint256 used = take;
        (bool exists, uint32 id) = rollup.accountOf(actors[actorSeed % actors.length]);
        uint8 tid = erc20 ? tokenId : 0;
        if (exists && committedBalance[id][tid] > 0) {
            uint256 w = bound(amount, 1, committedBalance[id][tid]);
            committedBalance[id][tid] -= w;
            chunk = bytes.concat(chunk, abi.encodePacked(C.TYPE_WITHDRAW, uint24(id), tid, uint128(w), uint16(0)));
            m.withdrawals.push(IRollup.Withdrawal(id, tid, uint128(w)));
            m.withdrawn[_t(tid)] += int256(w);
            ++used;
        }
        for (; used < SLOTS; ++used) {
            chunk = bytes.concat(chunk, hex"00");
        }
        // Any canonical commitment: the mock verifier stands for the proof that would bind it.
        m.binding = _bindingOf(chunk, b);
        vm.prank(sequencer);
        rollup.commitBatch(b, chunk, b);
        if (rollup.committedRequests() != next + take) violation = "requests not consumed in order";
    }

    function _bindingOf(bytes memory pubdata, uint256 commitment) internal view returns (IRollup.DataBinding memory) {
        (uint256 z, uint256 l1, uint256 blob,) = binding.binding(pubdata, commitment);
        return IRollup.DataBinding({commitment: commitment, challenge: z, l1Evaluation: l1, blobEvaluation: blob});
    }

    /// @notice A chunk that skips the next request must never commit.
    function commitOutOfOrder() external checksEscapeFinal {
        if (rollup.escapeMode()) return;
        uint256 next = rollup.committedRequests();
        if (_reqs.length < next + 2 || _reqs[next + 1].kind != C.TYPE_DEPOSIT) return;
        bytes memory chunk = bytes.concat(_reqs[next + 1].record, hex"000000");
        bytes[] memory chunks = new bytes[](1);
        chunks[0] = chunk;
        uint256 nextIndex = rollup.lastCommittedBatch() + 1;
        vm.prank(sequencer);
        try rollup.commitBatch(nextIndex, Pubdata.cat(chunks), 0) {
            violation = "a chunk skipped a request";
        } catch {}
    }

    /// @notice A commit that names any index but the next one (a resent or stale commit) must never land.
    function commitAtWrongIndex(uint256 index) external checksEscapeFinal {
        if (rollup.escapeMode()) return;
        uint256 nextIndex = rollup.lastCommittedBatch() + 1;
        if (index == nextIndex) ++index;
        // A chunk of no-ops, which would commit at the right index.
        bytes[] memory chunks = new bytes[](1);
        chunks[0] = new bytes(SLOTS);
        vm.prank(sequencer);
        try rollup.commitBatch(index, Pubdata.cat(chunks), 0) {
            violation = "a commit landed at another index than the next";
        } catch {}
    }

    function _commitInEscape() internal {
        ++commitsAttemptedInEscape;
        bytes[] memory chunks = new bytes[](1);
        chunks[0] = hex"00000000";
        uint256 nextIndex = rollup.lastCommittedBatch() + 1;
        vm.prank(sequencer);
        try rollup.commitBatch(nextIndex, Pubdata.cat(chunks), 0) {
            violation = "commit in escape mode";
        } catch {}
    }

    function finalizeBatch(uint256 root) external checksEscapeFinal {
        uint256 b = rollup.lastFinalizedBatch() + 1;
        if (b > rollup.lastCommittedBatch()) return;
        BatchModel storage m = _batches[b];
        uint256 newRoot = bound(root, 0, C.FIELD_MODULUS - 1);
        bool escape = rollup.escapeMode();
        try rollup.finalizeBatch(b, m.binding, newRoot, "") {
            if (escape) violation = "finalize in escape mode";
            for (uint256 t = 0; t < 2; ++t) {
                finalizedTotal[t] += m.deposits[t] - m.withdrawn[t];
                unexecutedWithdrawals[t] += m.withdrawn[t];
                unfinalizedDeposits[t] -= m.deposits[t];
            }
        } catch {
            if (!escape) violation = "a valid finalize reverted";
        }
    }

    function executeBatch() external checksEscapeFinal {
        uint256 b = nextToExecute;
        if (b > rollup.lastFinalizedBatch()) return;
        BatchModel storage m = _batches[b];
        rollup.executeBatch(b, m.withdrawals);
        for (uint256 t = 0; t < 2; ++t) {
            unexecutedWithdrawals[t] -= m.withdrawn[t];
        }
        ++nextToExecute;
    }

    // ------------------------------------------------------------------------------------------------
    // Escape
    // ------------------------------------------------------------------------------------------------

    function activateEscapeMode() external checksEscapeFinal {
        if (rollup.escapeMode()) return;
        uint256 i = rollup.finalizedRequests();
        bool overdue = i < rollup.totalRequests() && block.timestamp > rollup.request(i).deadline;
        try rollup.activateEscapeMode() {
            if (!overdue) violation = "escape mode before the deadline";
        } catch {
            if (overdue) violation = "escape mode refused after the deadline";
            ++escapeAttemptsBeforeDeadline;
        }
    }

    function refund(uint256 seed) external checksEscapeFinal {
        if (!rollup.escapeMode() || _reqs.length == 0) return;
        uint256 i = bound(seed, 0, _reqs.length - 1);
        Req storage r = _reqs[i];
        if (r.kind != C.TYPE_DEPOSIT) return;
        bool eligible = i >= rollup.finalizedRequests() && !rollup.refunded(i);
        try rollup.refundDeposit(i, r.record) {
            if (!eligible) violation = "refund of a finalized or refunded deposit";
            unfinalizedDeposits[_t(r.token)] -= int256(uint256(r.amount));
            ++refundCount[i];
            if (refundCount[i] > maxRefundCount) maxRefundCount = refundCount[i];
        } catch {
            if (eligible) violation = "an eligible refund reverted";
        }
    }

    /// @notice The roles try what they still can after escape mode; none of it may turn escape mode off.
    function rolesAct(address newSequencer) external checksEscapeFinal {
        if (newSequencer == address(0)) newSequencer = address(1);
        vm.prank(owner);
        rollup.setSequencer(newSequencer);
        vm.prank(owner);
        rollup.setSequencer(sequencer);
        if (rollup.escapeMode()) {
            vm.prank(owner);
            try rollup.revertBatches(rollup.lastFinalizedBatch()) {
                violation = "revert in escape mode";
            } catch {}
        }
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }
}
