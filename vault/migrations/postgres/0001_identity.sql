-- Sign-In with Ethereum nonces (single use) and refresh tokens (rotating, by family).
-- PostgreSQL flavour; sqlite/0001_identity.sql is the same schema with SQLite types.

CREATE TABLE login_nonces (
    nonce         TEXT    PRIMARY KEY,
    expires_at_ms BIGINT  NOT NULL,
    used_at_ms    BIGINT
);

-- Only a SHA-256 of each refresh token is stored: a stolen table cannot be replayed.
CREATE TABLE refresh_tokens (
    token_hash    BYTEA    PRIMARY KEY,
    family_id     BYTEA    NOT NULL,
    address       BYTEA    NOT NULL,
    issued_at_ms  BIGINT  NOT NULL,
    expires_at_ms BIGINT  NOT NULL,
    used_at_ms    BIGINT,
    revoked_at_ms BIGINT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
