// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {vm} from "./utils/Vm.sol";
import {RegistryFixture} from "./utils/RegistryFixture.sol";
import {IConsentRegistry} from "../src/IConsentRegistry.sol";
import {Categories, Purposes} from "../src/ConsentTypes.sol";

contract GrantsTest is RegistryFixture {
    function test_grant_storesEveryFieldAndEmits() public {
        IConsentRegistry.GrantRequest memory r = IConsentRegistry.GrantRequest({
            provider: provider,
            categories: Categories.LAB_RESULTS | Categories.PRESCRIPTIONS,
            recordsRoot: keccak256("records"),
            purpose: Purposes.COC,
            notBefore: T0 + 1 days,
            expiresAt: T0 + 10 days,
            write: true
        });
        vm.expectEmit(false, true, true, true, address(registry));
        emit IConsentRegistry.GrantCreated(
            bytes32(0), patient, provider, r.categories, r.recordsRoot, r.purpose, r.notBefore, r.expiresAt, true
        );
        bytes32 id = grantAs(patient, r);

        (IConsentRegistry.Grant memory g, address to) = registry.getGrant(id);
        vm.assertEq(g.patient, patient, "patient");
        vm.assertEq(to, provider, "provider");
        vm.assertEq(g.notBefore, r.notBefore, "notBefore");
        vm.assertEq(g.expiresAt, r.expiresAt, "expiresAt");
        vm.assertEq(g.categories, r.categories, "categories");
        vm.assertEq(g.purpose, r.purpose, "purpose");
        vm.assertEq(g.flags, registry.FLAG_WRITE(), "write flag only");
    }

    function test_grant_idCarriesProvider() public {
        bytes32 id = grantAs(patient, labRequest(provider2));
        vm.assertEq(registry.providerOf(id), provider2, "provider in high 20 bytes");
        vm.assertEq(address(uint160(uint256(id) >> 96)), provider2, "layout");
    }

    function test_grant_sameRequestInSameBlockReverts_nextBlockSucceeds() public {
        bytes32 first = grantAs(patient, labRequest(provider));
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.GrantExists.selector, first));
        grantAs(patient, labRequest(provider));

        vm.roll(block.number + 1);
        bytes32 second = grantAs(patient, labRequest(provider));
        vm.assertNotEq(first, second, "new block, new id");
    }

    function test_grant_differentPatientsSameRequestGetDifferentIds() public {
        bytes32 a = grantAs(patient, labRequest(provider));
        bytes32 b = grantAs(otherPatient, labRequest(provider));
        vm.assertNotEq(a, b, "ids differ by patient");
    }

    function test_grant_revertsForUnregisteredProvider() public {
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.ProviderNotActive.selector, stranger));
        grantAs(patient, labRequest(stranger));
    }

    function test_grant_revertsForSuspendedProvider() public {
        vm.prank(admin);
        registry.suspendProvider(provider, SUSPEND_REASON);
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.ProviderNotActive.selector, provider));
        grantAs(patient, labRequest(provider));
    }

    function test_grant_revertsOnEmptyCategories() public {
        IConsentRegistry.GrantRequest memory r = labRequest(provider);
        r.categories = 0;
        vm.expectRevert(err(IConsentRegistry.EmptyCategories.selector));
        grantAs(patient, r);
    }

    function test_grant_revertsOnUnknownPurpose() public {
        IConsentRegistry.GrantRequest memory r = labRequest(provider);
        r.purpose = Purposes.COUNT;
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.UnknownPurpose.selector, Purposes.COUNT));
        grantAs(patient, r);
    }

    function test_grant_revertsWhenWindowEmpty() public {
        IConsentRegistry.GrantRequest memory r = labRequest(provider);
        r.notBefore = T0 + 5 days;
        r.expiresAt = T0 + 5 days;
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.InvalidWindow.selector, r.notBefore, r.expiresAt));
        grantAs(patient, r);
    }

    function test_grant_revertsWhenAlreadyExpired() public {
        IConsentRegistry.GrantRequest memory r = labRequest(provider);
        r.expiresAt = T0;
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.InvalidWindow.selector, 0, T0));
        grantAs(patient, r);
    }

    function test_grant_revertsWhenPaused() public {
        vm.prank(admin);
        registry.pause();
        vm.expectRevert(err(Pausable.EnforcedPause.selector));
        grantAs(patient, labRequest(provider));
    }

    function test_isLive_followsTheWindow() public {
        IConsentRegistry.GrantRequest memory r = labRequest(provider);
        r.notBefore = T0 + 1 days;
        r.expiresAt = T0 + 2 days;
        bytes32 id = grantAs(patient, r);

        vm.assertFalse(registry.isLive(id), "pending");
        vm.warp(T0 + 1 days);
        vm.assertTrue(registry.isLive(id), "live at notBefore");
        vm.warp(T0 + 2 days - 1);
        vm.assertTrue(registry.isLive(id), "live just before expiry");
        vm.warp(T0 + 2 days);
        vm.assertFalse(registry.isLive(id), "expired at expiresAt");
    }

    function test_isLive_falseForUnknownId() public view {
        vm.assertFalse(registry.isLive(keccak256("nope")), "unknown");
    }

    function test_canAccess_checksEveryParty() public {
        IConsentRegistry.GrantRequest memory r = labRequest(provider);
        r.categories = Categories.LAB_RESULTS | Categories.GENETICS;
        bytes32 id = grantAs(patient, r);

        vm.assertTrue(registry.canAccess(id, patient, provider, 0), "lab results");
        vm.assertTrue(registry.canAccess(id, patient, provider, 15), "genetics");
        vm.assertFalse(registry.canAccess(id, patient, provider, 1), "prescriptions not granted");
        vm.assertFalse(registry.canAccess(id, patient, provider, 16), "no such category");
        vm.assertFalse(registry.canAccess(id, otherPatient, provider, 0), "other patient");
        vm.assertFalse(registry.canAccess(id, patient, provider2, 0), "other provider");

        vm.prank(patient);
        registry.revoke(id);
        vm.assertFalse(registry.canAccess(id, patient, provider, 0), "revoked");
    }

    function test_revoke_isFinalAndEmits() public {
        bytes32 id = grantAs(patient, labRequest(provider));
        vm.expectEmit(true, true, true, true, address(registry));
        emit IConsentRegistry.GrantRevoked(id, patient, provider);
        vm.prank(patient);
        registry.revoke(id);

        vm.assertFalse(registry.isLive(id), "not live");
        (IConsentRegistry.Grant memory g,) = registry.getGrant(id);
        vm.assertEq(g.flags & registry.FLAG_REVOKED(), registry.FLAG_REVOKED(), "revoked flag");

        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.AlreadyRevoked.selector, id));
        vm.prank(patient);
        registry.revoke(id);
    }

    function test_revoke_revertsForOthers() public {
        bytes32 id = grantAs(patient, labRequest(provider));
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.NotPatient.selector, id, provider));
        vm.prank(provider);
        registry.revoke(id);
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.NotPatient.selector, id, admin));
        vm.prank(admin);
        registry.revoke(id);
        vm.assertTrue(registry.isLive(id), "still live");
    }

    function test_revoke_revertsForUnknownGrant() public {
        bytes32 id = keccak256("nope");
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.GrantNotFound.selector, id));
        vm.prank(patient);
        registry.revoke(id);
    }

    function test_revoke_worksWhilePausedAndAfterExpiry() public {
        bytes32 id = grantAs(patient, labRequest(provider));
        vm.prank(admin);
        registry.pause();
        vm.warp(T0 + 365 days);
        vm.prank(patient);
        registry.revoke(id);
        (IConsentRegistry.Grant memory g,) = registry.getGrant(id);
        vm.assertEq(g.flags, registry.FLAG_REVOKED(), "revoked while paused and expired");
    }

    function testFuzz_livenessMatchesWindow(uint32 notBefore, uint32 expiresAt, uint32 at) public {
        vm.assume(expiresAt > notBefore && expiresAt > T0);
        IConsentRegistry.GrantRequest memory r = labRequest(provider);
        r.notBefore = notBefore;
        r.expiresAt = expiresAt;
        bytes32 id = grantAs(patient, r);
        vm.warp(at);
        vm.assertEq(registry.isLive(id), at >= notBefore && at < expiresAt, "live iff inside [notBefore, expiresAt)");
    }

    function testFuzz_canAccessMatchesCategoryBit(uint16 categories, uint8 category) public {
        vm.assume(categories != 0);
        IConsentRegistry.GrantRequest memory r = labRequest(provider);
        r.categories = categories;
        bytes32 id = grantAs(patient, r);
        bool expected = category < 16 && (categories >> category) & 1 == 1;
        vm.assertEq(registry.canAccess(id, patient, provider, category), expected, "category bit");
    }

    function testFuzz_onlyPatientCanRevoke(address caller) public {
        vm.assume(caller != patient);
        bytes32 id = grantAs(patient, labRequest(provider));
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.NotPatient.selector, id, caller));
        vm.prank(caller);
        registry.revoke(id);
    }

    function testFuzz_rejectsBadPurpose(uint8 purpose) public {
        vm.assume(purpose >= Purposes.COUNT);
        IConsentRegistry.GrantRequest memory r = labRequest(provider);
        r.purpose = purpose;
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.UnknownPurpose.selector, purpose));
        grantAs(patient, r);
    }
}
