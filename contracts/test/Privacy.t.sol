// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {Vm, vm} from "./utils/Vm.sol";
import {RegistryFixture} from "./utils/RegistryFixture.sol";
import {IConsentRegistry} from "../src/IConsentRegistry.sol";

/// @notice The chain must never carry health data or personal identifiers. Every event the registry
///         can emit is listed here with the exact number of 32-byte data words it may carry; a
///         dynamic type (string, bytes, array) or an unknown event fails the test. The ABI-level
///         twin of this check (types allow-list) lives in protocol/tests/abi_privacy.rs.
contract PrivacyTest is RegistryFixture {
    mapping(bytes32 topic0 => uint256 words) internal allowedWords;
    mapping(bytes32 topic0 => bool) internal known;

    function allow(bytes32 topic0, uint256 words) internal {
        known[topic0] = true;
        allowedWords[topic0] = words;
    }

    function test_everyEventCarriesOnlyFixedSizeFields() public {
        allow(IConsentRegistry.ProviderRegistered.selector, 2);
        allow(IConsentRegistry.ProviderProfileUpdated.selector, 1);
        allow(IConsentRegistry.ProviderSuspended.selector, 1);
        allow(IConsentRegistry.ProviderReinstated.selector, 1);
        allow(IConsentRegistry.ProviderKeyRotated.selector, 1);
        allow(IConsentRegistry.GrantCreated.selector, 6);
        allow(IConsentRegistry.GrantRevoked.selector, 0);
        allow(IConsentRegistry.EmergencyAccessConfigured.selector, 1);
        allow(IConsentRegistry.EmergencyAccessOpened.selector, 2);
        allow(IConsentRegistry.NonceIncremented.selector, 1);
        allow(IConsentRegistry.AuditAnchored.selector, 2);
        allow(Pausable.Paused.selector, 1);
        allow(Pausable.Unpaused.selector, 1);
        allow(IAccessControl.RoleGranted.selector, 0);

        vm.recordLogs();
        // Exercise every path that emits.
        vm.startPrank(admin);
        registry.registerProvider(address(0xC11), keccak256("k"), PROFILE);
        registry.updateProviderProfile(address(0xC11), bytes31(keccak256("profile v2")));
        registry.suspendProvider(address(0xC11), SUSPEND_REASON);
        registry.reinstateProvider(address(0xC11), SUSPEND_REASON);
        registry.anchorAudit(keccak256("root"), 1);
        registry.pause();
        registry.unpause();
        registry.grantRole(registry.OPERATOR_ROLE(), stranger);
        vm.stopPrank();
        vm.prank(address(0xC11));
        registry.rotateEncryptionKey(keccak256("k2"));
        bytes32 id = grantAs(patient, labRequest(provider));
        vm.startPrank(patient);
        registry.revoke(id);
        registry.incrementNonce();
        registry.setEmergencyAccess(1);
        vm.stopPrank();
        vm.prank(provider);
        registry.openEmergencyAccess(patient, keccak256("reason"));

        Vm.Log[] memory logs = vm.getRecordedLogs();
        vm.assertEq(logs.length, 15, "every path emitted once");
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter != address(registry)) continue;
            bytes32 topic0 = logs[i].topics[0];
            vm.assertTrue(known[topic0], "unknown event emitted");
            vm.assertEq(logs[i].data.length, 32 * allowedWords[topic0], "event data is not fixed-size words");
        }
    }

    function test_grantCreatedCarriesOnlyBitmasksCodesHashesAndTimes() public {
        vm.recordLogs();
        grantAs(patient, labRequest(provider));
        Vm.Log[] memory logs = vm.getRecordedLogs();
        vm.assertEq(logs.length, 1, "one event");
        (uint256 categories, bytes32 root, uint256 purpose, uint256 notBefore, uint256 expiresAt, uint256 write) =
            abi.decode(logs[0].data, (uint256, bytes32, uint256, uint256, uint256, uint256));
        vm.assertLe(categories, type(uint16).max, "bitmask");
        vm.assertEq(root, bytes32(0), "commitment only");
        vm.assertLe(purpose, 11, "purpose code");
        vm.assertLe(notBefore, type(uint32).max, "timestamp");
        vm.assertLe(expiresAt, type(uint32).max, "timestamp");
        vm.assertLe(write, 1, "flag");
        vm.assertEq(logs[0].topics.length, 4, "id, patient and provider are topics");
    }
}
