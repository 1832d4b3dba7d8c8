// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Bridge} from "../bridge/Bridge.sol";
import {ProtocolConstants as C} from "../generated/ProtocolConstants.sol";
import {Records} from "../generated/Records.sol";
import {StateProof} from "../generated/StateProof.sol";
import {IProtocolHasher} from "../interfaces/IProtocolHasher.sol";
import {IRollup} from "../interfaces/IRollup.sol";

/// @title EscapeHatch
/// @notice Escape mode (`docs/protocol.md`, section 10): permissionless and time based, final once on. Then
///         every (account, token) balance of the last finalized state is paid once to the account's owner on a
///         Merkle proof, and deposits no finalized batch consumed are refunded. No role appears in this
///         contract: nobody can pause, delay or block it.
abstract contract EscapeHatch is Bridge {
    /// @notice Checks balance proofs with the generated Poseidon2 permutation.
    IProtocolHasher public immutable hasher;
    /// @inheritdoc IRollup
    uint256 public stateRoot;
    /// @notice Whether the balance of (account, token) was paid out: key `accountId << 8 | tokenId`, with
    ///         `accountId < MAX_ACCOUNTS` (checked before the key is formed), so each leaf has exactly one key.
    mapping(uint256 => bool) public escaped;
    /// @notice Whether the deposit request was refunded.
    mapping(uint256 requestIndex => bool) public refunded;

    constructor(IProtocolHasher hasher_) {
        if (address(hasher_) == address(0)) revert ZeroAddress();
        hasher = hasher_;
        stateRoot = C.EMPTY_STATE_ROOT;
    }

    /// @inheritdoc IRollup
    function activateEscapeMode() external notEscapeMode {
        uint256 i = finalizedRequests;
        uint256 deadline = i < totalRequests ? _requests[i].deadline : 0;
        if (deadline == 0 || block.timestamp <= deadline) revert DeadlineNotPassed(i, deadline);
        escapeMode = true;
        emit EscapeModeActivated(i);
    }

    /// @inheritdoc IRollup
    function escape(StateProof.BalanceProof calldata proof) external {
        if (!escapeMode) revert EscapeModeNotActive();
        // The Merkle walk reads only the tree's 20 bits of the id: a wider id would name the same leaf under a
        // new nullifier key and be paid again.
        if (proof.accountId >= C.MAX_ACCOUNTS) revert UnknownAccountId(proof.accountId);
        uint256 key = (uint256(proof.accountId) << 8) | proof.token;
        if (escaped[key]) revert AlreadyEscaped(proof.accountId, proof.token);
        if (!hasher.verify(stateRoot, proof)) revert InvalidBalanceProof(proof.accountId, proof.token);
        escaped[key] = true;
        _credit(proof.account.owner, proof.token, proof.balance);
        emit Escaped(proof.accountId, proof.token, proof.account.owner, proof.balance);
    }

    /// @inheritdoc IRollup
    function refundDeposit(uint256 requestIndex, bytes calldata record) external {
        if (!escapeMode) revert EscapeModeNotActive();
        if (requestIndex < finalizedRequests) revert RequestFinalized(requestIndex);
        if (requestIndex >= totalRequests) revert RequestOutOfRange(requestIndex);
        if (
            record.length != C.LENGTH_DEPOSIT || uint8(record[0]) != C.TYPE_DEPOSIT
                || keccak256(record) != _requests[requestIndex].recordHash
        ) revert NotADeposit(requestIndex);
        if (refunded[requestIndex]) revert AlreadyRefunded(requestIndex);
        refunded[requestIndex] = true;
        // Deposits credit their sender's own account, so the owner is the depositor.
        address depositor = Records.depositOwner(record, 0);
        uint8 tokenId = Records.depositToken(record, 0);
        uint256 amount = Records.depositAmount(record, 0);
        _credit(depositor, tokenId, amount);
        emit DepositRefunded(requestIndex, depositor, tokenId, amount);
    }
}
