// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {vm} from "./utils/Vm.sol";
import {RegistryFixture} from "./utils/RegistryFixture.sol";
import {IConsentRegistry} from "../src/IConsentRegistry.sol";

contract ProvidersTest is RegistryFixture {
    address internal newcomer = address(0xC11);
    bytes32 internal constant NEW_KEY = keccak256("x25519:newcomer");

    function test_register_storesKeyAndEmits() public {
        vm.expectEmit(true, false, false, true, address(registry));
        emit IConsentRegistry.ProviderRegistered(newcomer, NEW_KEY, PROFILE);
        vm.prank(admin);
        registry.registerProvider(newcomer, NEW_KEY, PROFILE);

        IConsentRegistry.Provider memory p = registry.getProvider(newcomer);
        vm.assertEq(uint256(p.status), uint256(IConsentRegistry.ProviderStatus.Active), "status");
        vm.assertEq(p.encryptionKey, NEW_KEY, "key");
        vm.assertEq(bytes32(p.profileHash), bytes32(PROFILE), "profile commitment");
    }

    function test_register_revertsWithoutProfile() public {
        vm.expectRevert(err(IConsentRegistry.MissingProfile.selector));
        vm.prank(admin);
        registry.registerProvider(newcomer, NEW_KEY, bytes31(0));
    }

    function test_updateProfile_byRegistrarEmitsOnlyTheHash() public {
        bytes31 next = bytes31(keccak256("profile v2"));
        vm.expectEmit(true, false, false, true, address(registry));
        emit IConsentRegistry.ProviderProfileUpdated(provider, next);
        vm.prank(admin);
        registry.updateProviderProfile(provider, next);
        IConsentRegistry.Provider memory p = registry.getProvider(provider);
        vm.assertEq(bytes32(p.profileHash), bytes32(next), "new commitment");
        vm.assertEq(p.encryptionKey, PROVIDER_ENC_KEY, "key untouched");
        vm.assertEq(uint256(p.status), 1, "still active");
    }

    function test_updateProfile_keepsSuspension() public {
        vm.startPrank(admin);
        registry.suspendProvider(provider, SUSPEND_REASON);
        registry.updateProviderProfile(provider, bytes31(keccak256("profile v2")));
        vm.stopPrank();
        vm.assertEq(uint256(registry.getProvider(provider).status), 2, "still suspended");
    }

    /// The provider itself cannot move its commitment: a changed NPI must be reviewed first.
    function test_updateProfile_revertsForTheProviderItself() public {
        expectUnauthorized(provider, registry.REGISTRAR_ROLE());
        vm.prank(provider);
        registry.updateProviderProfile(provider, bytes31(keccak256("my new NPI")));
        vm.assertEq(bytes32(registry.getProvider(provider).profileHash), bytes32(PROFILE), "unchanged");
    }

    function testFuzz_updateProfile_revertsForNonRegistrar(address caller) public {
        vm.assume(caller != admin);
        expectUnauthorized(caller, registry.REGISTRAR_ROLE());
        vm.prank(caller);
        registry.updateProviderProfile(provider, bytes31(keccak256("forged")));
    }

    function test_updateProfile_revertsForUnregisteredOrEmpty() public {
        vm.startPrank(admin);
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.ProviderNotRegistered.selector, newcomer));
        registry.updateProviderProfile(newcomer, PROFILE);
        vm.expectRevert(err(IConsentRegistry.MissingProfile.selector));
        registry.updateProviderProfile(provider, bytes31(0));
        vm.stopPrank();
    }

    function test_suspendAndReinstate_needAReason() public {
        vm.startPrank(admin);
        vm.expectRevert(err(IConsentRegistry.MissingReason.selector));
        registry.suspendProvider(provider, bytes32(0));
        registry.suspendProvider(provider, SUSPEND_REASON);
        vm.expectRevert(err(IConsentRegistry.MissingReason.selector));
        registry.reinstateProvider(provider, bytes32(0));
        vm.stopPrank();
    }

    function test_register_revertsForNonRegistrar() public {
        expectUnauthorized(stranger, registry.REGISTRAR_ROLE());
        vm.prank(stranger);
        registry.registerProvider(newcomer, NEW_KEY, PROFILE);
    }

    function test_register_revertsOnZeroAddress() public {
        vm.expectRevert(err(IConsentRegistry.ZeroAddress.selector));
        vm.prank(admin);
        registry.registerProvider(address(0), NEW_KEY, PROFILE);
    }

    function test_register_revertsOnZeroKey() public {
        vm.expectRevert(err(IConsentRegistry.InvalidEncryptionKey.selector));
        vm.prank(admin);
        registry.registerProvider(newcomer, bytes32(0), PROFILE);
    }

    function test_register_revertsWhenRegisteredOrSuspended() public {
        vm.startPrank(admin);
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.ProviderAlreadyRegistered.selector, provider));
        registry.registerProvider(provider, NEW_KEY, PROFILE);

        registry.suspendProvider(provider, SUSPEND_REASON);
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.ProviderAlreadyRegistered.selector, provider));
        registry.registerProvider(provider, NEW_KEY, PROFILE);
        vm.stopPrank();
        vm.assertEq(registry.getProvider(provider).encryptionKey, PROVIDER_ENC_KEY, "key unchanged");
    }

    function test_delegatedRegistrarCanRegister() public {
        bytes32 role = registry.REGISTRAR_ROLE();
        vm.prank(admin);
        registry.grantRole(role, stranger);
        vm.prank(stranger);
        registry.registerProvider(newcomer, NEW_KEY, PROFILE);
        vm.assertEq(uint256(registry.getProvider(newcomer).status), 1, "registered by delegate");
    }

    function test_suspend_stopsLiveGrantsAndReinstateRestoresThem() public {
        bytes32 id = grantAs(patient, labRequest(provider));
        vm.assertTrue(registry.isLive(id), "live before suspension");

        vm.expectEmit(true, false, false, true, address(registry));
        emit IConsentRegistry.ProviderSuspended(provider, SUSPEND_REASON);
        vm.prank(admin);
        registry.suspendProvider(provider, SUSPEND_REASON);
        vm.assertFalse(registry.isLive(id), "not live while suspended");
        vm.assertEq(uint256(registry.getProvider(provider).status), 2, "suspended");

        vm.expectEmit(true, false, false, true, address(registry));
        emit IConsentRegistry.ProviderReinstated(provider, SUSPEND_REASON);
        vm.prank(admin);
        registry.reinstateProvider(provider, SUSPEND_REASON);
        vm.assertTrue(registry.isLive(id), "live again");
    }

    function test_suspend_revertsUnlessActive() public {
        vm.startPrank(admin);
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.ProviderNotActive.selector, newcomer));
        registry.suspendProvider(newcomer, SUSPEND_REASON);
        registry.suspendProvider(provider, SUSPEND_REASON);
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.ProviderNotActive.selector, provider));
        registry.suspendProvider(provider, SUSPEND_REASON);
        vm.stopPrank();
    }

    function test_suspend_revertsForNonRegistrar() public {
        expectUnauthorized(provider, registry.REGISTRAR_ROLE());
        vm.prank(provider);
        registry.suspendProvider(provider, SUSPEND_REASON);
    }

    function test_reinstate_revertsUnlessSuspended() public {
        vm.startPrank(admin);
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.ProviderNotSuspended.selector, provider));
        registry.reinstateProvider(provider, SUSPEND_REASON);
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.ProviderNotSuspended.selector, newcomer));
        registry.reinstateProvider(newcomer, SUSPEND_REASON);
        vm.stopPrank();
    }

    function test_reinstate_revertsForNonRegistrar() public {
        vm.prank(admin);
        registry.suspendProvider(provider, SUSPEND_REASON);
        expectUnauthorized(provider, registry.REGISTRAR_ROLE());
        vm.prank(provider);
        registry.reinstateProvider(provider, SUSPEND_REASON);
    }

    function test_rotateKey_byProviderItself() public {
        vm.expectEmit(true, false, false, true, address(registry));
        emit IConsentRegistry.ProviderKeyRotated(provider, NEW_KEY);
        vm.prank(provider);
        registry.rotateEncryptionKey(NEW_KEY);
        vm.assertEq(registry.getProvider(provider).encryptionKey, NEW_KEY, "rotated");
    }

    function test_rotateKey_allowedWhileSuspended() public {
        vm.prank(admin);
        registry.suspendProvider(provider, SUSPEND_REASON);
        vm.prank(provider);
        registry.rotateEncryptionKey(NEW_KEY);
        vm.assertEq(registry.getProvider(provider).encryptionKey, NEW_KEY, "rotated while suspended");
        vm.assertEq(uint256(registry.getProvider(provider).status), 2, "still suspended");
    }

    function test_rotateKey_revertsForUnregistered() public {
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.ProviderNotRegistered.selector, stranger));
        vm.prank(stranger);
        registry.rotateEncryptionKey(NEW_KEY);
    }

    function test_rotateKey_revertsOnZeroKey() public {
        vm.expectRevert(err(IConsentRegistry.InvalidEncryptionKey.selector));
        vm.prank(provider);
        registry.rotateEncryptionKey(bytes32(0));
    }

    function testFuzz_onlyRegistrarRegisters(address caller) public {
        vm.assume(caller != admin);
        expectUnauthorized(caller, registry.REGISTRAR_ROLE());
        vm.prank(caller);
        registry.registerProvider(newcomer, NEW_KEY, PROFILE);
    }
}
