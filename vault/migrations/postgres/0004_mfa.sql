-- TOTP second factor (RFC 6238) and single-use recovery codes. PostgreSQL flavour.
-- The TOTP secret is sealed with a key derived from the vault secret (AES-256-GCM, the address as
-- associated data); recovery codes are stored only as SHA-256.

CREATE TABLE mfa_totp (
    address       BYTEA   PRIMARY KEY,
    secret_sealed BYTEA   NOT NULL,
    created_at_ms BIGINT NOT NULL,
    enabled_at_ms BIGINT,
    -- The last accepted time step: a code is accepted once (RFC 6238 §5.2).
    last_step     BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE mfa_recovery_codes (
    address    BYTEA   NOT NULL,
    code_hash  BYTEA   NOT NULL,
    used_at_ms BIGINT,
    PRIMARY KEY (address, code_hash)
);

-- Whether the session was opened with a second factor; refreshes keep it.
ALTER TABLE refresh_tokens ADD COLUMN mfa BIGINT NOT NULL DEFAULT 0;

-- A provider reads the entries it caused.
CREATE INDEX access_log_by_actor ON access_log (actor);
