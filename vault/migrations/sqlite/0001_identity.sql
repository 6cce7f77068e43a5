-- Sign-In with Ethereum nonces (single use) and refresh tokens (rotating, by family).
-- SQLite flavour; postgres/0001_identity.sql is the same schema with PostgreSQL types.

CREATE TABLE login_nonces (
    nonce         TEXT    PRIMARY KEY,
    expires_at_ms INTEGER NOT NULL,
    used_at_ms    INTEGER
);

-- Only a SHA-256 of each refresh token is stored: a stolen table cannot be replayed.
CREATE TABLE refresh_tokens (
    token_hash    BLOB    PRIMARY KEY,
    family_id     BLOB    NOT NULL,
    address       BLOB    NOT NULL,
    issued_at_ms  INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    used_at_ms    INTEGER,
    revoked_at_ms INTEGER
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
