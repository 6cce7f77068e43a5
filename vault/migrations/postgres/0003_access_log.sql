-- Every key release and every denial: who, which record, under which grant, for what purpose,
-- when, and the outcome. Issue #5 turns this into a Merkle-tree log anchored on chain.
CREATE TABLE access_log (
    id        BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at_ms     BIGINT  NOT NULL,
    kind      TEXT    NOT NULL,
    actor     BYTEA   NOT NULL,
    patient   BYTEA,
    record_id BYTEA,
    grant_id  BYTEA,
    purpose   BIGINT,
    outcome   TEXT    NOT NULL
);
CREATE INDEX access_log_by_patient ON access_log (patient, at_ms);
