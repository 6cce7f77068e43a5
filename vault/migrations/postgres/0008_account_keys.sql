-- Accounts' X25519 encryption keys, each with the wallet signature that vouches for it
-- (protocol::account_key). Clients check the signature themselves; the vault only keeps it.
CREATE TABLE account_keys (
    address        BYTEA PRIMARY KEY,
    encryption_key BYTEA NOT NULL,
    signature      BYTEA NOT NULL,
    updated_at_ms  BIGINT NOT NULL
);
