-- Issue #17: a provider's registration commits to its directory profile, and suspension and
-- reinstatement carry the hash of a reason; roles are mirrored so the admin console can check
-- them without a node. Each provider_events row keeps the state after its event, as before.
ALTER TABLE provider_events ADD COLUMN profile_hash BLOB;
ALTER TABLE provider_events ADD COLUMN reason_hash BLOB;
ALTER TABLE provider_events ADD COLUMN block_timestamp INTEGER;

CREATE TABLE role_events (
    chain_id     INTEGER NOT NULL,
    role         BLOB    NOT NULL,
    account      BLOB    NOT NULL,
    granted      INTEGER NOT NULL,
    block_number INTEGER NOT NULL,
    tx_hash      BLOB    NOT NULL,
    log_index    INTEGER NOT NULL,
    UNIQUE (chain_id, tx_hash, log_index)
);
CREATE INDEX role_events_latest ON role_events (chain_id, account, role, block_number, log_index);
CREATE INDEX role_events_by_block ON role_events (chain_id, block_number);
