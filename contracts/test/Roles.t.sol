// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {
    IAccessControlDefaultAdminRules
} from "@openzeppelin/contracts/access/extensions/IAccessControlDefaultAdminRules.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {vm} from "./utils/Vm.sol";
import {RegistryFixture} from "./utils/RegistryFixture.sol";
import {ConsentRegistry} from "../src/ConsentRegistry.sol";

contract RolesTest is RegistryFixture {
    address internal newAdmin = address(0xAD2);

    function test_constructor_givesAdminEveryRole() public view {
        vm.assertEq(registry.defaultAdmin(), admin, "default admin");
        vm.assertTrue(registry.hasRole(registry.REGISTRAR_ROLE(), admin), "registrar");
        vm.assertTrue(registry.hasRole(registry.PAUSER_ROLE(), admin), "pauser");
        vm.assertTrue(registry.hasRole(registry.OPERATOR_ROLE(), admin), "operator");
        vm.assertEq(registry.defaultAdminDelay(), ADMIN_DELAY, "delay");
        vm.assertEq(registry.CATEGORY_COUNT(), 16, "categories");
        vm.assertEq(registry.PURPOSE_COUNT(), 12, "purposes");
    }

    function test_constructor_rejectsZeroAdmin() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControlDefaultAdminRules.AccessControlInvalidDefaultAdmin.selector, address(0)
            )
        );
        new ConsentRegistry(address(0), ADMIN_DELAY);
    }

    function test_adminTransfer_isTwoStepWithDelay() public {
        vm.prank(admin);
        registry.beginDefaultAdminTransfer(newAdmin);

        vm.expectRevert();
        vm.prank(newAdmin);
        registry.acceptDefaultAdminTransfer();
        vm.assertEq(registry.defaultAdmin(), admin, "old admin until accepted after delay");

        vm.warp(T0 + ADMIN_DELAY + 1);
        vm.prank(newAdmin);
        registry.acceptDefaultAdminTransfer();
        vm.assertEq(registry.defaultAdmin(), newAdmin, "transferred");
    }

    function test_adminTransfer_onlyPendingAdminAccepts() public {
        vm.prank(admin);
        registry.beginDefaultAdminTransfer(newAdmin);
        vm.warp(T0 + ADMIN_DELAY + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControlDefaultAdminRules.AccessControlInvalidDefaultAdmin.selector, stranger)
        );
        vm.prank(stranger);
        registry.acceptDefaultAdminTransfer();
    }

    function test_pause_onlyPauserAndReversible() public {
        expectUnauthorized(stranger, registry.PAUSER_ROLE());
        vm.prank(stranger);
        registry.pause();

        vm.prank(admin);
        registry.pause();
        vm.assertTrue(registry.paused(), "paused");

        expectUnauthorized(stranger, registry.PAUSER_ROLE());
        vm.prank(stranger);
        registry.unpause();

        vm.prank(admin);
        registry.unpause();
        vm.assertFalse(registry.paused(), "unpaused");
        grantAs(patient, labRequest(provider));
    }

    function test_pause_twiceReverts() public {
        vm.startPrank(admin);
        registry.pause();
        vm.expectRevert(err(Pausable.EnforcedPause.selector));
        registry.pause();
        registry.unpause();
        vm.expectRevert(err(Pausable.ExpectedPause.selector));
        registry.unpause();
        vm.stopPrank();
    }

    function test_supportsAccessControlInterfaces() public view {
        vm.assertTrue(registry.supportsInterface(type(IAccessControl).interfaceId), "IAccessControl");
        vm.assertTrue(
            registry.supportsInterface(type(IAccessControlDefaultAdminRules).interfaceId), "DefaultAdminRules"
        );
    }
}
