-- Her provider connections (SMART on FHIR), each sealed on her device: the vault keeps the blob
-- and a revision for compare-and-swap replacement, and learns neither the provider nor the token.
-- SQLite flavour; postgres/0016_provider_connections.sql is the same with PostgreSQL types.
CREATE TABLE provider_connections (
    owner         BLOB    NOT NULL,
    connection_id BLOB    NOT NULL,
    sealed        BLOB    NOT NULL,
    revision      INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    PRIMARY KEY (owner, connection_id)
);
