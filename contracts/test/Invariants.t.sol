// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {vm} from "./utils/Vm.sol";
import {RegistryFixture} from "./utils/RegistryFixture.sol";
import {ConsentRegistry} from "../src/ConsentRegistry.sol";
import {IConsentRegistry} from "../src/IConsentRegistry.sol";

/// @notice Drives the registry with random patients, providers, times and signatures, and keeps
///         ghost state the invariants are checked against.
contract RegistryHandler {
    ConsentRegistry public immutable registry;
    address public immutable admin;
    uint256[3] internal patientKeys = [uint256(0xA11CE), 0xB0B, 0xCAFE];
    address[3] public patients;
    address[3] public providers;

    bytes32[] public grantIds;
    mapping(bytes32 => bool) public revokedByGhost;
    mapping(address => uint64) public lastNonce;
    uint256 public revokesByNonPatient;
    uint256 public successfulRevokes;
    uint256 public nonceDecreases;
    uint256 public now_ = 1_800_000_000;

    constructor(ConsentRegistry registry_, address admin_, address[3] memory providers_) {
        registry = registry_;
        admin = admin_;
        providers = providers_;
        for (uint256 i; i < 3; ++i) {
            patients[i] = vm.addr(patientKeys[i]);
        }
    }

    function grantCount() external view returns (uint256) {
        return grantIds.length;
    }

    function _request(uint256 seed) internal view returns (IConsentRegistry.GrantRequest memory r) {
        uint32 start = uint32(now_ + (seed % 3 == 0 ? (seed >> 8) % 2 days : 0));
        r = IConsentRegistry.GrantRequest({
            provider: providers[seed % 3],
            categories: uint16(seed >> 16) | 1,
            recordsRoot: bytes32(seed),
            purpose: uint8((seed >> 40) % 12),
            notBefore: start,
            expiresAt: start + 1 + uint32((seed >> 48) % 30 days),
            write: seed & 4 == 0
        });
    }

    function grant(uint256 patientSeed, uint256 seed) external {
        vm.roll(block.number + 1);
        vm.prank(patients[patientSeed % 3]);
        try registry.grant(_request(seed)) returns (bytes32 id) {
            grantIds.push(id);
        } catch {}
    }

    function grantBySig(uint256 patientSeed, uint256 seed) external {
        uint256 pk = patientKeys[patientSeed % 3];
        address p = vm.addr(pk);
        IConsentRegistry.GrantRequest memory r = _request(seed);
        uint64 nonce = registry.nonces(p);
        uint256 deadline = now_ + 1 hours;
        (uint8 v, bytes32 rr, bytes32 s) = vm.sign(pk, registry.hashGrant(p, r, nonce, deadline));
        try registry.grantBySig(p, r, nonce, deadline, abi.encodePacked(rr, s, v)) returns (bytes32 id) {
            grantIds.push(id);
        } catch {}
    }

    /// @dev Anyone may try to revoke any grant; success by a non-patient breaks an invariant.
    function revoke(uint256 callerSeed, uint256 idSeed) external {
        if (grantIds.length == 0) return;
        bytes32 id = grantIds[idSeed % grantIds.length];
        address caller = callerSeed % 2 == 0 ? patients[callerSeed % 3] : providers[callerSeed % 3];
        (IConsentRegistry.Grant memory g,) = registry.getGrant(id);
        vm.prank(caller);
        try registry.revoke(id) {
            successfulRevokes++;
            if (caller != g.patient) revokesByNonPatient++;
            revokedByGhost[id] = true;
        } catch {}
    }

    function incrementNonce(uint256 patientSeed) external {
        address p = patients[patientSeed % 3];
        uint64 before = registry.nonces(p);
        vm.prank(p);
        registry.incrementNonce();
        uint64 afterwards = registry.nonces(p);
        if (afterwards <= before || afterwards <= lastNonce[p]) nonceDecreases++;
        lastNonce[p] = afterwards;
    }

    function warp(uint256 secondsSeed) external {
        now_ += secondsSeed % 10 days;
        vm.warp(now_);
    }

    function toggleProvider(uint256 seed) external {
        address provider = providers[seed % 3];
        vm.startPrank(admin);
        if (registry.getProvider(provider).status == IConsentRegistry.ProviderStatus.Active) {
            registry.suspendProvider(provider, keccak256("registrar review"));
        } else {
            registry.reinstateProvider(provider, keccak256("registrar review"));
        }
        vm.stopPrank();
    }
}

contract InvariantsTest is RegistryFixture {
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    RegistryHandler internal handler;

    function setUp() public override {
        super.setUp();
        address p3 = address(0xD0C3);
        vm.prank(admin);
        registry.registerProvider(p3, keccak256("x25519:p3"), PROFILE);
        handler = new RegistryHandler(registry, admin, [provider, provider2, p3]);
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function targetSelectors() public view returns (FuzzSelector[] memory targets) {
        bytes4[] memory selectors = new bytes4[](6);
        selectors[0] = RegistryHandler.grant.selector;
        selectors[1] = RegistryHandler.grantBySig.selector;
        selectors[2] = RegistryHandler.revoke.selector;
        selectors[3] = RegistryHandler.incrementNonce.selector;
        selectors[4] = RegistryHandler.warp.selector;
        selectors[5] = RegistryHandler.toggleProvider.selector;
        targets = new FuzzSelector[](1);
        targets[0] = FuzzSelector(address(handler), selectors);
    }

    /// @dev Guards against vacuous passes: each run must actually have created grants.
    function afterInvariant() public view {
        vm.assertGt(handler.grantCount(), 0, "handler created no grants");
    }

    function invariant_revokedGrantIsNeverLiveAgain() public view {
        uint256 n = handler.grantCount();
        for (uint256 i; i < n; ++i) {
            bytes32 id = handler.grantIds(i);
            if (!handler.revokedByGhost(id)) continue;
            vm.assertFalse(registry.isLive(id), "revoked grant is live");
            (IConsentRegistry.Grant memory g,) = registry.getGrant(id);
            vm.assertEq(g.flags & registry.FLAG_REVOKED(), registry.FLAG_REVOKED(), "revoked flag lost");
        }
    }

    function invariant_onlyThePatientCanRevoke() public view {
        vm.assertEq(handler.revokesByNonPatient(), 0, "someone other than the patient revoked");
    }

    function invariant_noncesStrictlyIncrease() public view {
        vm.assertEq(handler.nonceDecreases(), 0, "a nonce did not strictly increase");
        for (uint256 i; i < 3; ++i) {
            address p = handler.patients(i);
            vm.assertEq(registry.nonces(p), handler.lastNonce(p), "nonce moved without incrementNonce");
        }
    }

    function invariant_expiredGrantIsNeverLive() public view {
        uint256 n = handler.grantCount();
        for (uint256 i; i < n; ++i) {
            bytes32 id = handler.grantIds(i);
            (IConsentRegistry.Grant memory g,) = registry.getGrant(id);
            if (block.timestamp >= g.expiresAt || block.timestamp < g.notBefore) {
                vm.assertFalse(registry.isLive(id), "grant live outside its window");
            }
        }
    }
}
