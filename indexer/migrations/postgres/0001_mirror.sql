-- The indexer's mirror of the ConsentRegistry (PostgreSQL flavour; sqlite/0001_mirror.sql is the
-- same schema with SQLite types). Every row that comes from a log carries its position
-- (block, tx hash, log index), unique per chain, so a replayed log can never be stored twice.
-- History tables are append-only; the current state of a provider, a patient's emergency
-- opt-in or the pause flag is the latest row, which makes a reorg rollback a plain DELETE.

CREATE TABLE indexer_checkpoint (
    chain_id        BIGINT PRIMARY KEY,
    registry        BYTEA    NOT NULL,
    deploy_block    BIGINT  NOT NULL,
    block_number    BIGINT  NOT NULL,
    block_hash      BYTEA    NOT NULL,
    block_timestamp BIGINT  NOT NULL,
    head_number     BIGINT  NOT NULL,
    head_seen_at_ms BIGINT  NOT NULL
);

-- Hashes of processed blocks, for walking back to the common ancestor after a reorg.
CREATE TABLE indexed_blocks (
    chain_id    BIGINT  NOT NULL,
    number      BIGINT  NOT NULL,
    hash        BYTEA    NOT NULL,
    PRIMARY KEY (chain_id, number)
);

CREATE TABLE grants (
    chain_id          BIGINT  NOT NULL,
    grant_id          BYTEA    NOT NULL,
    patient           BYTEA    NOT NULL,
    provider          BYTEA    NOT NULL,
    categories        BIGINT  NOT NULL,
    records_root      BYTEA    NOT NULL,
    purpose           BIGINT  NOT NULL,
    not_before        BIGINT  NOT NULL,
    expires_at        BIGINT  NOT NULL,
    write_access      BIGINT  NOT NULL,
    emergency         BIGINT  NOT NULL,
    reason_hash       BYTEA,
    block_number      BIGINT  NOT NULL,
    block_hash        BYTEA    NOT NULL,
    tx_hash           BYTEA    NOT NULL,
    log_index         BIGINT  NOT NULL,
    revoked_block     BIGINT,
    revoked_tx        BYTEA,
    revoked_log_index BIGINT,
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
    chain_id       BIGINT  NOT NULL,
    provider       BYTEA    NOT NULL,
    kind           TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    encryption_key BYTEA    NOT NULL,
    block_number   BIGINT  NOT NULL,
    tx_hash        BYTEA    NOT NULL,
    log_index      BIGINT  NOT NULL,
    UNIQUE (chain_id, tx_hash, log_index)
);
CREATE INDEX provider_events_latest ON provider_events (chain_id, provider, block_number, log_index);
CREATE INDEX provider_events_by_block ON provider_events (chain_id, block_number);

CREATE TABLE emergency_settings (
    chain_id     BIGINT  NOT NULL,
    patient      BYTEA    NOT NULL,
    categories   BIGINT  NOT NULL,
    block_number BIGINT  NOT NULL,
    tx_hash      BYTEA    NOT NULL,
    log_index    BIGINT  NOT NULL,
    UNIQUE (chain_id, tx_hash, log_index)
);
CREATE INDEX emergency_settings_latest ON emergency_settings (chain_id, patient, block_number, log_index);

CREATE TABLE nonce_events (
    chain_id     BIGINT  NOT NULL,
    patient      BYTEA    NOT NULL,
    nonce        BIGINT  NOT NULL,
    block_number BIGINT  NOT NULL,
    tx_hash      BYTEA    NOT NULL,
    log_index    BIGINT  NOT NULL,
    UNIQUE (chain_id, tx_hash, log_index)
);
CREATE INDEX nonce_events_latest ON nonce_events (chain_id, patient, block_number, log_index);

CREATE TABLE pause_events (
    chain_id     BIGINT  NOT NULL,
    paused       BIGINT  NOT NULL,
    account      BYTEA    NOT NULL,
    block_number BIGINT  NOT NULL,
    tx_hash      BYTEA    NOT NULL,
    log_index    BIGINT  NOT NULL,
    UNIQUE (chain_id, tx_hash, log_index)
);
CREATE INDEX pause_events_latest ON pause_events (chain_id, block_number, log_index);

CREATE TABLE audit_anchors (
    chain_id     BIGINT  NOT NULL,
    operator     BYTEA    NOT NULL,
    root         BYTEA    NOT NULL,
    size         BIGINT  NOT NULL,
    anchored_at  BIGINT  NOT NULL,
    block_number BIGINT  NOT NULL,
    tx_hash      BYTEA    NOT NULL,
    log_index    BIGINT  NOT NULL,
    UNIQUE (chain_id, tx_hash, log_index)
);
CREATE INDEX audit_anchors_latest ON audit_anchors (chain_id, size);
