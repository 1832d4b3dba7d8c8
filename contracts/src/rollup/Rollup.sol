// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Bridge} from "../bridge/Bridge.sol";
import {EscapeHatch} from "../escape/EscapeHatch.sol";
import {DataBinding as Binding} from "../generated/DataBinding.sol";
import {ProtocolConstants as C} from "../generated/ProtocolConstants.sol";
import {Records} from "../generated/Records.sol";
import {IBatchVerifier} from "../interfaces/IBatchVerifier.sol";
import {IProtocolHasher} from "../interfaces/IProtocolHasher.sol";
import {IRollup} from "../interfaces/IRollup.sol";

/// @title Rollup
/// @notice Batch commit, proof-checked finalization and execution (`docs/protocol.md`, section 8), on top of
///         the request queue, the bridge and the escape hatch. Roles (`docs/roles.md`): the sequencer commits;
///         the owner registers tokens, sets the sequencer and may revert unfinalized batches; governance (a
///         timelock whose delay exceeds the request deadline plus an exit window) alone replaces the verifier.
contract Rollup is EscapeHatch {
    /// @notice Deployment parameters.
    struct Config {
        address owner;
        address sequencer;
        address governance;
        IBatchVerifier verifier;
        IProtocolHasher hasher;
        uint256 chunkSlots;
        address feeRecipient;
        uint256 feePubkeyX;
        uint256 feePubkeyY;
        uint256 requestFee;
    }

    /// @dev The point evaluation precompile (EIP-4844), and its price: a call that fails consumes all the gas it is
    ///      given, so it is given exactly what it costs.
    address internal constant POINT_EVALUATION = address(0x0a);
    uint256 internal constant POINT_EVALUATION_GAS = 50_000;
    /// @notice Transaction slots per chunk: the batch verifier is generated for this value.
    uint256 public immutable CHUNK_SLOTS;
    /// @notice The block this rollup was deployed in: where re-deriving its state from L1 starts reading logs.
    uint256 public immutable DEPLOYMENT_BLOCK;
    /// @notice The timelock that alone may replace the verifier.
    address public immutable governance;
    /// @notice Verifies batch proofs.
    IBatchVerifier public verifier;
    /// @dev The verifier's capacity, packed with `verifier`: one storage read at commit.
    uint96 internal _maxChunksPerBatch;
    /// @notice Commits batches.
    address public sequencer;
    /// @inheritdoc IRollup
    uint256 public lastCommittedBatch;
    /// @inheritdoc IRollup
    uint256 public lastFinalizedBatch;
    mapping(uint256 batchIndex => Batch) internal _batches;

    modifier onlySequencer() {
        if (msg.sender != sequencer) revert NotSequencer(msg.sender);
        _;
    }

    /// @notice Deploys the rollup at genesis (empty state) and queues request 0: the fee account's creation.
    constructor(Config memory cfg) Bridge(cfg.owner, cfg.requestFee) EscapeHatch(cfg.hasher) {
        if (cfg.sequencer == address(0) || cfg.governance == address(0) || address(cfg.verifier) == address(0)) {
            revert ZeroAddress();
        }
        if (cfg.feeRecipient == address(0)) revert ZeroAddress();
        // No deployment without a verifier that can verify: request 0's deadline starts running here.
        if (address(cfg.verifier).code.length == 0) revert VerifierWithoutCode(address(cfg.verifier));
        if (cfg.chunkSlots == 0) revert BadChunkSlots(cfg.chunkSlots);
        CHUNK_SLOTS = cfg.chunkSlots;
        DEPLOYMENT_BLOCK = block.number;
        governance = cfg.governance;
        _setVerifier(cfg.verifier);
        sequencer = cfg.sequencer;
        emit SequencerChanged(cfg.sequencer);
        _deposit(cfg.feeRecipient, 0, 0, cfg.feePubkeyX, cfg.feePubkeyY);
    }

    // --------------------------------------------------------------------------------------------
    // Batches
    // --------------------------------------------------------------------------------------------

    /// @inheritdoc IRollup
    function commitBatch(uint256 batchIndex, bytes calldata pubdata, uint256 batchCommitment)
        external
        onlySequencer
        notEscapeMode
    {
        // A commit names its position: one sent again after a reorg, or twice under two nonces, lands at
        // most once instead of appending a duplicate batch that can never be proven.
        if (batchIndex != lastCommittedBatch + 1) revert UnexpectedBatchIndex(batchIndex, lastCommittedBatch + 1);
        if (batchCommitment >= C.FIELD_MODULUS) revert NonCanonicalCommitment(batchCommitment);
        // A batch is at most one blob's data, however it is posted (the core refuses longer ones, so every
        // re-deriving client would): L1 accepts no batch the protocol's one definition rejects.
        if (pubdata.length > C.MAX_BATCH_PUBDATA) revert PubdataTooLarge(pubdata.length, C.MAX_BATCH_PUBDATA);
        // One challenge for the whole batch, drawn from its bytes and the commitment chain; both evaluations run
        // over the whole batch.
        uint256 z = Binding.challenge(pubdata, batchCommitment);
        // Reverts unless the pubdata is whole records of known types.
        (uint256 l1Evaluation, uint256 records, uint256[] memory onchain) = Binding.evaluate(pubdata, z);
        uint256 n = records / CHUNK_SLOTS;
        if (n * CHUNK_SLOTS != records) revert PartialChunk(records);
        if (n == 0 || n > _maxChunksPerBatch) revert BadChunkCount(n);
        (uint256 next, bytes32 withdrawals) = _processChunk(pubdata, onchain, committedRequests, bytes32(0));
        _commit(
            batchIndex,
            DataBinding({
                commitment: batchCommitment,
                challenge: z,
                l1Evaluation: l1Evaluation,
                blobEvaluation: Binding.blobEvaluation(pubdata, z)
            }),
            next,
            withdrawals,
            0
        );
    }

    /// @inheritdoc IRollup
    function commitBatchBlob(
        uint256 batchIndex,
        bytes calldata l1Records,
        uint256 batchCommitment,
        uint256 blobEvaluation,
        bytes calldata kzgOpening
    ) external onlySequencer notEscapeMode {
        if (batchIndex != lastCommittedBatch + 1) {
            revert UnexpectedBatchIndex(batchIndex, lastCommittedBatch + 1);
        }
        if (batchCommitment >= C.FIELD_MODULUS) revert NonCanonicalCommitment(batchCommitment);
        bytes32 versionedHash = blobhash(0);
        if (versionedHash == bytes32(0)) revert NoBlob();
        // The challenge is drawn after the blob (its versioned hash), the records L1 acts on and the commitment
        // chain are fixed.
        uint256 z = Binding.blobChallenge(versionedHash, l1Records, batchCommitment);
        // Reverts unless the list is well formed and within the batch's slots.
        (uint256 l1Evaluation, uint256[] memory onchain) =
            Binding.evaluateList(l1Records, z, _maxChunksPerBatch * CHUNK_SLOTS);
        _checkOpening(versionedHash, z, blobEvaluation, kzgOpening);
        (uint256 next, bytes32 withdrawals) = _processChunk(l1Records, onchain, committedRequests, bytes32(0));
        _commit(
            batchIndex,
            DataBinding({
                commitment: batchCommitment, challenge: z, l1Evaluation: l1Evaluation, blobEvaluation: blobEvaluation
            }),
            next,
            withdrawals,
            uint64(block.timestamp)
        );
    }

    /// @inheritdoc IRollup
    function finalizeBatch(uint256 batchIndex, DataBinding calldata binding, uint256 newStateRoot, bytes calldata proof)
        external
        notEscapeMode
    {
        if (batchIndex != lastFinalizedBatch + 1 || batchIndex > lastCommittedBatch) {
            revert BatchNotFinalizable(batchIndex);
        }
        Batch storage b = _batches[batchIndex];
        if (keccak256(abi.encode(binding)) != b.bindingHash) revert BatchDataMismatch(batchIndex);
        // A blob batch is finalized while its blob is still served, with days to spare for anyone to fetch it.
        uint256 blobCommittedAt = b.blobCommittedAt;
        if (blobCommittedAt != 0 && block.timestamp > blobCommittedAt + C.BLOB_FINALIZE_WINDOW) {
            revert BlobFinalizeWindowPassed(batchIndex, blobCommittedAt + C.BLOB_FINALIZE_WINDOW);
        }
        if (newStateRoot >= C.FIELD_MODULUS) revert NonCanonicalRoot(newStateRoot);
        // Every public input is built here: the previous root from storage, the data binding from the commit;
        // the verifier adds the chunk key digest it pins.
        uint256[7] memory inputs = [
            stateRoot,
            newStateRoot,
            binding.commitment,
            binding.challenge,
            binding.l1Evaluation,
            binding.blobEvaluation & ((1 << C.BLOB_EVALUATION_LOW_BITS) - 1),
            binding.blobEvaluation >> C.BLOB_EVALUATION_LOW_BITS
        ];
        if (!_verifyBatch(inputs, proof)) revert InvalidProof(batchIndex);
        stateRoot = newStateRoot;
        lastFinalizedBatch = batchIndex;
        finalizedRequests = b.requestsEnd;
        emit BatchFinalized(batchIndex, newStateRoot);
    }

    /// @inheritdoc IRollup
    function executeBatch(uint256 batchIndex, Withdrawal[] calldata withdrawals) external {
        Batch storage b = _batches[batchIndex];
        if (batchIndex == 0 || batchIndex > lastFinalizedBatch || b.executed) revert BatchNotExecutable(batchIndex);
        if (withdrawalsHashOf(withdrawals) != b.withdrawalsHash) revert BatchDataMismatch(batchIndex);
        b.executed = true;
        for (uint256 i = 0; i < withdrawals.length; ++i) {
            Withdrawal calldata w = withdrawals[i];
            _credit(_accountOwners[w.accountId], w.token, w.amount);
            _release(w.token, w.amount);
        }
        emit BatchExecuted(batchIndex);
    }

    /// @inheritdoc IRollup
    function revertBatches(uint256 lastKeptBatch) external onlyOwner notEscapeMode {
        uint256 last = lastCommittedBatch;
        if (lastKeptBatch < lastFinalizedBatch || lastKeptBatch >= last) revert NothingToRevert(lastKeptBatch);
        for (uint256 i = lastKeptBatch + 1; i <= last; ++i) {
            delete _batches[i];
        }
        lastCommittedBatch = lastKeptBatch;
        // The discarded batches' requests go back to the queue; their deadlines keep running.
        committedRequests = _batches[lastKeptBatch].requestsEnd;
        emit BatchesReverted(lastKeptBatch);
    }

    /// @inheritdoc IRollup
    function withdrawalsHashOf(Withdrawal[] calldata withdrawals) public pure returns (bytes32 h) {
        for (uint256 i = 0; i < withdrawals.length; ++i) {
            h = _chain(h, withdrawals[i].accountId, withdrawals[i].token, withdrawals[i].amount);
        }
    }

    // --------------------------------------------------------------------------------------------
    // Administration
    // --------------------------------------------------------------------------------------------

    /// @inheritdoc IRollup
    function setSequencer(address sequencer_) external onlyOwner {
        if (sequencer_ == address(0)) revert ZeroAddress();
        sequencer = sequencer_;
        emit SequencerChanged(sequencer_);
    }

    /// @inheritdoc IRollup
    function setVerifier(IBatchVerifier verifier_) external {
        if (msg.sender != governance) revert NotGovernance(msg.sender);
        _setVerifier(verifier_);
    }

    // --------------------------------------------------------------------------------------------
    // Views
    // --------------------------------------------------------------------------------------------

    /// @inheritdoc IRollup
    function batch(uint256 batchIndex) external view returns (Batch memory) {
        return _batches[batchIndex];
    }

    /// @inheritdoc IRollup
    function maxChunksPerBatch() external view returns (uint256) {
        return _maxChunksPerBatch;
    }

    // --------------------------------------------------------------------------------------------
    // Internal
    // --------------------------------------------------------------------------------------------

    /// @dev Stores a committed batch and emits `BatchCommitted`: both commit paths end here. `blobCommittedAt` is
    ///      the block's timestamp for a blob commit, 0 for calldata (it shares the slot of `requestsEnd`).
    function _commit(
        uint256 batchIndex,
        DataBinding memory binding,
        uint256 next,
        bytes32 withdrawals,
        uint64 blobCommittedAt
    ) internal {
        lastCommittedBatch = batchIndex;
        _batches[batchIndex] = Batch({
            bindingHash: keccak256(abi.encode(binding)),
            withdrawalsHash: withdrawals,
            requestsEnd: uint64(next),
            blobCommittedAt: blobCommittedAt,
            executed: false
        });
        committedRequests = next;
        emit BatchCommitted(batchIndex, binding, uint64(next), withdrawals);
    }

    /// @dev The point evaluation precompile (EIP-4844) on `versionedHash`, `z`, `y` and the 96-byte opening; it
    ///      returns the blob's field element count and the field's modulus only when the KZG proof holds (and `z`,
    ///      `y` are canonical, and the commitment hashes to `versionedHash`).
    function _checkOpening(bytes32 versionedHash, uint256 z, uint256 y, bytes calldata opening) internal view {
        if (opening.length != 96) revert BlobOpeningFailed(versionedHash);
        (bool ok, bytes memory out) =
            POINT_EVALUATION.staticcall{gas: POINT_EVALUATION_GAS}(abi.encodePacked(versionedHash, z, y, opening));
        if (!ok || out.length != 64) revert BlobOpeningFailed(versionedHash);
        (, uint256 modulus) = abi.decode(out, (uint256, uint256));
        if (modulus != Binding.R_BLS) revert BlobOpeningFailed(versionedHash);
    }

    /// @dev Only a verifier that returns exactly one ABI word equal to 1 accepts the proof. One that reverts,
    ///      returns nothing, returns more or less than a word, or any other value rejects it, so every rejection
    ///      surfaces as `InvalidProof` (a `try` would revert with empty data on undecodable return data).
    function _verifyBatch(uint256[7] memory publicInputs, bytes calldata proof) internal view returns (bool) {
        (bool ok, bytes memory ret) =
            address(verifier).staticcall(abi.encodeCall(IBatchVerifier.verifyBatch, (publicInputs, proof)));
        return ok && ret.length == 32 && abi.decode(ret, (uint256)) == 1;
    }

    /// @dev Installs a batch verifier: it must have code, prove batches of this rollup's chunk size, and cover at
    ///      most `MAX_CHUNKS_PER_BATCH` chunks (the bound the batch binding's soundness argument uses); its capacity
    ///      becomes the most chunks a commit may hold.
    function _setVerifier(IBatchVerifier verifier_) internal {
        if (address(verifier_) == address(0)) revert ZeroAddress();
        if (address(verifier_).code.length == 0) revert VerifierWithoutCode(address(verifier_));
        uint256 slots = verifier_.CHUNK_SLOTS();
        if (slots != CHUNK_SLOTS) revert VerifierChunkSlotsMismatch(slots, CHUNK_SLOTS);
        uint256 capacity = verifier_.CAPACITY();
        if (capacity == 0 || capacity > C.MAX_CHUNKS_PER_BATCH) revert BadVerifierCapacity(capacity);
        verifier = verifier_;
        _maxChunksPerBatch = uint96(capacity);
        emit VerifierChanged(address(verifier_), capacity);
    }

    /// @dev Acts on the records of a chunk that L1 acts on, at the offsets `DataBinding.evaluate` found
    ///      (it validated every record): L1 requests must be the next ones in the queue; withdrawals and
    ///      forced exits extend the withdrawals hash chain. Noops and transfers are not visited.
    function _processChunk(bytes calldata chunk, uint256[] memory onchain, uint256 next, bytes32 withdrawals)
        internal
        view
        returns (uint256, bytes32)
    {
        for (uint256 k = 0; k < onchain.length; ++k) {
            uint256 offset = onchain[k];
            uint8 ty = uint8(chunk[offset]);
            if (ty == C.TYPE_DEPOSIT || ty == C.TYPE_CHANGE_KEY) {
                _consume(next++, keccak256(chunk[offset:offset + Binding.recordLength(ty)]));
            } else if (ty == C.TYPE_FORCED_EXIT) {
                _consume(next++, keccak256(chunk[offset:offset + Records.FORCED_EXIT_REQUEST_LENGTH]));
                withdrawals = _chainWithdrawal(
                    withdrawals,
                    Records.forcedExitAccount(chunk, offset),
                    Records.forcedExitToken(chunk, offset),
                    Records.forcedExitAmount(chunk, offset)
                );
            } else if (ty == C.TYPE_WITHDRAW) {
                withdrawals = _chainWithdrawal(
                    withdrawals,
                    Records.withdrawAccount(chunk, offset),
                    Records.withdrawToken(chunk, offset),
                    Records.withdrawAmount(chunk, offset)
                );
            }
        }
        return (next, withdrawals);
    }

    function _chainWithdrawal(bytes32 h, uint32 accountId, uint8 tokenId, uint128 amount)
        internal
        view
        returns (bytes32)
    {
        if (accountId >= _accountOwners.length) revert UnknownAccountId(accountId);
        return _chain(h, accountId, tokenId, amount);
    }

    function _chain(bytes32 h, uint32 accountId, uint8 tokenId, uint128 amount) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(h, accountId, tokenId, amount));
    }
}
