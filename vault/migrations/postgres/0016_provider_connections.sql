-- Her provider connections (SMART on FHIR), each sealed on her device: the vault keeps the blob
-- and a revision for compare-and-swap replacement, and learns neither the provider nor the token.
-- PostgreSQL flavour; sqlite/0016_provider_connections.sql is the same with SQLite types.
CREATE TABLE provider_connections (
    owner         BYTEA  NOT NULL,
    connection_id BYTEA  NOT NULL,
    sealed        BYTEA  NOT NULL,
    revision      BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    PRIMARY KEY (owner, connection_id)
);
