// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {
    AccessControlDefaultAdminRules
} from "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";

import {IConsentRegistry} from "./IConsentRegistry.sol";
import {Categories, Purposes} from "./ConsentTypes.sol";

/// @title Medkey ConsentRegistry
/// @notice The source of truth for who may read which of a patient's medical records, for what
///         purpose and until when. Patients grant and revoke from their own wallet, or sign an
///         EIP-712 message that a relayer submits. Admins register and suspend providers.
/// @dev PRIVACY: no health data and nothing that identifies a person beyond a wallet address is
///      ever stored or emitted here: only addresses, category bitmasks, purpose codes, hashes and
///      timestamps. Records, their ids in the clear and every name stay off chain.
///
///      Gas: a grant is one storage slot. Its id is `provider (20 bytes) ‖ tag (12 bytes)`, where
///      the tag is the low 96 bits of a hash of the request, so the provider needs no slot of its
///      own and a replayed signature lands on the same id and is refused. Details the contract
///      never reads again (records root, emergency reason) live only in events.
///
///      No upgrade proxy: a new version is a new deployment, so the rules a patient consented
///      under can never change beneath them.
contract ConsentRegistry is IConsentRegistry, AccessControlDefaultAdminRules, Pausable, EIP712 {
    /// @notice May register, suspend and reinstate providers.
    bytes32 public constant REGISTRAR_ROLE = keccak256("REGISTRAR_ROLE");
    /// @notice May pause and unpause new grants.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");
    /// @notice May anchor the vault's audit-log tree head.
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");

    /// @notice Grant flag: the provider may also add records for the patient.
    uint8 public constant FLAG_WRITE = 1 << 0;
    /// @notice Grant flag: opened by a provider through break-glass access.
    uint8 public constant FLAG_EMERGENCY = 1 << 1;
    /// @notice Grant flag: revoked by the patient; final.
    uint8 public constant FLAG_REVOKED = 1 << 2;

    /// @notice How long a break-glass grant lasts; fixed so no provider can ask for more.
    uint32 public constant EMERGENCY_ACCESS_DURATION = 4 hours;

    /// @notice Number of record categories (bits of the category mask).
    uint8 public constant CATEGORY_COUNT = Categories.COUNT;
    /// @notice Number of purpose-of-use codes; codes are 0 to PURPOSE_COUNT - 1.
    uint8 public constant PURPOSE_COUNT = Purposes.COUNT;

    /// @notice EIP-712 type hash of the signed grant message (docs/consent-model.md).
    bytes32 public constant GRANT_TYPEHASH = keccak256(
        "Grant(address patient,address provider,uint16 categories,bytes32 recordsRoot,uint8 purpose,uint32 notBefore,uint32 expiresAt,bool write,uint64 nonce,uint256 deadline)"
    );
    /// @notice EIP-712 type hash of the signed revocation message.
    bytes32 public constant REVOKE_TYPEHASH =
        keccak256("Revoke(address patient,bytes32 grantId,uint64 nonce,uint256 deadline)");

    struct PatientSettings {
        uint64 nonce;
        uint16 emergencyCategories;
    }

    mapping(bytes32 grantId => Grant) private _grants;
    mapping(address provider => Provider) private _providers;
    mapping(address patient => PatientSettings) private _patients;
    AuditAnchor private _latestAnchor;

    /// @param admin       holds the default admin role (transferable in two steps after `adminDelay`)
    ///                    and, initially, the registrar, pauser and operator roles
    /// @param adminDelay  seconds a scheduled admin transfer must wait before it can be accepted
    constructor(address admin, uint48 adminDelay)
        AccessControlDefaultAdminRules(adminDelay, admin)
        EIP712("Medkey ConsentRegistry", "1")
    {
        _grantRole(REGISTRAR_ROLE, admin);
        _grantRole(PAUSER_ROLE, admin);
        _grantRole(OPERATOR_ROLE, admin);
    }

    // ---------------------------------------------------------------- providers

    /// @notice Registers `provider` with the X25519 public key patients will wrap data keys to, and
    ///         commits to its directory profile.
    /// @param profileHash first 31 bytes of the EIP-712 digest of the profile the provider signed;
    ///        every client checks the profile it shows against it
    /// @dev Only REGISTRAR_ROLE. A suspended provider is reinstated, never registered again.
    function registerProvider(address provider, bytes32 encryptionKey, bytes31 profileHash)
        external
        onlyRole(REGISTRAR_ROLE)
    {
        if (provider == address(0)) revert ZeroAddress();
        if (encryptionKey == bytes32(0)) revert InvalidEncryptionKey();
        if (profileHash == bytes31(0)) revert MissingProfile();
        Provider storage p = _providers[provider];
        if (p.status != ProviderStatus.None) revert ProviderAlreadyRegistered(provider);
        p.status = ProviderStatus.Active;
        p.profileHash = profileHash;
        p.encryptionKey = encryptionKey;
        emit ProviderRegistered(provider, encryptionKey, profileHash);
    }

    /// @notice Commits to a provider's new directory profile, after the registrar reviewed it.
    /// @dev Only REGISTRAR_ROLE: a provider cannot change its own commitment, so a profile the
    ///      registry never reviewed (a new NPI, say) can never show as verified.
    function updateProviderProfile(address provider, bytes31 profileHash) external onlyRole(REGISTRAR_ROLE) {
        if (profileHash == bytes31(0)) revert MissingProfile();
        Provider storage p = _providers[provider];
        if (p.status == ProviderStatus.None) revert ProviderNotRegistered(provider);
        p.profileHash = profileHash;
        emit ProviderProfileUpdated(provider, profileHash);
    }

    /// @notice Suspends an active provider: its grants stop being live until it is reinstated.
    /// @param reasonHash keccak256 of the reason in words (kept off chain, shown to the provider and
    ///        to the patients whose grants it affects); must not be zero
    /// @dev Only REGISTRAR_ROLE.
    function suspendProvider(address provider, bytes32 reasonHash) external onlyRole(REGISTRAR_ROLE) {
        if (reasonHash == bytes32(0)) revert MissingReason();
        Provider storage p = _providers[provider];
        if (p.status != ProviderStatus.Active) revert ProviderNotActive(provider);
        p.status = ProviderStatus.Suspended;
        emit ProviderSuspended(provider, reasonHash);
    }

    /// @notice Reinstates a suspended provider; its unrevoked, unexpired grants are live again.
    /// @param reasonHash keccak256 of the reason in words; must not be zero
    /// @dev Only REGISTRAR_ROLE.
    function reinstateProvider(address provider, bytes32 reasonHash) external onlyRole(REGISTRAR_ROLE) {
        if (reasonHash == bytes32(0)) revert MissingReason();
        Provider storage p = _providers[provider];
        if (p.status != ProviderStatus.Suspended) revert ProviderNotSuspended(provider);
        p.status = ProviderStatus.Active;
        emit ProviderReinstated(provider, reasonHash);
    }

    /// @notice Replaces the caller's own encryption key, e.g. after a device is lost. Allowed while
    ///         suspended too, so a provider can recover from a compromise before reinstatement.
    function rotateEncryptionKey(bytes32 encryptionKey) external {
        if (encryptionKey == bytes32(0)) revert InvalidEncryptionKey();
        Provider storage p = _providers[msg.sender];
        if (p.status == ProviderStatus.None) revert ProviderNotRegistered(msg.sender);
        p.encryptionKey = encryptionKey;
        emit ProviderKeyRotated(msg.sender, encryptionKey);
    }

    /// @notice A provider's status, profile commitment and current X25519 encryption key.
    function getProvider(address provider) external view returns (Provider memory) {
        return _providers[provider];
    }

    // ---------------------------------------------------------------- grants

    /// @notice Grants `request.provider` access to the caller's records.
    /// @return grantId the new grant's id (provider in the high 20 bytes)
    /// @dev Two identical requests from one patient in one block yield the same id; the second
    ///      reverts with {GrantExists}.
    function grant(GrantRequest calldata request) external whenNotPaused returns (bytes32 grantId) {
        return _createGrant(msg.sender, request, keccak256(abi.encode(msg.sender, request, block.number)), 0);
    }

    /// @notice Grants several requests at once (several providers, or one provider several ways).
    /// @return grantIds one id per request, in order
    function grantBatch(GrantRequest[] calldata requests) external whenNotPaused returns (bytes32[] memory grantIds) {
        uint256 n = requests.length;
        if (n == 0) revert EmptyBatch();
        grantIds = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            GrantRequest calldata r = requests[i];
            grantIds[i] = _createGrant(msg.sender, r, keccak256(abi.encode(msg.sender, r, block.number, i)), 0);
        }
    }

    /// @notice Submits a grant the patient signed off-chain (EIP-712, or EIP-1271 for contract
    ///         wallets), so that a relayer pays the gas.
    /// @param nonce     the patient's current nonce ({nonces}); bumping it voids every unused signature
    /// @param deadline  last second (unix time) the signature may be submitted
    /// @dev Replay-safe without a nonce write: the id derives from the signed struct, so the same
    ///      signature always maps to the same id and a second submission reverts {GrantExists}.
    function grantBySig(
        address patient,
        GrantRequest calldata request,
        uint64 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external whenNotPaused returns (bytes32 grantId) {
        bytes32 structHash = _grantStructHash(patient, request, nonce, deadline);
        _checkSignature(patient, structHash, nonce, deadline, signature);
        return _createGrant(patient, request, structHash, 0);
    }

    /// @notice Revokes one of the caller's grants. Final: a revoked grant is never live again.
    ///         Allowed while paused.
    function revoke(bytes32 grantId) external {
        _revoke(msg.sender, grantId);
    }

    /// @notice Revokes several of the caller's grants; reverts whole if any one cannot be revoked.
    function revokeBatch(bytes32[] calldata grantIds) external {
        uint256 n = grantIds.length;
        if (n == 0) revert EmptyBatch();
        for (uint256 i; i < n; ++i) {
            _revoke(msg.sender, grantIds[i]);
        }
    }

    /// @notice Submits a revocation the patient signed off-chain.
    function revokeBySig(bytes32 grantId, uint64 nonce, uint256 deadline, bytes calldata signature) external {
        address patient = _grants[grantId].patient;
        if (patient == address(0)) revert GrantNotFound(grantId);
        bytes32 structHash = keccak256(abi.encode(REVOKE_TYPEHASH, patient, grantId, nonce, deadline));
        _checkSignature(patient, structHash, nonce, deadline, signature);
        _revoke(patient, grantId);
    }

    /// @notice Voids every signature the caller has signed but not yet had submitted.
    /// @return nonce the caller's new nonce
    function incrementNonce() external returns (uint64 nonce) {
        nonce = ++_patients[msg.sender].nonce;
        emit NonceIncremented(msg.sender, nonce);
    }

    /// @notice The nonce a patient's next signature must carry.
    function nonces(address patient) external view returns (uint64) {
        return _patients[patient].nonce;
    }

    // ---------------------------------------------------------------- emergency access

    /// @notice Opts the caller in to break-glass access for `categories`; zero opts out.
    ///         Existing emergency grants stay until they expire or the patient revokes them.
    function setEmergencyAccess(uint16 categories) external {
        _patients[msg.sender].emergencyCategories = categories;
        emit EmergencyAccessConfigured(msg.sender, categories);
    }

    /// @notice The categories a patient lets registered providers open in an emergency (0 = none).
    function emergencyCategories(address patient) external view returns (uint16) {
        return _patients[patient].emergencyCategories;
    }

    /// @notice Opens a break-glass grant (purpose ETREAT, read only) for the calling provider, for
    ///         {EMERGENCY_ACCESS_DURATION}, on the categories the patient opted in.
    /// @param reasonHash hash of the clinician's written reason, kept off chain by the provider
    function openEmergencyAccess(address patient, bytes32 reasonHash) external whenNotPaused returns (bytes32 grantId) {
        if (reasonHash == bytes32(0)) revert MissingReason();
        uint16 categories = _patients[patient].emergencyCategories;
        if (categories == 0) revert EmergencyAccessDisabled(patient);
        uint32 expiresAt = uint32(block.timestamp) + EMERGENCY_ACCESS_DURATION;
        GrantRequest memory request = GrantRequest({
            provider: msg.sender,
            categories: categories,
            recordsRoot: bytes32(0),
            purpose: Purposes.ETREAT,
            notBefore: uint32(block.timestamp),
            expiresAt: expiresAt,
            write: false
        });
        grantId = _createGrant(
            patient, request, keccak256(abi.encode(patient, msg.sender, reasonHash, block.number)), FLAG_EMERGENCY
        );
        emit EmergencyAccessOpened(grantId, patient, msg.sender, reasonHash, expiresAt);
    }

    // ---------------------------------------------------------------- audit anchoring

    /// @notice Anchors the vault audit log's tree head so anyone can later check that the log only
    ///         ever grew. Sizes must strictly increase.
    /// @dev Only OPERATOR_ROLE.
    function anchorAudit(bytes32 root, uint64 size) external onlyRole(OPERATOR_ROLE) {
        if (root == bytes32(0) || size == 0) revert InvalidAuditAnchor();
        uint64 anchored = _latestAnchor.size;
        if (size <= anchored) revert AuditSizeNotIncreasing(anchored, size);
        _latestAnchor = AuditAnchor({root: root, size: size, anchoredAt: uint64(block.timestamp)});
        emit AuditAnchored(msg.sender, root, size);
    }

    /// @notice The most recent audit anchor (all zero before the first).
    function latestAuditAnchor() external view returns (AuditAnchor memory) {
        return _latestAnchor;
    }

    // ---------------------------------------------------------------- pause

    /// @notice Stops new grants (direct, signed, batch and emergency). Revocations still work.
    /// @dev Only PAUSER_ROLE.
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @notice Lets new grants through again.
    /// @dev Only PAUSER_ROLE.
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    // ---------------------------------------------------------------- views

    /// @notice A grant as stored, and its provider. `patient` is zero for an unknown id.
    function getGrant(bytes32 grantId) external view returns (Grant memory grant_, address provider) {
        return (_grants[grantId], providerOf(grantId));
    }

    /// @notice True while the grant exists, is not revoked, now is in [notBefore, expiresAt) and
    ///         its provider is registered and not suspended.
    function isLive(bytes32 grantId) public view returns (bool) {
        Grant memory g = _grants[grantId];
        if (g.patient == address(0) || g.flags & FLAG_REVOKED != 0) return false;
        if (block.timestamp < g.notBefore || block.timestamp >= g.expiresAt) return false;
        return _providers[providerOf(grantId)].status == ProviderStatus.Active;
    }

    /// @notice The full key-release question: is `grantId` live, between `patient` and `provider`,
    ///         and does it cover `category` (a bit index into {Categories})?
    function canAccess(bytes32 grantId, address patient, address provider, uint8 category)
        external
        view
        returns (bool)
    {
        if (category >= Categories.COUNT || providerOf(grantId) != provider) return false;
        Grant storage g = _grants[grantId];
        return g.patient == patient && (g.categories >> category) & 1 == 1 && isLive(grantId);
    }

    /// @notice The provider a grant id names (its high 20 bytes).
    function providerOf(bytes32 grantId) public pure returns (address) {
        return address(uint160(uint256(grantId) >> 96));
    }

    /// @notice The EIP-712 digest a patient signs for {grantBySig}.
    function hashGrant(address patient, GrantRequest calldata request, uint64 nonce, uint256 deadline)
        external
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(_grantStructHash(patient, request, nonce, deadline));
    }

    /// @notice The EIP-712 digest a patient signs for {revokeBySig}.
    function hashRevoke(address patient, bytes32 grantId, uint64 nonce, uint256 deadline)
        external
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(keccak256(abi.encode(REVOKE_TYPEHASH, patient, grantId, nonce, deadline)));
    }

    /// @notice The EIP-712 domain separator for this chain and deployment.
    // solhint-disable-next-line func-name-mixedcase
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ---------------------------------------------------------------- internals

    function _createGrant(address patient, GrantRequest memory r, bytes32 seed, uint8 flags)
        private
        returns (bytes32 grantId)
    {
        if (_providers[r.provider].status != ProviderStatus.Active) revert ProviderNotActive(r.provider);
        if (r.categories == 0) revert EmptyCategories();
        if (r.purpose >= Purposes.COUNT) revert UnknownPurpose(r.purpose);
        if (r.expiresAt <= r.notBefore || r.expiresAt <= block.timestamp) {
            revert InvalidWindow(r.notBefore, r.expiresAt);
        }

        grantId = bytes32((uint256(uint160(r.provider)) << 96) | (uint256(seed) & type(uint96).max));
        Grant storage slot = _grants[grantId];
        if (slot.patient != address(0)) revert GrantExists(grantId);

        if (r.write) flags |= FLAG_WRITE;
        _grants[grantId] = Grant({
            patient: patient,
            notBefore: r.notBefore,
            expiresAt: r.expiresAt,
            categories: r.categories,
            purpose: r.purpose,
            flags: flags
        });
        emit GrantCreated(
            grantId, patient, r.provider, r.categories, r.recordsRoot, r.purpose, r.notBefore, r.expiresAt, r.write
        );
    }

    function _revoke(address caller, bytes32 grantId) private {
        Grant storage g = _grants[grantId];
        address patient = g.patient;
        if (patient == address(0)) revert GrantNotFound(grantId);
        if (patient != caller) revert NotPatient(grantId, caller);
        uint8 flags = g.flags;
        if (flags & FLAG_REVOKED != 0) revert AlreadyRevoked(grantId);
        g.flags = flags | FLAG_REVOKED;
        emit GrantRevoked(grantId, patient, providerOf(grantId));
    }

    function _checkSignature(
        address patient,
        bytes32 structHash,
        uint64 nonce,
        uint256 deadline,
        bytes calldata signature
    ) private view {
        if (block.timestamp > deadline) revert SignatureExpired(deadline);
        uint64 expected = _patients[patient].nonce;
        if (nonce != expected) revert InvalidNonce(patient, expected);
        if (!SignatureChecker.isValidSignatureNow(patient, _hashTypedDataV4(structHash), signature)) {
            revert InvalidSignature();
        }
    }

    function _grantStructHash(address patient, GrantRequest calldata r, uint64 nonce, uint256 deadline)
        private
        pure
        returns (bytes32)
    {
        return keccak256(
            abi.encode(
                GRANT_TYPEHASH,
                patient,
                r.provider,
                r.categories,
                r.recordsRoot,
                r.purpose,
                r.notBefore,
                r.expiresAt,
                r.write,
                nonce,
                deadline
            )
        );
    }
}
