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
        emit IConsentRegistry.ProviderRegistered(newcomer, NEW_KEY);
        vm.prank(admin);
        registry.registerProvider(newcomer, NEW_KEY);

        IConsentRegistry.Provider memory p = registry.getProvider(newcomer);
        vm.assertEq(uint256(p.status), uint256(IConsentRegistry.ProviderStatus.Active), "status");
        vm.assertEq(p.encryptionKey, NEW_KEY, "key");
    }

    function test_register_revertsForNonRegistrar() public {
        expectUnauthorized(stranger, registry.REGISTRAR_ROLE());
        vm.prank(stranger);
        registry.registerProvider(newcomer, NEW_KEY);
    }

    function test_register_revertsOnZeroAddress() public {
        vm.expectRevert(err(IConsentRegistry.ZeroAddress.selector));
        vm.prank(admin);
        registry.registerProvider(address(0), NEW_KEY);
    }

    function test_register_revertsOnZeroKey() public {
        vm.expectRevert(err(IConsentRegistry.InvalidEncryptionKey.selector));
        vm.prank(admin);
        registry.registerProvider(newcomer, bytes32(0));
    }

    function test_register_revertsWhenRegisteredOrSuspended() public {
        vm.startPrank(admin);
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.ProviderAlreadyRegistered.selector, provider));
        registry.registerProvider(provider, NEW_KEY);

        registry.suspendProvider(provider);
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.ProviderAlreadyRegistered.selector, provider));
        registry.registerProvider(provider, NEW_KEY);
        vm.stopPrank();
        vm.assertEq(registry.getProvider(provider).encryptionKey, PROVIDER_ENC_KEY, "key unchanged");
    }

    function test_delegatedRegistrarCanRegister() public {
        bytes32 role = registry.REGISTRAR_ROLE();
        vm.prank(admin);
        registry.grantRole(role, stranger);
        vm.prank(stranger);
        registry.registerProvider(newcomer, NEW_KEY);
        vm.assertEq(uint256(registry.getProvider(newcomer).status), 1, "registered by delegate");
    }

    function test_suspend_stopsLiveGrantsAndReinstateRestoresThem() public {
        bytes32 id = grantAs(patient, labRequest(provider));
        vm.assertTrue(registry.isLive(id), "live before suspension");

        vm.expectEmit(true, false, false, true, address(registry));
        emit IConsentRegistry.ProviderSuspended(provider);
        vm.prank(admin);
        registry.suspendProvider(provider);
        vm.assertFalse(registry.isLive(id), "not live while suspended");
        vm.assertEq(uint256(registry.getProvider(provider).status), 2, "suspended");

        vm.expectEmit(true, false, false, true, address(registry));
        emit IConsentRegistry.ProviderReinstated(provider);
        vm.prank(admin);
        registry.reinstateProvider(provider);
        vm.assertTrue(registry.isLive(id), "live again");
    }

    function test_suspend_revertsUnlessActive() public {
        vm.startPrank(admin);
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.ProviderNotActive.selector, newcomer));
        registry.suspendProvider(newcomer);
        registry.suspendProvider(provider);
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.ProviderNotActive.selector, provider));
        registry.suspendProvider(provider);
        vm.stopPrank();
    }

    function test_suspend_revertsForNonRegistrar() public {
        expectUnauthorized(provider, registry.REGISTRAR_ROLE());
        vm.prank(provider);
        registry.suspendProvider(provider);
    }

    function test_reinstate_revertsUnlessSuspended() public {
        vm.startPrank(admin);
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.ProviderNotSuspended.selector, provider));
        registry.reinstateProvider(provider);
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.ProviderNotSuspended.selector, newcomer));
        registry.reinstateProvider(newcomer);
        vm.stopPrank();
    }

    function test_reinstate_revertsForNonRegistrar() public {
        vm.prank(admin);
        registry.suspendProvider(provider);
        expectUnauthorized(provider, registry.REGISTRAR_ROLE());
        vm.prank(provider);
        registry.reinstateProvider(provider);
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
        registry.suspendProvider(provider);
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
        registry.registerProvider(newcomer, NEW_KEY);
    }
}
