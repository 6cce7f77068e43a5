// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {vm} from "./utils/Vm.sol";
import {RegistryFixture} from "./utils/RegistryFixture.sol";
import {IConsentRegistry} from "../src/IConsentRegistry.sol";
import {Categories, Purposes} from "../src/ConsentTypes.sol";

contract EmergencyTest is RegistryFixture {
    bytes32 internal constant REASON = keccak256("unconscious on arrival, ED bed 4");
    uint16 internal constant OPTED = Categories.ALLERGIES | Categories.PRESCRIPTIONS | Categories.CONDITIONS;

    function optIn() internal {
        vm.prank(patient);
        registry.setEmergencyAccess(OPTED);
    }

    function test_setEmergencyAccess_storesAndEmits() public {
        vm.expectEmit(true, false, false, true, address(registry));
        emit IConsentRegistry.EmergencyAccessConfigured(patient, OPTED);
        optIn();
        vm.assertEq(registry.emergencyCategories(patient), OPTED, "opted in");
    }

    function test_open_createsShortReadOnlyEtreatGrantLoudly() public {
        optIn();
        uint32 expiresAt = T0 + registry.EMERGENCY_ACCESS_DURATION();
        vm.expectEmit(false, true, true, true, address(registry));
        emit IConsentRegistry.GrantCreated(
            bytes32(0), patient, provider, OPTED, 0, Purposes.ETREAT, T0, expiresAt, false
        );
        vm.expectEmit(false, true, true, true, address(registry));
        emit IConsentRegistry.EmergencyAccessOpened(bytes32(0), patient, provider, REASON, expiresAt);
        vm.prank(provider);
        bytes32 id = registry.openEmergencyAccess(patient, REASON);

        (IConsentRegistry.Grant memory g,) = registry.getGrant(id);
        vm.assertEq(g.purpose, Purposes.ETREAT, "ETREAT");
        vm.assertEq(g.categories, OPTED, "only what the patient opted in");
        vm.assertEq(g.flags, registry.FLAG_EMERGENCY(), "emergency, not write");
        vm.assertEq(registry.EMERGENCY_ACCESS_DURATION(), 4 hours, "fixed duration");
        vm.assertTrue(registry.isLive(id), "live now");
        vm.warp(expiresAt);
        vm.assertFalse(registry.isLive(id), "gone after the fixed duration");
    }

    function test_open_patientCanRevoke() public {
        optIn();
        vm.prank(provider);
        bytes32 id = registry.openEmergencyAccess(patient, REASON);
        vm.prank(patient);
        registry.revoke(id);
        vm.assertFalse(registry.isLive(id), "revoked");
    }

    function test_open_revertsWithoutOptIn() public {
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.EmergencyAccessDisabled.selector, patient));
        vm.prank(provider);
        registry.openEmergencyAccess(patient, REASON);
    }

    function test_optOut_blocksNewButKeepsOpenGrant() public {
        optIn();
        vm.prank(provider);
        bytes32 id = registry.openEmergencyAccess(patient, REASON);
        vm.prank(patient);
        registry.setEmergencyAccess(0);
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.EmergencyAccessDisabled.selector, patient));
        vm.prank(provider2);
        registry.openEmergencyAccess(patient, REASON);
        vm.assertTrue(registry.isLive(id), "open grant stays until revoked or expired");
    }

    function test_open_revertsWithoutReason() public {
        optIn();
        vm.expectRevert(err(IConsentRegistry.MissingReason.selector));
        vm.prank(provider);
        registry.openEmergencyAccess(patient, bytes32(0));
    }

    function test_open_revertsForUnregisteredOrSuspendedProvider() public {
        optIn();
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.ProviderNotActive.selector, stranger));
        vm.prank(stranger);
        registry.openEmergencyAccess(patient, REASON);

        vm.prank(admin);
        registry.suspendProvider(provider, REASON);
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.ProviderNotActive.selector, provider));
        vm.prank(provider);
        registry.openEmergencyAccess(patient, REASON);
    }

    function test_open_revertsWhenPaused() public {
        optIn();
        vm.prank(admin);
        registry.pause();
        vm.expectRevert(err(Pausable.EnforcedPause.selector));
        vm.prank(provider);
        registry.openEmergencyAccess(patient, REASON);
    }
}
