// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title IConsentRegistry
/// @notice Types, events and errors of the Medkey consent registry.
/// @dev PRIVACY: nothing here carries health data or anything that identifies a person beyond a
///      wallet address. Every field is an address, a bitmask, a small code, a hash or a timestamp,
///      and test/Privacy.t.sol fails if an event or function ever takes a string or bytes payload.
interface IConsentRegistry {
    /// @notice What a patient asks for when granting access.
    /// @param provider     registered provider that receives access
    /// @param categories   bitmask over {Categories}; must not be zero
    /// @param recordsRoot  commitment (Merkle root) to an explicit set of record ids; zero means
    ///                     every record in `categories`
    /// @param purpose      index into {Purposes}
    /// @param notBefore    first second (unix time) the grant is live; zero means at once
    /// @param expiresAt    first second (unix time) the grant is no longer live
    /// @param write        whether the provider may also add records for the patient
    struct GrantRequest {
        address provider;
        uint16 categories;
        bytes32 recordsRoot;
        uint8 purpose;
        uint32 notBefore;
        uint32 expiresAt;
        bool write;
    }

    /// @notice A grant as stored: exactly one storage slot. The provider lives in the grant id
    ///         (see {ConsentRegistry-providerOf}); records root and reason hashes live in events.
    struct Grant {
        address patient;
        uint32 notBefore;
        uint32 expiresAt;
        uint16 categories;
        uint8 purpose;
        uint8 flags; // FLAG_WRITE | FLAG_EMERGENCY | FLAG_REVOKED
    }

    enum ProviderStatus {
        None,
        Active,
        Suspended
    }

    /// @dev `profileHash` is packed beside `status` so that the commitment costs registration no
    ///      storage slot of its own: it is the first 31 bytes of the EIP-712 digest of the
    ///      provider's signed directory profile (docs/provider-directory.md). The profile itself,
    ///      public business information, lives off chain.
    struct Provider {
        ProviderStatus status;
        bytes31 profileHash;
        bytes32 encryptionKey; // X25519 public key that patients wrap data keys to
    }

    struct AuditAnchor {
        bytes32 root;
        uint64 size;
        uint64 anchoredAt;
    }

    event ProviderRegistered(address indexed provider, bytes32 encryptionKey, bytes31 profileHash);
    event ProviderProfileUpdated(address indexed provider, bytes31 profileHash);
    /// @param reasonHash keccak256 of the registrar's reason in words, which stays off chain
    event ProviderSuspended(address indexed provider, bytes32 reasonHash);
    /// @param reasonHash keccak256 of the registrar's reason in words, which stays off chain
    event ProviderReinstated(address indexed provider, bytes32 reasonHash);
    event ProviderKeyRotated(address indexed provider, bytes32 encryptionKey);

    event GrantCreated(
        bytes32 indexed grantId,
        address indexed patient,
        address indexed provider,
        uint16 categories,
        bytes32 recordsRoot,
        uint8 purpose,
        uint32 notBefore,
        uint32 expiresAt,
        bool write
    );
    event GrantRevoked(bytes32 indexed grantId, address indexed patient, address indexed provider);

    event EmergencyAccessConfigured(address indexed patient, uint16 categories);
    event EmergencyAccessOpened(
        bytes32 indexed grantId, address indexed patient, address indexed provider, bytes32 reasonHash, uint32 expiresAt
    );

    event NonceIncremented(address indexed patient, uint64 nonce);

    event AuditAnchored(address indexed operator, bytes32 root, uint64 size);

    error ProviderNotActive(address provider);
    error ProviderAlreadyRegistered(address provider);
    error ProviderNotRegistered(address provider);
    error ProviderNotSuspended(address provider);
    error InvalidEncryptionKey();
    error MissingProfile();
    error ZeroAddress();

    error EmptyCategories();
    error UnknownPurpose(uint8 purpose);
    error InvalidWindow(uint32 notBefore, uint32 expiresAt);
    error GrantExists(bytes32 grantId);
    error GrantNotFound(bytes32 grantId);
    error NotPatient(bytes32 grantId, address caller);
    error AlreadyRevoked(bytes32 grantId);
    error EmptyBatch();

    error SignatureExpired(uint256 deadline);
    error InvalidNonce(address patient, uint64 expected);
    error InvalidSignature();

    error EmergencyAccessDisabled(address patient);
    error MissingReason();

    error InvalidAuditAnchor();
    error AuditSizeNotIncreasing(uint64 anchored, uint64 proposed);
}
