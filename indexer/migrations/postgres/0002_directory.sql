-- Issue #17: a provider's registration commits to its directory profile, and suspension and
-- reinstatement carry the hash of a reason; roles are mirrored so the admin console can check
-- them without a node. Each provider_events row keeps the state after its event, as before.
ALTER TABLE provider_events ADD COLUMN profile_hash BYTEA;
ALTER TABLE provider_events ADD COLUMN reason_hash BYTEA;
ALTER TABLE provider_events ADD COLUMN block_timestamp BIGINT;

CREATE TABLE role_events (
    chain_id     BIGINT NOT NULL,
    role         BYTEA    NOT NULL,
    account      BYTEA    NOT NULL,
    granted      BIGINT NOT NULL,
    block_number BIGINT NOT NULL,
    tx_hash      BYTEA    NOT NULL,
    log_index    BIGINT NOT NULL,
    UNIQUE (chain_id, tx_hash, log_index)
);
CREATE INDEX role_events_latest ON role_events (chain_id, account, role, block_number, log_index);
CREATE INDEX role_events_by_block ON role_events (chain_id, block_number);
