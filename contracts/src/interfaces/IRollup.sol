// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {StateProof} from "../generated/StateProof.sol";
import {IBatchVerifier} from "./IBatchVerifier.sol";

/// @title IRollup
/// @notice The L1 side of the rollup (`docs/protocol.md`, sections 8 to 11): the queue of L1 requests
///         (deposits, forced exits, key changes), the bridge that holds the funds, batch commit, proof-checked
///         finalization and execution, and the escape hatch. Roles are listed in `docs/roles.md`.
interface IRollup {
    // ---------------------------------------------------------------------------------------------
    // Types
    // ---------------------------------------------------------------------------------------------

    /// @notice What binds a batch proof to the batch's data (`docs/protocol.md`, section 7).
    /// @param commitment `C_B`: the Poseidon chain of the chunks' data commitments, supplied by the sequencer.
    /// @param challenge `z < 2²⁵³`: `keccak256(keccak256(pubdata) ‖ C_B)` with its top three bits cleared,
    ///        computed at commit.
    /// @param l1Evaluation `Y_L1`: the records L1 acts on evaluated at `z` (modulo BN254's `r`), computed at commit.
    /// @param blobEvaluation `y`: the blob polynomial of the batch's pubdata at `z` (modulo BLS12-381's `r`),
    ///        computed at commit.
    struct DataBinding {
        uint256 commitment;
        uint256 challenge;
        uint256 l1Evaluation;
        uint256 blobEvaluation;
    }

    /// @notice What a committed batch must later be finalized and executed against.
    /// @param bindingHash keccak256 of the batch's data binding (abi-encoded `DataBinding`).
    /// @param withdrawalsHash Hash chain of the batch's withdrawals (see `withdrawalsHashOf`).
    /// @param requestsEnd Requests consumed by this and every earlier batch.
    /// @param blobCommittedAt Timestamp of the block that committed it when its pubdata is a blob, 0 for a batch in
    ///        calldata: it must be finalized by `blobCommittedAt + BLOB_FINALIZE_WINDOW`, while its blob is still
    ///        on the beacon chain.
    /// @param executed Whether its withdrawals were credited.
    struct Batch {
        bytes32 bindingHash;
        bytes32 withdrawalsHash;
        uint64 requestsEnd;
        uint64 blobCommittedAt;
        bool executed;
    }

    /// @notice One withdrawal of a batch: pay `amount` of `token` to the owner of `accountId`.
    struct Withdrawal {
        uint32 accountId;
        uint8 token;
        uint128 amount;
    }

    /// @notice An L1 request in the queue.
    /// @param recordHash keccak256 of the pubdata record that must process it (for a forced exit: of its
    ///        first 6 bytes, the amount being set by the transition).
    /// @param deadline Timestamp after which escape mode may be activated while it is unprocessed.
    /// @param queuedAt Timestamp of the block that queued it.
    struct Request {
        bytes32 recordHash;
        uint64 deadline;
        uint64 queuedAt;
    }

    // ---------------------------------------------------------------------------------------------
    // Errors
    // ---------------------------------------------------------------------------------------------

    /// @notice The caller is not the sequencer.
    error NotSequencer(address caller);
    /// @notice The caller is not the owner.
    error NotOwner(address caller);
    /// @notice The caller is not governance (the timelock).
    error NotGovernance(address caller);
    /// @notice The action is not allowed once escape mode is active.
    error EscapeModeActive();
    /// @notice The action needs escape mode.
    error EscapeModeNotActive();
    /// @notice A call re-entered a guarded function.
    error Reentrancy();
    /// @notice An address argument is zero.
    error ZeroAddress();

    /// @notice A public key is not a Baby Jubjub point (nor the "no key" `(0, 0)`).
    error InvalidPublicKey(uint256 x, uint256 y);
    /// @notice The ETH sent with a request does not cover its fee (`requestFee`).
    error InsufficientFee(uint256 paid, uint256 fee);
    /// @notice The request fee of a deployment must not be zero: it is what makes flooding the queue cost.
    error ZeroRequestFee();
    /// @notice The amount does not fit the L2's 128-bit balances, or the token's total deposits would not.
    error AmountTooLarge(uint256 amount);
    /// @notice The token is not registered.
    error UnknownToken(address token);
    /// @notice The token id is not registered.
    error UnknownTokenId(uint8 tokenId);
    /// @notice The token is already registered.
    error TokenAlreadyRegistered(address token);
    /// @notice Every token id is taken.
    error TooManyTokens();
    /// @notice Every account id is taken.
    error TooManyAccounts();
    /// @notice The caller owns no L2 account.
    error NoAccount(address caller);
    /// @notice Nothing is pending for this owner and token.
    error NothingToWithdraw(address owner, uint8 tokenId);

    /// @notice A batch must hold between 1 and `maxChunksPerBatch()` chunks (the verifier's capacity).
    error BadChunkCount(uint256 count);
    /// @notice A blob commit came in a transaction without a blob.
    error NoBlob();
    /// @notice The blob does not open to the blob evaluation given at the batch's challenge (the point evaluation
    ///         precompile refused the KZG proof), or the opening is not a 48-byte commitment and a 48-byte proof.
    /// @param versionedHash The blob's versioned hash.
    error BlobOpeningFailed(bytes32 versionedHash);
    /// @notice A batch's pubdata is longer than one blob's data (`MAX_BATCH_PUBDATA` bytes), in calldata too: the
    ///         protocol bounds every batch so (the core refuses longer ones), so that any batch may be posted
    ///         either way and every client re-deriving the state accepts what L1 accepted.
    /// @param length The pubdata's length in bytes.
    /// @param max The most a batch may hold.
    error PubdataTooLarge(uint256 length, uint256 max);
    /// @notice A batch posted in a blob was not finalized within `BLOB_FINALIZE_WINDOW` of its commit: its blob may
    ///         be gone from the beacon chain before anyone could fetch it after the finalization. The owner reverts
    ///         it (`revertBatches`) and the sequencer commits its transactions again.
    /// @param batchIndex The batch.
    /// @param finalizeBy The last timestamp at which it could be finalized.
    error BlobFinalizeWindowPassed(uint256 batchIndex, uint256 finalizeBy);
    /// @notice A batch's records do not fill whole chunks of `CHUNK_SLOTS` records.
    /// @param records The records the pubdata holds.
    error PartialChunk(uint256 records);
    /// @notice An L1 request record in a chunk does not match the next request in the queue.
    /// @param requestIndex The request it should have processed.
    error RequestMismatch(uint256 requestIndex);
    /// @notice A chunk processes a request that was never queued.
    error RequestOutOfRange(uint256 requestIndex);
    /// @notice A record names an account id that L1 never assigned.
    error UnknownAccountId(uint32 accountId);
    /// @notice A commit names another position than the next batch: it was already committed (a resent or
    ///         duplicated commit), or batches before it are missing.
    /// @param batchIndex The index the commit names.
    /// @param expected The next batch index (`lastCommittedBatch() + 1`).
    error UnexpectedBatchIndex(uint256 batchIndex, uint256 expected);
    /// @notice The batch index is not the next one to finalize, or was never committed.
    error BatchNotFinalizable(uint256 batchIndex);
    /// @notice The batch is not finalized, or its withdrawals were already credited.
    error BatchNotExecutable(uint256 batchIndex);
    /// @notice The given batch data does not hash to what was committed.
    error BatchDataMismatch(uint256 batchIndex);
    /// @notice Only committed, unfinalized batches can be reverted.
    error NothingToRevert(uint256 toBatch);
    /// @notice A new state root is not a canonical field element.
    error NonCanonicalRoot(uint256 root);
    /// @notice A batch commitment is not a canonical field element.
    /// @param commitment The value given.
    error NonCanonicalCommitment(uint256 commitment);
    /// @notice The batch's proof did not verify.
    error InvalidProof(uint256 batchIndex);
    /// @notice The arrays of a call have different lengths.
    error LengthMismatch();
    /// @notice A verifier address has no code: a call to it would succeed and prove nothing. Same selector as
    ///         `IBatchVerifier.VerifierWithoutCode`.
    error VerifierWithoutCode(address verifier);
    /// @notice A chunk must have at least one transaction slot.
    error BadChunkSlots(uint256 chunkSlots);

    /// @notice The verifier proves batches of chunks of another size than this rollup's `CHUNK_SLOTS`.
    /// @param verifierSlots The verifier's `CHUNK_SLOTS()`.
    /// @param chunkSlots The rollup's.
    error VerifierChunkSlotsMismatch(uint256 verifierSlots, uint256 chunkSlots);

    /// @notice A verifier's capacity (chunks per batch proof) must be between 1 and `MAX_CHUNKS_PER_BATCH`.
    error BadVerifierCapacity(uint256 capacity);

    /// @notice Escape mode can only be activated once the oldest unprocessed request is past its deadline.
    /// @param requestIndex The oldest unprocessed request (or the queue length when it is empty).
    /// @param deadline Its deadline (0 when the queue is empty).
    error DeadlineNotPassed(uint256 requestIndex, uint256 deadline);
    /// @notice The balance proof does not hold against the last finalized state root.
    error InvalidBalanceProof(uint32 accountId, uint8 tokenId);
    /// @notice This (account, token) balance was already paid out.
    error AlreadyEscaped(uint32 accountId, uint8 tokenId);
    /// @notice The request was consumed by a finalized batch: its funds are in the finalized state.
    error RequestFinalized(uint256 requestIndex);
    /// @notice The record is not the deposit queued at this index.
    error NotADeposit(uint256 requestIndex);
    /// @notice The deposit was already refunded.
    error AlreadyRefunded(uint256 requestIndex);

    // ---------------------------------------------------------------------------------------------
    // Events
    // ---------------------------------------------------------------------------------------------

    /// @notice An L1 request was queued. `record` is the pubdata record that must process it (a forced
    ///         exit's without its amount); escape clients rebuild accounts from these.
    event RequestQueued(uint256 indexed requestIndex, uint32 indexed accountId, uint64 deadline, bytes record);
    /// @notice A new account id was assigned to `owner`.
    event AccountRegistered(uint32 indexed accountId, address indexed owner);
    /// @notice A token got an id.
    event TokenRegistered(uint8 indexed tokenId, address indexed token);
    /// @notice A batch was committed; its chunks' records are in the transaction's calldata, `binding` is what
    ///         its proof must prove.
    event BatchCommitted(uint256 indexed batchIndex, DataBinding binding, uint64 requestsEnd, bytes32 withdrawalsHash);
    /// @notice A batch was finalized; `stateRoot` is the new last finalized state root.
    event BatchFinalized(uint256 indexed batchIndex, uint256 stateRoot);
    /// @notice A finalized batch's withdrawals were credited.
    event BatchExecuted(uint256 indexed batchIndex);
    /// @notice Committed batches after `lastKeptBatch` were discarded.
    event BatchesReverted(uint256 lastKeptBatch);
    /// @notice `amount` of token `tokenId` became withdrawable by `owner`.
    event PendingCredited(address indexed owner, uint8 indexed tokenId, uint256 amount);
    /// @notice `owner` pulled `amount` of token `tokenId` to `to`.
    event Withdrawn(address indexed owner, uint8 indexed tokenId, address to, uint256 amount);
    /// @notice Escape mode is on, for good.
    event EscapeModeActivated(uint256 overdueRequest);
    /// @notice A finalized balance was paid out in escape mode.
    event Escaped(uint32 indexed accountId, uint8 indexed tokenId, address owner, uint256 amount);
    /// @notice An unfinalized deposit was refunded in escape mode.
    event DepositRefunded(uint256 indexed requestIndex, address owner, uint8 tokenId, uint256 amount);
    /// @notice The sequencer changed.
    event SequencerChanged(address sequencer);
    /// @notice The owner changed.
    event OwnerChanged(address owner);
    /// @notice The batch verifier changed (only through the governance timelock); `capacity` is the most chunks a
    ///         batch may now hold.
    event VerifierChanged(address verifier, uint256 capacity);

    // ---------------------------------------------------------------------------------------------
    // Requests (anyone, with an account where noted)
    // ---------------------------------------------------------------------------------------------

    /// @notice Deposits ETH to the caller's L2 account, creating it (with key `(pubkeyX, pubkeyY)`) if new.
    ///         `msg.value` pays `requestFee(msg.sender)` first; the rest is the amount deposited.
    function depositEth(uint256 pubkeyX, uint256 pubkeyY) external payable;

    /// @notice Deposits a registered ERC20 to the caller's account; credits what actually arrived.
    ///         `msg.value` pays `requestFee(msg.sender)`; any excess is credited to the caller's pending ETH.
    function depositErc20(address token, uint256 amount, uint256 pubkeyX, uint256 pubkeyY) external payable;

    /// @notice Asks that the caller's whole balance of `tokenId` be withdrawn; the operator must process it
    ///         before its deadline. `msg.value` pays `requestFee(msg.sender)`; any excess is credited back as
    ///         pending ETH.
    function requestForcedExit(uint8 tokenId) external payable;

    /// @notice Binds a new L2 key to the caller's account. `msg.value` pays `requestFee(msg.sender)`; any excess
    ///         is credited back as pending ETH.
    function requestKeyChange(uint256 pubkeyX, uint256 pubkeyY) external payable;

    /// @notice Pulls the caller's pending balance of `tokenId` to `to`.
    function withdrawPending(uint8 tokenId, address to) external;

    // ---------------------------------------------------------------------------------------------
    // Batches
    // ---------------------------------------------------------------------------------------------

    /// @notice Commits a batch of 1 to `maxChunksPerBatch()` chunks (sequencer only, never in escape mode).
    /// @param batchIndex The batch's position, `lastCommittedBatch() + 1`: a commit sent twice (a resend after a
    ///        reorg, a stale transaction under another nonce) lands once, the other reverts. It names a position,
    ///        not a batch: after `revertBatches(k)` a commit for `k + 1` signed before the revert is valid again.
    /// @param pubdata The batch's records, back to back: `CHUNK_SLOTS` records per chunk, chunk after chunk; at most
    ///        `MAX_BATCH_PUBDATA` bytes, what one blob holds.
    /// @param batchCommitment The batch commitment `C_B` (below the field modulus): the Poseidon chain of the
    ///        chunks' data commitments. L1 does not check it against the records: the proof does, at the
    ///        challenge drawn here from it and the pubdata.
    function commitBatch(uint256 batchIndex, bytes calldata pubdata, uint256 batchCommitment) external;

    /// @notice Commits a batch whose pubdata is the transaction's first blob (sequencer only, never in escape mode):
    ///         L1 reads the records it acts on from `l1Records` and checks the blob's polynomial at the batch's
    ///         challenge with the point evaluation precompile; the proof binds both to the records it executes.
    /// @param batchIndex As for `commitBatch`.
    /// @param l1Records The batch's records L1 acts on (deposits, withdrawals, forced exits, key changes), each as
    ///        its slot in the batch (3 bytes, big-endian, below `maxChunksPerBatch() · CHUNK_SLOTS`, increasing)
    ///        followed by the record.
    /// @param batchCommitment As for `commitBatch`.
    /// @param blobEvaluation `y = p(z)`, the blob's polynomial at the challenge `z`
    ///        `= keccak256(blobhash(0) ‖ keccak256(l1Records) ‖ C_B) mod 2²⁵³`.
    /// @param kzgOpening The blob's KZG commitment (48 bytes) and the KZG proof that `p(z) = y` (48 bytes).
    function commitBatchBlob(
        uint256 batchIndex,
        bytes calldata l1Records,
        uint256 batchCommitment,
        uint256 blobEvaluation,
        bytes calldata kzgOpening
    ) external;

    /// @notice Finalizes the next committed batch with one proof (anyone); a batch posted in a blob only within
    ///         `BLOB_FINALIZE_WINDOW` of its commit.
    /// @param binding The batch's data binding, as `BatchCommitted` gave it.
    /// @param newStateRoot The state root after the batch (below the field modulus).
    /// @param proof The batch proof, as `IBatchVerifier.verifyBatch` takes it.
    function finalizeBatch(uint256 batchIndex, DataBinding calldata binding, uint256 newStateRoot, bytes calldata proof)
        external;

    /// @notice Credits a finalized batch's withdrawals to their owners' pending balances (anyone, also in
    ///         escape mode).
    function executeBatch(uint256 batchIndex, Withdrawal[] calldata withdrawals) external;

    /// @notice Discards committed batches after `lastKeptBatch` (owner, never in escape mode).
    function revertBatches(uint256 lastKeptBatch) external;

    // ---------------------------------------------------------------------------------------------
    // Escape hatch
    // ---------------------------------------------------------------------------------------------

    /// @notice Turns escape mode on, for good, once the oldest unprocessed request is past its deadline.
    function activateEscapeMode() external;

    /// @notice In escape mode, pays a balance of the last finalized state to its account's owner, once.
    function escape(StateProof.BalanceProof calldata proof) external;

    /// @notice In escape mode, refunds a deposit that no finalized batch consumed, once.
    /// @param requestIndex The deposit's request index.
    /// @param record The deposit's 74-byte record, as emitted in `RequestQueued`.
    function refundDeposit(uint256 requestIndex, bytes calldata record) external;

    // ---------------------------------------------------------------------------------------------
    // Administration
    // ---------------------------------------------------------------------------------------------

    /// @notice Registers an ERC20 token under the next id (owner).
    function registerToken(address token) external returns (uint8 tokenId);

    /// @notice Sets the sequencer (owner).
    function setSequencer(address sequencer) external;

    /// @notice Hands the owner role over (owner).
    function setOwner(address owner) external;

    /// @notice Replaces the batch verifier (governance only: the timelock); it must prove batches of
    ///         `CHUNK_SLOTS`-slot chunks, with a capacity between 1 and `MAX_CHUNKS_PER_BATCH`.
    function setVerifier(IBatchVerifier verifier) external;

    // ---------------------------------------------------------------------------------------------
    // Views
    // ---------------------------------------------------------------------------------------------

    /// @notice The last finalized state root.
    function stateRoot() external view returns (uint256);
    /// @notice Whether escape mode is on.
    function escapeMode() external view returns (bool);
    /// @notice Index of the last committed batch (0: genesis).
    function lastCommittedBatch() external view returns (uint256);
    /// @notice Index of the last finalized batch (0: genesis).
    function lastFinalizedBatch() external view returns (uint256);
    /// @notice A committed batch.
    function batch(uint256 batchIndex) external view returns (Batch memory);

    /// @notice The most chunks a batch may hold: the verifier's capacity.
    function maxChunksPerBatch() external view returns (uint256);
    /// @notice Number of requests ever queued.
    function totalRequests() external view returns (uint256);
    /// @notice Number of requests consumed by committed batches.
    function committedRequests() external view returns (uint256);
    /// @notice Number of requests consumed by finalized batches.
    function finalizedRequests() external view returns (uint256);
    /// @notice A queued request.
    function request(uint256 requestIndex) external view returns (Request memory);
    /// @notice Seconds the oldest unprocessed request has waited (0 when none waits).
    function oldestRequestAge() external view returns (uint256);
    /// @notice The deadline a request queued in this block gets (`docs/protocol.md`, section 9).
    function nextDeadline() external view returns (uint64);
    /// @notice The fee in wei that a request from `from` queued in this block pays: `REQUEST_FEE` doubled for
    ///         every `FEE_DOUBLING_BACKLOG` requests waiting, times `ACCOUNT_FEE_MULTIPLIER` when the request
    ///         creates `from`'s account. `REQUEST_FEE` of it is credited to the fee account's owner, the rest is
    ///         locked (`lockedFees`); none of it is refunded.
    function requestFee(address from) external view returns (uint256);
    /// @notice The base request fee of this deployment, in wei: the part of every request's fee that pays the
    ///         fee account's owner.
    function REQUEST_FEE() external view returns (uint256);
    /// @notice Wei paid in request fees above the base fee (backlog doublings, account creation), locked in the
    ///         contract for good: never withdrawable, by anyone.
    function lockedFees() external view returns (uint256);
    /// @notice The account id of `owner`, and whether it has one.
    function accountOf(address owner) external view returns (bool exists, uint32 accountId);
    /// @notice The owner of `accountId` (zero if unassigned).
    function ownerOf(uint32 accountId) external view returns (address);
    /// @notice The token of `tokenId` (zero address for ETH, id 0).
    function tokenOf(uint8 tokenId) external view returns (address);
    /// @notice Pending (withdrawable) balance of `owner` in `tokenId`.
    function pending(address owner, uint8 tokenId) external view returns (uint256);
    /// @notice The hash chain of a list of withdrawals, as `commitBatch` builds it.
    function withdrawalsHashOf(Withdrawal[] calldata withdrawals) external pure returns (bytes32);
}
