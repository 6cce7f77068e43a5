// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {vm} from "./utils/Vm.sol";
import {RegistryFixture} from "./utils/RegistryFixture.sol";
import {IConsentRegistry} from "../src/IConsentRegistry.sol";
import {Categories} from "../src/ConsentTypes.sol";

contract BatchTest is RegistryFixture {
    function twoProviders() internal view returns (IConsentRegistry.GrantRequest[] memory rs) {
        rs = new IConsentRegistry.GrantRequest[](2);
        rs[0] = labRequest(provider);
        rs[1] = labRequest(provider2);
        rs[1].categories = Categories.IMAGING;
    }

    function test_grantBatch_grantsEachInOrder() public {
        vm.prank(patient);
        bytes32[] memory ids = registry.grantBatch(twoProviders());
        vm.assertEq(ids.length, 2, "two ids");
        vm.assertEq(registry.providerOf(ids[0]), provider, "first");
        vm.assertEq(registry.providerOf(ids[1]), provider2, "second");
        vm.assertTrue(registry.canAccess(ids[0], patient, provider, 0), "lab to provider");
        vm.assertTrue(registry.canAccess(ids[1], patient, provider2, 2), "imaging to provider2");
    }

    function test_grantBatch_identicalEntriesGetDistinctIds() public {
        IConsentRegistry.GrantRequest[] memory rs = new IConsentRegistry.GrantRequest[](2);
        rs[0] = labRequest(provider);
        rs[1] = labRequest(provider);
        vm.prank(patient);
        bytes32[] memory ids = registry.grantBatch(rs);
        vm.assertNotEq(ids[0], ids[1], "distinct");
    }

    function test_grantBatch_revertsWholeWhenOneIsInvalid() public {
        IConsentRegistry.GrantRequest[] memory rs = twoProviders();
        rs[1].provider = stranger;
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.ProviderNotActive.selector, stranger));
        vm.prank(patient);
        registry.grantBatch(rs);

        // The first entry's id, had it been written, would be this; it must not exist.
        bytes32 seed = keccak256(abi.encode(patient, rs[0], block.number, uint256(0)));
        bytes32 firstId = bytes32((uint256(uint160(provider)) << 96) | (uint256(seed) & type(uint96).max));
        (IConsentRegistry.Grant memory g,) = registry.getGrant(firstId);
        vm.assertEq(g.patient, address(0), "first entry rolled back");
    }

    function test_grantBatch_revertsOnEmpty() public {
        vm.expectRevert(err(IConsentRegistry.EmptyBatch.selector));
        vm.prank(patient);
        registry.grantBatch(new IConsentRegistry.GrantRequest[](0));
    }

    function test_grantBatch_revertsWhenPaused() public {
        vm.prank(admin);
        registry.pause();
        vm.expectRevert(err(Pausable.EnforcedPause.selector));
        vm.prank(patient);
        registry.grantBatch(twoProviders());
    }

    function test_revokeBatch_revokesAll() public {
        vm.startPrank(patient);
        bytes32[] memory ids = registry.grantBatch(twoProviders());
        registry.revokeBatch(ids);
        vm.stopPrank();
        vm.assertFalse(registry.isLive(ids[0]), "first revoked");
        vm.assertFalse(registry.isLive(ids[1]), "second revoked");
    }

    function test_revokeBatch_revertsWholeWhenOneIsNotTheCallers() public {
        vm.prank(patient);
        bytes32[] memory mine = registry.grantBatch(twoProviders());
        bytes32 theirs = grantAs(otherPatient, labRequest(provider));
        bytes32[] memory ids = new bytes32[](2);
        ids[0] = mine[0];
        ids[1] = theirs;
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.NotPatient.selector, theirs, patient));
        vm.prank(patient);
        registry.revokeBatch(ids);
        vm.assertTrue(registry.isLive(mine[0]), "mine untouched");
        vm.assertTrue(registry.isLive(theirs), "theirs untouched");
    }

    function test_revokeBatch_revertsOnEmpty() public {
        vm.expectRevert(err(IConsentRegistry.EmptyBatch.selector));
        vm.prank(patient);
        registry.revokeBatch(new bytes32[](0));
    }
}
