-- Records as the vault holds them: ciphertext and wrapped keys only, plus the metadata access
-- control needs (owner, category, FHIR resource type, times, sizes). PostgreSQL flavour.

CREATE TABLE records (
    record_id       BYTEA    PRIMARY KEY,
    owner           BYTEA    NOT NULL,
    category        BIGINT  NOT NULL,
    resource_type   TEXT    NOT NULL,
    current_version BIGINT  NOT NULL,
    created_by      BYTEA    NOT NULL,
    created_at_ms   BIGINT  NOT NULL,
    updated_at_ms   BIGINT  NOT NULL,
    erased_at_ms    BIGINT
);
CREATE INDEX records_by_owner ON records (owner, category);

-- Every version is kept until the record is erased; erasure drops ciphertext and keys.
CREATE TABLE record_versions (
    record_id     BYTEA    NOT NULL,
    version       BIGINT  NOT NULL,
    ciphertext    BYTEA,
    size          BIGINT  NOT NULL,
    created_by    BYTEA    NOT NULL,
    created_at_ms BIGINT  NOT NULL,
    PRIMARY KEY (record_id, version)
);

CREATE TABLE wrapped_keys (
    record_id     BYTEA    NOT NULL,
    version       BIGINT  NOT NULL,
    recipient     BYTEA    NOT NULL,
    wrapped       BYTEA    NOT NULL,
    created_at_ms BIGINT  NOT NULL,
    PRIMARY KEY (record_id, version, recipient)
);

-- Record sets a grant's records root commits to (registered by the patient's client).
CREATE TABLE record_sets (
    records_root BYTEA NOT NULL,
    record_id    BYTEA NOT NULL,
    owner        BYTEA NOT NULL,
    PRIMARY KEY (records_root, record_id)
);
CREATE INDEX record_sets_by_record ON record_sets (record_id);
