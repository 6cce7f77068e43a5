-- Every key release and every denial: who, which record, under which grant, for what purpose,
-- when, and the outcome. Issue #5 turns this into a Merkle-tree log anchored on chain.
CREATE TABLE access_log (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms     INTEGER NOT NULL,
    kind      TEXT    NOT NULL,
    actor     BLOB    NOT NULL,
    patient   BLOB,
    record_id BLOB,
    grant_id  BLOB,
    purpose   INTEGER,
    outcome   TEXT    NOT NULL
);
CREATE INDEX access_log_by_patient ON access_log (patient, at_ms);
