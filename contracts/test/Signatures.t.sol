// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {vm} from "./utils/Vm.sol";
import {RegistryFixture} from "./utils/RegistryFixture.sol";
import {MockContractWallet} from "./mocks/MockContractWallet.sol";
import {IConsentRegistry} from "../src/IConsentRegistry.sol";

contract SignaturesTest is RegistryFixture {
    uint256 internal deadline;

    function setUp() public override {
        super.setUp();
        deadline = T0 + 1 hours;
    }

    function relayGrant(address who, IConsentRegistry.GrantRequest memory r, uint64 nonce, bytes memory sig)
        internal
        returns (bytes32 id)
    {
        vm.prank(relayer);
        id = registry.grantBySig(who, r, nonce, deadline, sig);
    }

    function test_hashGrant_isStandardEip712() public view {
        IConsentRegistry.GrantRequest memory r = labRequest(provider);
        bytes32 domain = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("Medkey ConsentRegistry"),
                keccak256("1"),
                block.chainid,
                address(registry)
            )
        );
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256(
                    "Grant(address patient,address provider,uint16 categories,bytes32 recordsRoot,uint8 purpose,uint32 notBefore,uint32 expiresAt,bool write,uint64 nonce,uint256 deadline)"
                ),
                patient,
                r.provider,
                r.categories,
                r.recordsRoot,
                r.purpose,
                r.notBefore,
                r.expiresAt,
                r.write,
                uint64(0),
                deadline
            )
        );
        vm.assertEq(registry.DOMAIN_SEPARATOR(), domain, "domain separator");
        vm.assertEq(
            registry.hashGrant(patient, r, 0, deadline),
            keccak256(abi.encodePacked("\x19\x01", domain, structHash)),
            "typed data digest"
        );
    }

    function test_grantBySig_relayedGrantBelongsToSigner() public {
        IConsentRegistry.GrantRequest memory r = labRequest(provider);
        bytes32 id = relayGrant(patient, r, 0, signGrant(PATIENT_PK, r, 0, deadline));
        (IConsentRegistry.Grant memory g,) = registry.getGrant(id);
        vm.assertEq(g.patient, patient, "patient, not relayer");
        vm.assertTrue(registry.isLive(id), "live");

        vm.prank(patient);
        registry.revoke(id);
        vm.assertFalse(registry.isLive(id), "signer can revoke directly");
    }

    function test_grantBySig_replayIsRejected() public {
        IConsentRegistry.GrantRequest memory r = labRequest(provider);
        bytes memory sig = signGrant(PATIENT_PK, r, 0, deadline);
        bytes32 id = relayGrant(patient, r, 0, sig);
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.GrantExists.selector, id));
        relayGrant(patient, r, 0, sig);

        // Not even in a later block, nor after the patient revoked it.
        vm.prank(patient);
        registry.revoke(id);
        vm.roll(block.number + 10);
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.GrantExists.selector, id));
        relayGrant(patient, r, 0, sig);
    }

    function test_grantBySig_wrongChainIsRejected() public {
        IConsentRegistry.GrantRequest memory r = labRequest(provider);
        bytes memory sig = signGrant(PATIENT_PK, r, 0, deadline);
        vm.chainId(1);
        vm.expectRevert(err(IConsentRegistry.InvalidSignature.selector));
        relayGrant(patient, r, 0, sig);
    }

    function test_grantBySig_expiredDeadlineIsRejected() public {
        IConsentRegistry.GrantRequest memory r = labRequest(provider);
        bytes memory sig = signGrant(PATIENT_PK, r, 0, deadline);
        vm.warp(deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.SignatureExpired.selector, deadline));
        relayGrant(patient, r, 0, sig);
    }

    function test_grantBySig_wrongSignerIsRejected() public {
        IConsentRegistry.GrantRequest memory r = labRequest(provider);
        bytes memory sig = sign(OTHER_PATIENT_PK, registry.hashGrant(patient, r, 0, deadline));
        vm.expectRevert(err(IConsentRegistry.InvalidSignature.selector));
        relayGrant(patient, r, 0, sig);
    }

    function test_grantBySig_tamperedRequestIsRejected() public {
        IConsentRegistry.GrantRequest memory r = labRequest(provider);
        bytes memory sig = signGrant(PATIENT_PK, r, 0, deadline);
        r.categories |= 1 << 15; // the relayer adds genetics
        vm.expectRevert(err(IConsentRegistry.InvalidSignature.selector));
        relayGrant(patient, r, 0, sig);
    }

    function test_grantBySig_highSMalleableSignatureIsRejected() public {
        IConsentRegistry.GrantRequest memory r = labRequest(provider);
        (uint8 v, bytes32 rr, bytes32 s) = vm.sign(PATIENT_PK, registry.hashGrant(patient, r, 0, deadline));
        uint256 n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
        bytes memory flipped = abi.encodePacked(rr, bytes32(n - uint256(s)), v == 27 ? uint8(28) : uint8(27));
        vm.expectRevert(err(IConsentRegistry.InvalidSignature.selector));
        relayGrant(patient, r, 0, flipped);
    }

    function test_grantBySig_zeroPatientIsRejected() public {
        IConsentRegistry.GrantRequest memory r = labRequest(provider);
        vm.expectRevert(err(IConsentRegistry.InvalidSignature.selector));
        relayGrant(address(0), r, 0, new bytes(65));
    }

    function test_grantBySig_wrongNonceIsRejected() public {
        IConsentRegistry.GrantRequest memory r = labRequest(provider);
        bytes memory sig = signGrant(PATIENT_PK, r, 1, deadline);
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.InvalidNonce.selector, patient, 0));
        relayGrant(patient, r, 1, sig);
    }

    function test_incrementNonce_voidsEveryOutstandingSignature() public {
        IConsentRegistry.GrantRequest memory a = labRequest(provider);
        IConsentRegistry.GrantRequest memory b = labRequest(provider2);
        bytes memory sigA = signGrant(PATIENT_PK, a, 0, deadline);
        bytes memory sigB = signGrant(PATIENT_PK, b, 0, deadline);

        vm.expectEmit(true, false, false, true, address(registry));
        emit IConsentRegistry.NonceIncremented(patient, 1);
        vm.prank(patient);
        vm.assertEq(registry.incrementNonce(), 1, "new nonce");
        vm.assertEq(registry.nonces(patient), 1, "stored nonce");

        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.InvalidNonce.selector, patient, 1));
        relayGrant(patient, a, 0, sigA);
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.InvalidNonce.selector, patient, 1));
        relayGrant(patient, b, 0, sigB);

        bytes32 id = relayGrant(patient, a, 1, signGrant(PATIENT_PK, a, 1, deadline));
        vm.assertTrue(registry.isLive(id), "fresh signature at the new nonce works");
    }

    function test_grantBySig_pausedIsRejected() public {
        IConsentRegistry.GrantRequest memory r = labRequest(provider);
        bytes memory sig = signGrant(PATIENT_PK, r, 0, deadline);
        vm.prank(admin);
        registry.pause();
        vm.expectRevert(err(Pausable.EnforcedPause.selector));
        relayGrant(patient, r, 0, sig);
    }

    function test_grantBySig_contractWalletViaEip1271() public {
        MockContractWallet wallet = new MockContractWallet(patient);
        IConsentRegistry.GrantRequest memory r = labRequest(provider);
        bytes memory sig = sign(PATIENT_PK, registry.hashGrant(address(wallet), r, 0, deadline));
        bytes32 id = relayGrant(address(wallet), r, 0, sig);
        (IConsentRegistry.Grant memory g,) = registry.getGrant(id);
        vm.assertEq(g.patient, address(wallet), "wallet is the patient");

        bytes memory revokeSig = sign(PATIENT_PK, registry.hashRevoke(address(wallet), id, 0, deadline));
        vm.prank(relayer);
        registry.revokeBySig(id, 0, deadline, revokeSig);
        vm.assertFalse(registry.isLive(id), "revoked by wallet signature");
    }

    function test_grantBySig_contractWalletThatRefusesIsRejected() public {
        MockContractWallet wallet = new MockContractWallet(patient);
        wallet.setAccepting(false);
        IConsentRegistry.GrantRequest memory r = labRequest(provider);
        bytes memory sig = sign(PATIENT_PK, registry.hashGrant(address(wallet), r, 0, deadline));
        vm.expectRevert(err(IConsentRegistry.InvalidSignature.selector));
        relayGrant(address(wallet), r, 0, sig);
    }

    function test_revokeBySig_revokesAndCannotReplay() public {
        bytes32 id = grantAs(patient, labRequest(provider));
        bytes memory sig = signRevoke(PATIENT_PK, id, 0, deadline);
        vm.expectEmit(true, true, true, true, address(registry));
        emit IConsentRegistry.GrantRevoked(id, patient, provider);
        vm.prank(relayer);
        registry.revokeBySig(id, 0, deadline, sig);
        vm.assertFalse(registry.isLive(id), "revoked");

        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.AlreadyRevoked.selector, id));
        vm.prank(relayer);
        registry.revokeBySig(id, 0, deadline, sig);
    }

    function test_revokeBySig_worksWhilePaused() public {
        bytes32 id = grantAs(patient, labRequest(provider));
        vm.prank(admin);
        registry.pause();
        vm.prank(relayer);
        registry.revokeBySig(id, 0, deadline, signRevoke(PATIENT_PK, id, 0, deadline));
        vm.assertFalse(registry.isLive(id), "revoked while paused");
    }

    function test_revokeBySig_rejectsOthersSignature() public {
        bytes32 id = grantAs(patient, labRequest(provider));
        bytes memory sig = sign(OTHER_PATIENT_PK, registry.hashRevoke(patient, id, 0, deadline));
        vm.expectRevert(err(IConsentRegistry.InvalidSignature.selector));
        vm.prank(relayer);
        registry.revokeBySig(id, 0, deadline, sig);
        vm.assertTrue(registry.isLive(id), "still live");
    }

    function test_revokeBySig_rejectsUnknownExpiredAndStaleNonce() public {
        bytes32 unknown = keccak256("nope");
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.GrantNotFound.selector, unknown));
        registry.revokeBySig(unknown, 0, deadline, new bytes(65));

        bytes32 id = grantAs(patient, labRequest(provider));
        bytes memory sig = signRevoke(PATIENT_PK, id, 0, deadline);
        vm.prank(patient);
        registry.incrementNonce();
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.InvalidNonce.selector, patient, 1));
        registry.revokeBySig(id, 0, deadline, sig);

        bytes memory fresh = signRevoke(PATIENT_PK, id, 1, deadline);
        vm.warp(deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.SignatureExpired.selector, deadline));
        registry.revokeBySig(id, 1, deadline, fresh);
    }

    function testFuzz_grantBySig_onlyTheSignersKeyWorks(uint256 signerPk) public {
        signerPk = bound(signerPk, 1, 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364140);
        vm.assume(signerPk != PATIENT_PK);
        IConsentRegistry.GrantRequest memory r = labRequest(provider);
        bytes memory sig = sign(signerPk, registry.hashGrant(patient, r, 0, deadline));
        vm.expectRevert(err(IConsentRegistry.InvalidSignature.selector));
        relayGrant(patient, r, 0, sig);
    }
}
