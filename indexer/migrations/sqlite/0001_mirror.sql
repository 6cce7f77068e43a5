-- The indexer's mirror of the ConsentRegistry (SQLite flavour; postgres/0001_mirror.sql is the
-- same schema with PostgreSQL types). Every row that comes from a log carries its position
-- (block, tx hash, log index), unique per chain, so a replayed log can never be stored twice.
-- History tables are append-only; the current state of a provider, a patient's emergency
-- opt-in or the pause flag is the latest row, which makes a reorg rollback a plain DELETE.

CREATE TABLE indexer_checkpoint (
    chain_id        INTEGER PRIMARY KEY,
    registry        BLOB    NOT NULL,
    deploy_block    INTEGER NOT NULL,
    block_number    INTEGER NOT NULL,
    block_hash      BLOB    NOT NULL,
    block_timestamp INTEGER NOT NULL,
    head_number     INTEGER NOT NULL,
    head_seen_at_ms INTEGER NOT NULL
);

-- Hashes of processed blocks, for walking back to the common ancestor after a reorg.
CREATE TABLE indexed_blocks (
    chain_id    INTEGER NOT NULL,
    number      INTEGER NOT NULL,
    hash        BLOB    NOT NULL,
    PRIMARY KEY (chain_id, number)
);

CREATE TABLE grants (
    chain_id          INTEGER NOT NULL,
    grant_id          BLOB    NOT NULL,
    patient           BLOB    NOT NULL,
    provider          BLOB    NOT NULL,
    categories        INTEGER NOT NULL,
    records_root      BLOB    NOT NULL,
    purpose           INTEGER NOT NULL,
    not_before        INTEGER NOT NULL,
    expires_at        INTEGER NOT NULL,
    write_access      INTEGER NOT NULL,
    emergency         INTEGER NOT NULL,
    reason_hash       BLOB,
    block_number      INTEGER NOT NULL,
    block_hash        BLOB    NOT NULL,
    tx_hash           BLOB    NOT NULL,
    log_index         INTEGER NOT NULL,
    revoked_block     INTEGER,
    revoked_tx        BLOB,
    revoked_log_index INTEGER,
    PRIMARY KEY (chain_id, grant_id),
    UNIQUE (chain_id, tx_hash, log_index)
);
CREATE UNIQUE INDEX grants_revocation_position ON grants (chain_id, revoked_tx, revoked_log_index) WHERE revoked_tx IS NOT NULL;
-- The vault's key-release query: live grants by (provider, patient), then the category bit.
CREATE INDEX grants_live ON grants (chain_id, provider, patient, expires_at) WHERE revoked_block IS NULL;
CREATE INDEX grants_by_patient ON grants (chain_id, patient);
CREATE INDEX grants_by_block ON grants (chain_id, block_number);
CREATE INDEX grants_by_revoked_block ON grants (chain_id, revoked_block) WHERE revoked_block IS NOT NULL;

CREATE TABLE provider_events (
    chain_id       INTEGER NOT NULL,
    provider       BLOB    NOT NULL,
    kind           TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    encryption_key BLOB    NOT NULL,
    block_number   INTEGER NOT NULL,
    tx_hash        BLOB    NOT NULL,
    log_index      INTEGER NOT NULL,
    UNIQUE (chain_id, tx_hash, log_index)
);
CREATE INDEX provider_events_latest ON provider_events (chain_id, provider, block_number, log_index);
CREATE INDEX provider_events_by_block ON provider_events (chain_id, block_number);

CREATE TABLE emergency_settings (
    chain_id     INTEGER NOT NULL,
    patient      BLOB    NOT NULL,
    categories   INTEGER NOT NULL,
    block_number INTEGER NOT NULL,
    tx_hash      BLOB    NOT NULL,
    log_index    INTEGER NOT NULL,
    UNIQUE (chain_id, tx_hash, log_index)
);
CREATE INDEX emergency_settings_latest ON emergency_settings (chain_id, patient, block_number, log_index);

CREATE TABLE nonce_events (
    chain_id     INTEGER NOT NULL,
    patient      BLOB    NOT NULL,
    nonce        INTEGER NOT NULL,
    block_number INTEGER NOT NULL,
    tx_hash      BLOB    NOT NULL,
    log_index    INTEGER NOT NULL,
    UNIQUE (chain_id, tx_hash, log_index)
);
CREATE INDEX nonce_events_latest ON nonce_events (chain_id, patient, block_number, log_index);

CREATE TABLE pause_events (
    chain_id     INTEGER NOT NULL,
    paused       INTEGER NOT NULL,
    account      BLOB    NOT NULL,
    block_number INTEGER NOT NULL,
    tx_hash      BLOB    NOT NULL,
    log_index    INTEGER NOT NULL,
    UNIQUE (chain_id, tx_hash, log_index)
);
CREATE INDEX pause_events_latest ON pause_events (chain_id, block_number, log_index);

CREATE TABLE audit_anchors (
    chain_id     INTEGER NOT NULL,
    operator     BLOB    NOT NULL,
    root         BLOB    NOT NULL,
    size         INTEGER NOT NULL,
    anchored_at  INTEGER NOT NULL,
    block_number INTEGER NOT NULL,
    tx_hash      BLOB    NOT NULL,
    log_index    INTEGER NOT NULL,
    UNIQUE (chain_id, tx_hash, log_index)
);
CREATE INDEX audit_anchors_latest ON audit_anchors (chain_id, size);
