// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Records} from "../../src/generated/Records.sol";
import {Test} from "../utils/Test.sol";

/// @dev Exposes the library's calldata readers through external calls.
contract RecordsHarness {
    function deposit(bytes calldata r)
        external
        pure
        returns (uint24 account, address owner, uint8 token, uint128 amount, bytes32 pubkey)
    {
        return (
            Records.depositAccount(r, 0),
            Records.depositOwner(r, 0),
            Records.depositToken(r, 0),
            Records.depositAmount(r, 0),
            Records.depositPubkey(r, 0)
        );
    }

    function transfer(bytes calldata r)
        external
        pure
        returns (uint24 from, uint24 to, uint8 token, uint128 amount, uint128 fee)
    {
        return (
            Records.transferFrom(r, 0),
            Records.transferTo(r, 0),
            Records.transferToken(r, 0),
            Records.transferAmount(r, 0),
            Records.transferFee(r, 0)
        );
    }

    function withdraw(bytes calldata r)
        external
        pure
        returns (uint24 account, uint8 token, uint128 amount, uint128 fee)
    {
        return (
            Records.withdrawAccount(r, 0),
            Records.withdrawToken(r, 0),
            Records.withdrawAmount(r, 0),
            Records.withdrawFee(r, 0)
        );
    }

    function forcedExit(bytes calldata r) external pure returns (uint24 account, uint8 token, uint128 amount) {
        return (Records.forcedExitAccount(r, 0), Records.forcedExitToken(r, 0), Records.forcedExitAmount(r, 0));
    }

    function changeKey(bytes calldata r) external pure returns (uint24 account, bytes32 pubkey) {
        return (Records.changeKeyAccount(r, 0), Records.changeKeyPubkey(r, 0));
    }

    function unpackAmount(uint256 packed) external pure returns (uint128) {
        return Records.unpackAmount(packed);
    }

    function unpackFee(uint256 packed) external pure returns (uint128) {
        return Records.unpackFee(packed);
    }

    /// @dev A reader at an offset inside a longer buffer (records inside a chunk).
    function withdrawAmountAt(bytes calldata data, uint256 at) external pure returns (uint128) {
        return Records.withdrawAmount(data, at);
    }
}

/// @notice The generated record layout against the core's records (records.json): every reader returns
///         the field the core encoded, and every encoder rebuilds the core's bytes.
contract RecordsTest is Test {
    string internal json;
    RecordsHarness internal h;

    function setUp() public {
        json = vm.readFile("contracts/test/vectors/records.json");
        h = new RecordsHarness();
    }

    function _uint(string memory key) internal view returns (uint256) {
        return vm.parseJsonUint(json, key);
    }

    function test_depositReaders_matchCore() public view {
        bytes memory r = vm.parseJsonBytes(json, ".deposit.record");
        (uint24 account, address owner, uint8 token, uint128 amount, bytes32 pubkey) = h.deposit(r);
        assertEq(account, _uint(".deposit.account"));
        assertEq(owner, vm.parseJsonAddress(json, ".deposit.owner"));
        assertEq(token, _uint(".deposit.token"));
        assertEq(amount, _uint(".deposit.amount"));
        assertEq(pubkey, vm.parseJsonBytes32(json, ".deposit.pubkey"));
        assertEq(Records.encodeDeposit(account, owner, token, amount, pubkey), r, "encoder");
    }

    function test_transferReaders_matchCore() public view {
        (uint24 from, uint24 to, uint8 token, uint128 amount, uint128 fee) =
            h.transfer(vm.parseJsonBytes(json, ".transfer.record"));
        assertEq(from, _uint(".transfer.from"));
        assertEq(to, _uint(".transfer.to"));
        assertEq(token, _uint(".transfer.token"));
        assertEq(amount, _uint(".transfer.amount"));
        assertEq(fee, _uint(".transfer.fee"));
    }

    function test_withdrawReaders_matchCore() public view {
        (uint24 account, uint8 token, uint128 amount, uint128 fee) =
            h.withdraw(vm.parseJsonBytes(json, ".withdraw.record"));
        assertEq(account, _uint(".withdraw.account"));
        assertEq(token, _uint(".withdraw.token"));
        assertEq(amount, _uint(".withdraw.amount"));
        assertEq(fee, _uint(".withdraw.fee"));
    }

    function test_forcedExitReaders_matchCore() public view {
        (uint24 account, uint8 token, uint128 amount) = h.forcedExit(vm.parseJsonBytes(json, ".forcedExit.record"));
        assertEq(account, _uint(".forcedExit.account"));
        assertEq(token, _uint(".forcedExit.token"));
        assertEq(amount, _uint(".forcedExit.amount"));
        bytes memory request = vm.parseJsonBytes(json, ".forcedExit.request");
        assertEq(Records.encodeForcedExitRequest(account, token), request, "encoder");
        assertEq(request.length, Records.FORCED_EXIT_REQUEST_LENGTH);
    }

    function test_changeKeyReaders_matchCore() public view {
        bytes memory r = vm.parseJsonBytes(json, ".changeKey.record");
        (uint24 account, bytes32 pubkey) = h.changeKey(r);
        assertEq(account, _uint(".changeKey.account"));
        assertEq(pubkey, vm.parseJsonBytes32(json, ".changeKey.pubkey"));
        assertEq(Records.encodeChangeKey(account, pubkey), r, "encoder");
    }

    function _floats(string memory format) internal {
        string memory f = vm.readFile("contracts/test/vectors/floats.json");
        bool amount = keccak256(bytes(format)) == keccak256("amount");
        string memory at = string.concat(".", format);
        uint256 n = _count(f, string.concat(at, ".exact"));
        assertGt(n, 0, "no exact vectors");
        for (uint256 i; i < n; i++) {
            string memory k = string.concat(at, ".exact[", vm.toString(i), "]");
            uint256 value = vm.parseJsonUint(f, string.concat(k, ".value"));
            uint256 packed = vm.parseJsonUint(f, string.concat(k, ".packed"));
            (uint256 p, bool exact) = amount ? Records.packAmount(value) : Records.packFee(value);
            assertTrue(exact, "exact");
            assertEq(p, packed, "packing");
            assertEq(amount ? h.unpackAmount(packed) : h.unpackFee(packed), value, "value");
        }
        n = _count(f, string.concat(at, ".inexact"));
        assertGt(n, 0, "no inexact vectors");
        for (uint256 i; i < n; i++) {
            uint256 value = vm.parseJsonUint(f, string.concat(at, ".inexact[", vm.toString(i), "].value"));
            (, bool exact) = amount ? Records.packAmount(value) : Records.packFee(value);
            assertFalse(exact, "inexact");
        }
        uint256[] memory invalid = vm.parseJsonUintArray(f, string.concat(at, ".invalid"));
        assertGt(invalid.length, 0, "no invalid vectors");
        for (uint256 i; i < invalid.length; i++) {
            vm.expectRevert(abi.encodeWithSelector(Records.InvalidPacking.selector, invalid[i]));
            amount ? h.unpackAmount(invalid[i]) : h.unpackFee(invalid[i]);
        }
    }

    function _count(string memory f, string memory key) internal view returns (uint256 n) {
        while (vm.keyExistsJson(f, string.concat(key, "[", vm.toString(n), "]"))) n++;
    }

    function test_unpackAmount_matchesCore_succeeds() public {
        _floats("amount");
    }

    function test_unpackFee_matchesCore_succeeds() public {
        _floats("fee");
    }

    /// @dev Every packing that unpacks is the canonical packing of its value, and every value that packs
    ///      exactly unpacks to itself: the same bijection the core's property test checks.
    function testFuzz_packAmount_roundTrips(uint40 packed, uint128 value) public view {
        try h.unpackAmount(packed) returns (uint128 v) {
            (uint256 p, bool exact) = Records.packAmount(v);
            assertTrue(exact);
            assertEq(p, packed);
        } catch {}
        (uint256 q, bool ok) = Records.packAmount(value);
        if (ok) assertEq(h.unpackAmount(q), value);
    }

    function testFuzz_packFee_roundTrips(uint16 packed, uint128 value) public view {
        try h.unpackFee(packed) returns (uint128 v) {
            (uint256 p, bool exact) = Records.packFee(v);
            assertTrue(exact);
            assertEq(p, packed);
        } catch {}
        (uint256 q, bool ok) = Records.packFee(value);
        if (ok) assertEq(h.unpackFee(q), value);
    }

    function test_readerAtOffset_readsTheRecordThere() public view {
        bytes memory w = vm.parseJsonBytes(json, ".withdraw.record");
        bytes memory data = bytes.concat(vm.parseJsonBytes(json, ".transfer.record"), w);
        uint256 at = data.length - w.length;
        assertEq(h.withdrawAmountAt(data, at), _uint(".withdraw.amount"));
    }
}
