-- Records as the vault holds them: ciphertext and wrapped keys only, plus the metadata access
-- control needs (owner, category, FHIR resource type, times, sizes). SQLite flavour.

CREATE TABLE records (
    record_id       BLOB    PRIMARY KEY,
    owner           BLOB    NOT NULL,
    category        INTEGER NOT NULL,
    resource_type   TEXT    NOT NULL,
    current_version INTEGER NOT NULL,
    created_by      BLOB    NOT NULL,
    created_at_ms   INTEGER NOT NULL,
    updated_at_ms   INTEGER NOT NULL,
    erased_at_ms    INTEGER
);
CREATE INDEX records_by_owner ON records (owner, category);

-- Every version is kept until the record is erased; erasure drops ciphertext and keys.
CREATE TABLE record_versions (
    record_id     BLOB    NOT NULL,
    version       INTEGER NOT NULL,
    ciphertext    BLOB,
    size          INTEGER NOT NULL,
    created_by    BLOB    NOT NULL,
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (record_id, version)
);

CREATE TABLE wrapped_keys (
    record_id     BLOB    NOT NULL,
    version       INTEGER NOT NULL,
    recipient     BLOB    NOT NULL,
    wrapped       BLOB    NOT NULL,
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (record_id, version, recipient)
);

-- Record sets a grant's records root commits to (registered by the patient's client).
CREATE TABLE record_sets (
    records_root BLOB NOT NULL,
    record_id    BLOB NOT NULL,
    owner        BLOB NOT NULL,
    PRIMARY KEY (records_root, record_id)
);
CREATE INDEX record_sets_by_record ON record_sets (record_id);
