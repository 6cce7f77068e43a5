// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {vm} from "./Vm.sol";
import {ConsentRegistry} from "../../src/ConsentRegistry.sol";
import {IConsentRegistry} from "../../src/IConsentRegistry.sol";
import {Categories, Purposes} from "../../src/ConsentTypes.sol";

/// @notice A deployed registry with an admin, two registered providers and two patients whose
///         private keys are known, so tests can sign EIP-712 messages as the patient.
abstract contract RegistryFixture {
    bool public constant IS_TEST = true;

    uint32 internal constant T0 = 1_800_000_000; // 2027-01-15
    uint48 internal constant ADMIN_DELAY = 3 days;
    uint256 internal constant PATIENT_PK = 0xA11CE;
    uint256 internal constant OTHER_PATIENT_PK = 0xB0B;
    uint256 internal constant PROVIDER_PK = 0xD0C;

    bytes32 internal constant PROVIDER_ENC_KEY = keccak256("x25519:provider");
    bytes32 internal constant PROVIDER2_ENC_KEY = keccak256("x25519:provider2");
    bytes31 internal constant PROFILE = bytes31(keccak256("profile:provider"));
    bytes32 internal constant SUSPEND_REASON = keccak256("licence under review");

    ConsentRegistry internal registry;
    address internal admin = address(0xAD);
    address internal relayer = address(0x5E1A);
    address internal patient;
    address internal otherPatient;
    address internal provider;
    address internal provider2 = address(0xD0C2);
    address internal stranger = address(0xBAD);

    function setUp() public virtual {
        vm.warp(T0);
        vm.roll(100);
        patient = vm.addr(PATIENT_PK);
        otherPatient = vm.addr(OTHER_PATIENT_PK);
        provider = vm.addr(PROVIDER_PK);
        registry = new ConsentRegistry(admin, ADMIN_DELAY);
        vm.startPrank(admin);
        registry.registerProvider(provider, PROVIDER_ENC_KEY, PROFILE);
        registry.registerProvider(provider2, PROVIDER2_ENC_KEY, PROFILE);
        vm.stopPrank();
        vm.label(address(registry), "ConsentRegistry");
        vm.label(patient, "patient");
        vm.label(provider, "provider");
    }

    /// @dev Lab results for treatment, live now for 30 days, read only, every record.
    function labRequest(address to) internal pure returns (IConsentRegistry.GrantRequest memory) {
        return IConsentRegistry.GrantRequest({
            provider: to,
            categories: Categories.LAB_RESULTS,
            recordsRoot: bytes32(0),
            purpose: Purposes.TREAT,
            notBefore: 0,
            expiresAt: T0 + 30 days,
            write: false
        });
    }

    function grantAs(address who, IConsentRegistry.GrantRequest memory r) internal returns (bytes32 id) {
        vm.prank(who);
        id = registry.grant(r);
    }

    function sign(uint256 pk, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(pk, digest);
        return abi.encodePacked(r, s, v);
    }

    function signGrant(uint256 pk, IConsentRegistry.GrantRequest memory r, uint64 nonce, uint256 deadline)
        internal
        view
        returns (bytes memory)
    {
        return sign(pk, registry.hashGrant(vm.addr(pk), r, nonce, deadline));
    }

    function signRevoke(uint256 pk, bytes32 grantId, uint64 nonce, uint256 deadline)
        internal
        view
        returns (bytes memory)
    {
        return sign(pk, registry.hashRevoke(vm.addr(pk), grantId, nonce, deadline));
    }

    /// @dev The next call must fail because `account` lacks `role`.
    function expectUnauthorized(address account, bytes32 role) internal {
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, account, role));
    }

    function err(bytes4 selector) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(selector);
    }

    function bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        return min + (x % (max - min + 1));
    }
}
