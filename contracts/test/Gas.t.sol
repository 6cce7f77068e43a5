// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {vm} from "./utils/Vm.sol";
import {RegistryFixture} from "./utils/RegistryFixture.sol";
import {ConsentRegistry} from "../src/ConsentRegistry.sol";
import {IConsentRegistry} from "../src/IConsentRegistry.sol";

/// @notice Gas budgets from issue #2, asserted on the execution gas of each call as the EVM
///         charges it inside a transaction (cold storage, no 21,000 intrinsic or calldata cost;
///         BENCHMARKS.md gives whole-transaction figures from anvil receipts). Each measured call is
///         the first of its test to touch the registry, so every slot it reads is cold, as in a
///         real transaction. Figures also land in contracts/snapshots/GasTest.json.
contract GasTest is RegistryFixture {
    /// Registration with a profile commitment stays within 10 % of registration without one
    /// (48,488 before the commitment; issue #17).
    uint256 internal constant REGISTER_BUDGET = 53_336;
    uint256 internal constant GRANT_BUDGET = 50_000;
    uint256 internal constant GRANT_BY_SIG_BUDGET = 60_000;
    uint256 internal constant REVOKE_BUDGET = 30_000;
    uint256 internal constant BATCH_EXTRA_BUDGET = 30_000;

    bytes32 internal grantId;
    IConsentRegistry.GrantRequest internal sigRequest;
    bytes internal sig;
    bytes internal revokeSig;
    uint256 internal deadline;
    ConsentRegistry internal twin;

    function setUp() public override {
        super.setUp();
        twin = new ConsentRegistry(admin, ADMIN_DELAY);
        vm.startPrank(admin);
        twin.registerProvider(provider, PROVIDER_ENC_KEY, PROFILE);
        twin.registerProvider(provider2, PROVIDER2_ENC_KEY, PROFILE);
        vm.stopPrank();
        grantId = grantAs(patient, labRequest(provider));
        deadline = T0 + 1 hours;
        sigRequest = labRequest(provider2);
        sig = signGrant(PATIENT_PK, sigRequest, 0, deadline);
        revokeSig = signRevoke(PATIENT_PK, grantId, 0, deadline);
    }

    function batchOf(uint256 n) internal view returns (IConsentRegistry.GrantRequest[] memory rs) {
        rs = new IConsentRegistry.GrantRequest[](n);
        for (uint256 i; i < n; ++i) {
            rs[i] = labRequest(i % 2 == 0 ? provider : provider2);
        }
    }

    function test_gas_registerProvider() public {
        vm.prank(admin);
        registry.registerProvider(address(0xC11), PROVIDER_ENC_KEY, PROFILE);
        vm.assertLe(vm.snapshotGasLastCall("registerProvider"), REGISTER_BUDGET, "registerProvider budget");
    }

    function test_gas_grant() public {
        IConsentRegistry.GrantRequest memory r = labRequest(provider2);
        vm.prank(patient);
        registry.grant(r);
        vm.assertLe(vm.snapshotGasLastCall("grant"), GRANT_BUDGET, "grant budget");
    }

    function test_gas_grantBySig() public {
        IConsentRegistry.GrantRequest memory r = sigRequest;
        bytes memory s = sig;
        vm.prank(relayer);
        registry.grantBySig(patient, r, 0, deadline, s);
        vm.assertLe(vm.snapshotGasLastCall("grantBySig"), GRANT_BY_SIG_BUDGET, "grantBySig budget");
    }

    function test_gas_revoke() public {
        vm.prank(patient);
        registry.revoke(grantId);
        vm.assertLe(vm.snapshotGasLastCall("revoke"), REVOKE_BUDGET, "revoke budget");
    }

    function test_gas_revokeBySig() public {
        bytes memory s = revokeSig;
        vm.prank(relayer);
        registry.revokeBySig(grantId, 0, deadline, s);
        vm.snapshotGasLastCall("revokeBySig");
    }

    function test_gas_grantBatch1() public {
        IConsentRegistry.GrantRequest[] memory rs = batchOf(1);
        vm.prank(patient);
        registry.grantBatch(rs);
        vm.snapshotGasLastCall("grantBatch(1)");
    }

    function test_gas_grantBatch5_perExtraGrant() public {
        IConsentRegistry.GrantRequest[] memory one = batchOf(1);
        IConsentRegistry.GrantRequest[] memory five = batchOf(5);
        // Each batch runs on its own registry, so both start with every slot cold.
        vm.prank(patient);
        twin.grantBatch(one);
        uint256 single = vm.lastCallGas().gasTotalUsed;
        vm.prank(patient);
        registry.grantBatch(five);
        uint256 total = vm.snapshotGasLastCall("grantBatch(5)");
        vm.assertLe((total - single) / 4, BATCH_EXTRA_BUDGET, "per extra grant in a batch");
    }

    function test_gas_openEmergencyAccess() public {
        vm.prank(patient);
        registry.setEmergencyAccess(0xFFFF);
        vm.prank(provider);
        registry.openEmergencyAccess(patient, keccak256("reason"));
        vm.snapshotGasLastCall("openEmergencyAccess");
    }

    function test_gas_anchorAudit() public {
        vm.prank(admin);
        registry.anchorAudit(keccak256("root"), 1000);
        vm.snapshotGasLastCall("anchorAudit");
    }

    function test_gas_isLive() public {
        registry.isLive(grantId);
        vm.snapshotGasLastCall("isLive");
    }
}
