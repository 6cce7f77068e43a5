-- Who she is (her own Patient record: name, birth date) goes to every provider she shares
-- anything with, unless she hides it from one: these are the providers she hid it from.
-- PostgreSQL flavour; sqlite/0015_identity_hidden.sql is the same with SQLite types.
CREATE TABLE identity_hidden (
    patient      BYTEA  NOT NULL,
    provider     BYTEA  NOT NULL,
    hidden_at_ms BIGINT NOT NULL,
    PRIMARY KEY (patient, provider)
);
