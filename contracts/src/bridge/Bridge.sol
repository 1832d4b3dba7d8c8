// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ProtocolConstants as C} from "../generated/ProtocolConstants.sol";
import {Records} from "../generated/Records.sol";
import {IRollup} from "../interfaces/IRollup.sol";
import {BabyJubjub} from "../libraries/BabyJubjub.sol";
import {SafeTransfer} from "../libraries/SafeTransfer.sol";
import {RequestQueue} from "../queue/RequestQueue.sol";

/// @title Bridge
/// @notice Holds the rollup's funds: deposits (ETH and registered ERC20s), the account and token registries,
///         forced exits and key changes, and the pending balances every payout is credited to and its owner
///         pulls. Accounts are identified by their owner's address only: no code-size or `tx.origin` check,
///         so contracts and EIP-7702 accounts work like any other.
abstract contract Bridge is RequestQueue {
    /// @notice Largest amount or per-token total the L2's 128-bit balances can hold.
    uint256 internal constant MAX_AMOUNT = type(uint128).max;
    /// @notice Doublings of the request fee past which it stops growing (it is then beyond any ETH supply).
    uint256 internal constant MAX_FEE_DOUBLINGS = 128;

    /// @inheritdoc IRollup
    uint256 public immutable REQUEST_FEE;

    address internal _owner;
    address[] internal _accountOwners;
    mapping(address owner => uint32 accountIdPlusOne) internal _accountIdPlusOne;
    address[] internal _tokens;
    mapping(address token => uint16 tokenIdPlusOne) internal _tokenIdPlusOne;
    /// @notice Per token, what is deposited and not yet paid back out by an executed withdrawal: an upper bound
    ///         on the sum of the token's L2 balances (the L2 conserves each token; withdrawals and forced exits
    ///         leave it before L1 executes them). Kept at most `MAX_AMOUNT`, so no L2 balance can overflow.
    mapping(uint8 tokenId => uint256) public outstanding;
    mapping(address owner => mapping(uint8 tokenId => uint256)) internal _pending;
    /// @inheritdoc IRollup
    uint256 public lockedFees;
    bool private transient _locked;

    modifier onlyOwner() {
        if (msg.sender != _owner) revert NotOwner(msg.sender);
        _;
    }

    modifier nonReentrant() {
        if (_locked) revert Reentrancy();
        _locked = true;
        _;
        _locked = false;
    }

    constructor(address owner_, uint256 requestFee_) {
        if (owner_ == address(0)) revert ZeroAddress();
        if (requestFee_ == 0) revert ZeroRequestFee();
        REQUEST_FEE = requestFee_;
        _owner = owner_;
        _tokens.push(address(0));
        emit TokenRegistered(0, address(0));
    }

    // --------------------------------------------------------------------------------------------
    // Requests
    // --------------------------------------------------------------------------------------------

    /// @inheritdoc IRollup
    function depositEth(uint256 pubkeyX, uint256 pubkeyY) external payable notEscapeMode {
        uint256 amount = _takeFee();
        _deposit(msg.sender, 0, amount, pubkeyX, pubkeyY);
    }

    /// @inheritdoc IRollup
    function depositErc20(address token, uint256 amount, uint256 pubkeyX, uint256 pubkeyY)
        external
        payable
        notEscapeMode
        nonReentrant
    {
        uint16 idPlusOne = _tokenIdPlusOne[token];
        if (idPlusOne == 0) revert UnknownToken(token);
        _refundExcess(_takeFee());
        uint256 before = _balanceOf(token);
        SafeTransfer.safeTransferFrom(token, msg.sender, address(this), amount);
        // Tokens that deliver less than was sent (fees on transfer) are credited what arrived.
        uint256 received = _balanceOf(token) - before;
        _deposit(msg.sender, uint8(idPlusOne - 1), received, pubkeyX, pubkeyY);
    }

    /// @inheritdoc IRollup
    function requestForcedExit(uint8 tokenId) external payable notEscapeMode {
        uint32 id = _requireAccount(msg.sender);
        _requireToken(tokenId);
        _refundExcess(_takeFee());
        // The transition sets the amount: the request is bound to the record without it.
        _enqueue(id, Records.encodeForcedExitRequest(uint24(id), tokenId));
    }

    /// @inheritdoc IRollup
    function requestKeyChange(uint256 pubkeyX, uint256 pubkeyY) external payable notEscapeMode {
        uint32 id = _requireAccount(msg.sender);
        if (!BabyJubjub.isValidKey(pubkeyX, pubkeyY)) revert InvalidPublicKey(pubkeyX, pubkeyY);
        _refundExcess(_takeFee());
        _enqueue(id, Records.encodeChangeKey(uint24(id), BabyJubjub.compress(pubkeyX, pubkeyY)));
    }

    /// @inheritdoc IRollup
    function withdrawPending(uint8 tokenId, address to) external nonReentrant {
        if (to == address(0)) revert ZeroAddress();
        uint256 amount = _pending[msg.sender][tokenId];
        if (amount == 0) revert NothingToWithdraw(msg.sender, tokenId);
        _pending[msg.sender][tokenId] = 0;
        address token = _tokens[tokenId];
        if (token == address(0)) {
            SafeTransfer.sendEth(to, amount);
        } else {
            SafeTransfer.safeTransfer(token, to, amount);
        }
        emit Withdrawn(msg.sender, tokenId, to, amount);
    }

    // --------------------------------------------------------------------------------------------
    // Administration
    // --------------------------------------------------------------------------------------------

    /// @inheritdoc IRollup
    function registerToken(address token) external onlyOwner returns (uint8 tokenId) {
        if (token == address(0)) revert ZeroAddress();
        if (_tokenIdPlusOne[token] != 0) revert TokenAlreadyRegistered(token);
        if (_tokens.length >= C.MAX_TOKENS) revert TooManyTokens();
        tokenId = uint8(_tokens.length);
        _tokens.push(token);
        _tokenIdPlusOne[token] = uint16(tokenId) + 1;
        emit TokenRegistered(tokenId, token);
    }

    /// @inheritdoc IRollup
    function setOwner(address owner_) external onlyOwner {
        if (owner_ == address(0)) revert ZeroAddress();
        _owner = owner_;
        emit OwnerChanged(owner_);
    }

    // --------------------------------------------------------------------------------------------
    // Views
    // --------------------------------------------------------------------------------------------

    /// @notice The owner (registers tokens, sets the sequencer, reverts unfinalized batches).
    function owner() external view returns (address) {
        return _owner;
    }

    /// @inheritdoc IRollup
    function requestFee(address from) public view returns (uint256 fee) {
        uint256 doublings = (totalRequests - finalizedRequests) / C.FEE_DOUBLING_BACKLOG;
        if (doublings > MAX_FEE_DOUBLINGS) doublings = MAX_FEE_DOUBLINGS;
        fee = REQUEST_FEE << doublings;
        if (_accountIdPlusOne[from] == 0) fee *= C.ACCOUNT_FEE_MULTIPLIER;
    }

    /// @inheritdoc IRollup
    function accountOf(address accountOwner) public view returns (bool exists, uint32 accountId) {
        uint32 plusOne = _accountIdPlusOne[accountOwner];
        return (plusOne != 0, plusOne == 0 ? 0 : plusOne - 1);
    }

    /// @inheritdoc IRollup
    function ownerOf(uint32 accountId) public view returns (address) {
        return accountId < _accountOwners.length ? _accountOwners[accountId] : address(0);
    }

    /// @notice Number of account ids assigned.
    function accountCount() external view returns (uint256) {
        return _accountOwners.length;
    }

    /// @inheritdoc IRollup
    function tokenOf(uint8 tokenId) external view returns (address) {
        _requireToken(tokenId);
        return _tokens[tokenId];
    }

    /// @notice Number of token ids assigned (ETH included).
    function tokenCount() external view returns (uint256) {
        return _tokens.length;
    }

    /// @inheritdoc IRollup
    function pending(address accountOwner, uint8 tokenId) external view returns (uint256) {
        return _pending[accountOwner][tokenId];
    }

    // --------------------------------------------------------------------------------------------
    // Internal
    // --------------------------------------------------------------------------------------------

    /// @dev Takes the caller's request fee out of `msg.value` and returns the rest. The base fee pays the fee
    ///      account's owner (the operator) for processing; everything above it (the backlog's doublings, the
    ///      account-creation multiple) is locked in this contract for good, so that raising the fee, or
    ///      taking account ids, costs the fee recipient as much as anyone. Called before the request is
    ///      queued, so the fee sees the backlog before it.
    function _takeFee() internal returns (uint256 rest) {
        uint256 fee = requestFee(msg.sender);
        if (msg.value < fee) revert InsufficientFee(msg.value, fee);
        _credit(_accountOwners[C.FEE_ACCOUNT_ID], 0, REQUEST_FEE);
        lockedFees += fee - REQUEST_FEE;
        return msg.value - fee;
    }

    /// @dev ETH sent beyond a request's fee goes back to the caller as a pending balance.
    function _refundExcess(uint256 excess) internal {
        _credit(msg.sender, 0, excess);
    }

    /// @dev Queues a deposit of `amount` of `tokenId` to `depositor`'s account, creating it if new.
    function _deposit(address depositor, uint8 tokenId, uint256 amount, uint256 pubkeyX, uint256 pubkeyY) internal {
        if (amount > MAX_AMOUNT) revert AmountTooLarge(amount);
        uint256 total = outstanding[tokenId] + amount;
        if (total > MAX_AMOUNT) revert AmountTooLarge(amount);
        outstanding[tokenId] = total;
        (bool exists, uint32 id) = accountOf(depositor);
        bytes32 key;
        if (!exists) {
            if (!BabyJubjub.isValidKey(pubkeyX, pubkeyY)) revert InvalidPublicKey(pubkeyX, pubkeyY);
            id = _register(depositor);
            key = BabyJubjub.compress(pubkeyX, pubkeyY);
        }
        // An existing account keeps its key: the record carries "no key" and the transition ignores it.
        // Ids are below MAX_ACCOUNTS (2^20, `_register`), so they fit a record's 3 bytes (the core asserts
        // MAX_ACCOUNTS <= 2^24 where it defines the layout, `codec::ACCOUNT_BYTES`).
        _enqueue(id, Records.encodeDeposit(uint24(id), depositor, tokenId, uint128(amount), key));
    }

    function _register(address accountOwner) internal returns (uint32 id) {
        if (_accountOwners.length >= C.MAX_ACCOUNTS) revert TooManyAccounts();
        id = uint32(_accountOwners.length);
        _accountOwners.push(accountOwner);
        _accountIdPlusOne[accountOwner] = id + 1;
        emit AccountRegistered(id, accountOwner);
    }

    function _requireAccount(address accountOwner) internal view returns (uint32) {
        (bool exists, uint32 id) = accountOf(accountOwner);
        if (!exists) revert NoAccount(accountOwner);
        return id;
    }

    function _requireToken(uint8 tokenId) internal view {
        if (tokenId >= _tokens.length) revert UnknownTokenId(tokenId);
    }

    /// @dev An executed withdrawal left the L2: its amount no longer counts towards the token's bound. Saturating,
    ///      so that a bound already lower than what a proof says left (impossible with a sound verifier) cannot
    ///      block execution.
    function _release(uint8 tokenId, uint256 amount) internal {
        uint256 before = outstanding[tokenId];
        outstanding[tokenId] = amount >= before ? 0 : before - amount;
    }

    /// @dev Every payout (withdrawals, escapes, refunds) lands here; the owner pulls it.
    function _credit(address accountOwner, uint8 tokenId, uint256 amount) internal {
        if (amount == 0) return;
        _pending[accountOwner][tokenId] += amount;
        emit PendingCredited(accountOwner, tokenId, amount);
    }

    function _balanceOf(address token) private view returns (uint256) {
        (bool ok, bytes memory ret) = token.staticcall(abi.encodeWithSelector(0x70a08231, address(this)));
        if (!ok || ret.length < 32) revert SafeTransfer.TransferFailed(token);
        return abi.decode(ret, (uint256));
    }
}
