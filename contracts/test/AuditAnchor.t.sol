// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {vm} from "./utils/Vm.sol";
import {RegistryFixture} from "./utils/RegistryFixture.sol";
import {IConsentRegistry} from "../src/IConsentRegistry.sol";

contract AuditAnchorTest is RegistryFixture {
    bytes32 internal constant ROOT_A = keccak256("tree head at 10");
    bytes32 internal constant ROOT_B = keccak256("tree head at 25");

    function test_anchor_storesLatestAndEmits() public {
        vm.assertEq(registry.latestAuditAnchor().size, 0, "nothing anchored yet");
        vm.expectEmit(true, false, false, true, address(registry));
        emit IConsentRegistry.AuditAnchored(admin, ROOT_A, 10);
        vm.prank(admin);
        registry.anchorAudit(ROOT_A, 10);

        vm.warp(T0 + 1 hours);
        vm.prank(admin);
        registry.anchorAudit(ROOT_B, 25);
        IConsentRegistry.AuditAnchor memory a = registry.latestAuditAnchor();
        vm.assertEq(a.root, ROOT_B, "root");
        vm.assertEq(a.size, 25, "size");
        vm.assertEq(a.anchoredAt, T0 + 1 hours, "time");
    }

    function test_anchor_onlyOperator() public {
        expectUnauthorized(stranger, registry.OPERATOR_ROLE());
        vm.prank(stranger);
        registry.anchorAudit(ROOT_A, 10);
    }

    function test_anchor_rejectsEmptyHead() public {
        vm.startPrank(admin);
        vm.expectRevert(err(IConsentRegistry.InvalidAuditAnchor.selector));
        registry.anchorAudit(bytes32(0), 10);
        vm.expectRevert(err(IConsentRegistry.InvalidAuditAnchor.selector));
        registry.anchorAudit(ROOT_A, 0);
        vm.stopPrank();
    }

    function test_anchor_rejectsShrinkingOrForkedLog() public {
        vm.startPrank(admin);
        registry.anchorAudit(ROOT_B, 25);
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.AuditSizeNotIncreasing.selector, 25, 10));
        registry.anchorAudit(ROOT_A, 10);
        // Same size, other root: a fork of the log. Refused, so the first head stands.
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.AuditSizeNotIncreasing.selector, 25, 25));
        registry.anchorAudit(ROOT_A, 25);
        vm.stopPrank();
        vm.assertEq(registry.latestAuditAnchor().root, ROOT_B, "unchanged");
    }
}
