// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

// The cheatcode address: calls to it are intercepted by forge (tests and scripts).
address constant VM_ADDRESS = 0x7109709ECfa91a80626fF3989D68f67F5b1DD12D;

/// @notice The subset of Foundry's cheatcodes this project uses, with the signatures of Foundry 1.7.1.
/// @dev Add declarations as needed; a signature must match Foundry's exactly, or the call reverts
///      (the list is in the forge binary: `strings tools/bin/forge | grep 'function NAME('`).
interface Vm {
    /// @notice An event log, as returned by `getRecordedLogs`.
    struct Log {
        bytes32[] topics;
        bytes data;
        address emitter;
    }

    // ----------------------------------------------------------------------------------------
    // Block and transaction environment
    // ----------------------------------------------------------------------------------------

    function warp(uint256 newTimestamp) external;
    function roll(uint256 newHeight) external;
    function fee(uint256 newBasefee) external;
    function chainId(uint256 newChainId) external;
    function txGasPrice(uint256 newGasPrice) external;
    function blobBaseFee(uint256 newBlobBaseFee) external;
    function blobhashes(bytes32[] calldata hashes) external;
    function getBlockTimestamp() external view returns (uint256 timestamp);
    function getBlockNumber() external view returns (uint256 height);

    // ----------------------------------------------------------------------------------------
    // Accounts and state
    // ----------------------------------------------------------------------------------------

    function prank(address msgSender) external;
    function prank(address msgSender, address txOrigin) external;
    function startPrank(address msgSender) external;
    function startPrank(address msgSender, address txOrigin) external;
    function stopPrank() external;
    function deal(address account, uint256 newBalance) external;
    /// @notice Marks `target` and its storage slots cold again, as at the start of a transaction.
    function cool(address target) external;
    function etch(address target, bytes calldata newRuntimeBytecode) external;
    function store(address target, bytes32 slot, bytes32 value) external;
    function load(address target, bytes32 slot) external view returns (bytes32 data);
    function getNonce(address account) external view returns (uint64 nonce);
    function setNonce(address account, uint64 newNonce) external;
    function label(address account, string calldata newLabel) external;
    function snapshotState() external returns (uint256 snapshotId);
    function revertToState(uint256 snapshotId) external returns (bool success);

    // ----------------------------------------------------------------------------------------
    // Expectations
    // ----------------------------------------------------------------------------------------

    function expectRevert() external;
    function expectRevert(bytes4 revertData) external;
    function expectRevert(bytes calldata revertData) external;
    function expectRevert(bytes4 revertData, address reverter) external;
    function expectRevert(bytes calldata revertData, address reverter) external;
    /// @notice Expects a revert whose data starts with the selector, whatever the arguments.
    function expectPartialRevert(bytes4 revertData) external;
    function expectEmit() external;
    function expectEmit(address emitter) external;
    function expectEmit(bool checkTopic1, bool checkTopic2, bool checkTopic3, bool checkData) external;
    function expectEmit(bool checkTopic1, bool checkTopic2, bool checkTopic3, bool checkData, address emitter) external;
    function expectCall(address callee, bytes calldata data) external;
    function expectCall(address callee, uint256 msgValue, bytes calldata data) external;
    function recordLogs() external;
    function getRecordedLogs() external view returns (Log[] memory logs);
    function mockCall(address callee, bytes calldata data, bytes calldata returnData) external;
    function mockCallRevert(address callee, bytes calldata data, bytes calldata revertData) external;
    function clearMockedCalls() external;

    // ----------------------------------------------------------------------------------------
    // Fuzzing
    // ----------------------------------------------------------------------------------------

    function assume(bool condition) external pure;
    function skip(bool skipTest) external;

    // ----------------------------------------------------------------------------------------
    // Keys and signatures
    // ----------------------------------------------------------------------------------------

    function addr(uint256 privateKey) external pure returns (address keyAddr);
    function sign(uint256 privateKey, bytes32 digest) external pure returns (uint8 v, bytes32 r, bytes32 s);
    function deriveKey(string calldata mnemonic, uint32 index) external pure returns (uint256 privateKey);
    function rememberKey(uint256 privateKey) external returns (address keyAddr);
    function computeCreateAddress(address deployer, uint256 nonce) external pure returns (address);

    // ----------------------------------------------------------------------------------------
    // Files (reads are limited by `fs_permissions` in foundry.toml; paths are relative to the project root)
    // ----------------------------------------------------------------------------------------

    function projectRoot() external view returns (string memory path);
    function readFile(string calldata path) external view returns (string memory data);
    function readFileBinary(string calldata path) external view returns (bytes memory data);
    function parseBytes(string calldata stringifiedValue) external pure returns (bytes memory parsedValue);
    function trim(string calldata input) external pure returns (string memory output);
    function exists(string calldata path) external view returns (bool result);
    function getCode(string calldata artifactPath) external view returns (bytes memory creationBytecode);
    function getDeployedCode(string calldata artifactPath) external view returns (bytes memory runtimeBytecode);

    // ----------------------------------------------------------------------------------------
    // JSON (keys are JSONPath-like: ".a.b", ".list[0]")
    // ----------------------------------------------------------------------------------------

    function parseJson(string calldata json) external pure returns (bytes memory abiEncodedData);
    function parseJson(string calldata json, string calldata key) external pure returns (bytes memory abiEncodedData);
    function keyExistsJson(string calldata json, string calldata key) external view returns (bool);
    function parseJsonKeys(string calldata json, string calldata key) external pure returns (string[] memory keys);
    function parseJsonUint(string calldata json, string calldata key) external pure returns (uint256);
    function parseJsonUintArray(string calldata json, string calldata key) external pure returns (uint256[] memory);
    function parseJsonInt(string calldata json, string calldata key) external pure returns (int256);
    function parseJsonBool(string calldata json, string calldata key) external pure returns (bool);
    function parseJsonBytes32(string calldata json, string calldata key) external pure returns (bytes32);
    function parseJsonBytes32Array(string calldata json, string calldata key) external pure returns (bytes32[] memory);
    function parseJsonBytes(string calldata json, string calldata key) external pure returns (bytes memory);
    function parseJsonBytesArray(string calldata json, string calldata key) external pure returns (bytes[] memory);
    function parseJsonAddress(string calldata json, string calldata key) external pure returns (address);
    function parseJsonAddressArray(string calldata json, string calldata key) external pure returns (address[] memory);
    function parseJsonString(string calldata json, string calldata key) external pure returns (string memory);

    // ----------------------------------------------------------------------------------------
    // Environment variables
    // ----------------------------------------------------------------------------------------

    function envUint(string calldata name) external view returns (uint256 value);
    function envAddress(string calldata name) external view returns (address value);
    function envString(string calldata name) external view returns (string memory value);
    function envBool(string calldata name) external view returns (bool value);
    function envBytes32(string calldata name) external view returns (bytes32 value);
    function envOr(string calldata name, uint256 defaultValue) external view returns (uint256 value);
    function envOr(string calldata name, address defaultValue) external view returns (address value);
    function envOr(string calldata name, string calldata defaultValue) external view returns (string memory value);
    function envOr(string calldata name, bool defaultValue) external view returns (bool value);
    function envOr(string calldata name, bytes32 defaultValue) external view returns (bytes32 value);

    // ----------------------------------------------------------------------------------------
    // Scripts
    // ----------------------------------------------------------------------------------------

    function broadcast() external;
    function broadcast(uint256 privateKey) external;
    function startBroadcast() external;
    /// @dev Who the next call comes from: `callerMode` 0 none, 1 broadcast, 2 recurrent broadcast, 3 prank,
    ///      4 recurrent prank.
    function readCallers() external returns (uint8 callerMode, address msgSender, address txOrigin);
    function startBroadcast(address signer) external;
    function startBroadcast(uint256 privateKey) external;
    function stopBroadcast() external;

    // ----------------------------------------------------------------------------------------
    // Gas
    // ----------------------------------------------------------------------------------------

    function pauseGasMetering() external;
    function resumeGasMetering() external;
    /// @notice Records the gas of the last call (callee side) under `name`, grouped by the test contract's name.
    function snapshotGasLastCall(string calldata name) external returns (uint256 gasUsed);
    function snapshotGasLastCall(string calldata group, string calldata name) external returns (uint256 gasUsed);
    function startSnapshotGas(string calldata name) external;
    function startSnapshotGas(string calldata group, string calldata name) external;
    function stopSnapshotGas() external returns (uint256 gasUsed);
    function stopSnapshotGas(string calldata name) external returns (uint256 gasUsed);
    function snapshotValue(string calldata name, uint256 value) external;
    function snapshotValue(string calldata group, string calldata name, uint256 value) external;

    // ----------------------------------------------------------------------------------------
    // Formatting
    // ----------------------------------------------------------------------------------------

    function toString(uint256 value) external pure returns (string memory stringifiedValue);
    function toString(address value) external pure returns (string memory stringifiedValue);
    function toString(bytes32 value) external pure returns (string memory stringifiedValue);
    function toString(bytes calldata value) external pure returns (string memory stringifiedValue);
}
