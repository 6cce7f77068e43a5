-- Who she is (her own Patient record: name, birth date) goes to every provider she shares
-- anything with, unless she hides it from one: these are the providers she hid it from.
-- SQLite flavour; postgres/0015_identity_hidden.sql is the same with PostgreSQL types.
CREATE TABLE identity_hidden (
    patient      BLOB    NOT NULL,
    provider     BLOB    NOT NULL,
    hidden_at_ms INTEGER NOT NULL,
    PRIMARY KEY (patient, provider)
);
