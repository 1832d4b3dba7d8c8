// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Deploy} from "../../../script/Deploy.s.sol";
import {ProtocolConstants as C} from "../../src/generated/ProtocolConstants.sol";
import {Test} from "../utils/Test.sol";

/// @notice The production deployment script's refusals: the paths that must not deploy at all.
contract DeployTest is Test {
    Deploy internal script;

    function setUp() public {
        script = new Deploy();
    }

    function _params() internal returns (Deploy.Params memory p) {
        address me = makeAddr("deployer");
        p.owner = me;
        p.sequencer = me;
        p.timelockAdmin = me;
        p.timelockDelay = C.UPGRADE_DELAY;
        p.chunkSlots = 4;
        p.feeRecipient = me;
        p.requestFee = C.DEFAULT_REQUEST_FEE;
    }

    /// @dev The review's day-7 death: a rollup started without a verifier queued request 0, could finalize
    ///      nothing, and a verifier could only arrive through the 21-day timelock.
    function test_deploy_withoutVerifier_reverts() public {
        Deploy.Params memory p = _params();
        vm.expectRevert(Deploy.NoVerifier.selector);
        script.deploy(p);
    }
}
