-- Access requests and the webhook outbox. PostgreSQL flavour; sqlite/0007_access_requests.sql is
-- the same schema with SQLite types.

-- A provider asks a patient for access, off chain. The patient answers with a grant signed in
-- their own wallet (the request then names it) or declines; a request left pending expires.
CREATE TABLE access_requests (
    request_id    BYTEA   PRIMARY KEY,
    provider      BYTEA   NOT NULL,
    patient       BYTEA   NOT NULL,
    -- The requested category mask and purpose code, as a grant would carry them.
    categories    BIGINT  NOT NULL,
    purpose       BIGINT  NOT NULL,
    duration_secs BIGINT  NOT NULL,
    -- Free text from the provider, shown to the patient; never on chain, never in a webhook.
    note          TEXT,
    -- pending, approved, declined or expired.
    status        TEXT    NOT NULL,
    created_at_ms BIGINT  NOT NULL,
    expires_at_ms BIGINT  NOT NULL,
    decided_at_ms BIGINT,
    -- The patient's grant that answered the request (approved only).
    grant_id      BYTEA
);
-- One pending request per (provider, patient): a second one is refused, even under a race.
CREATE UNIQUE INDEX access_requests_one_pending ON access_requests (provider, patient) WHERE status = 'pending';
CREATE INDEX access_requests_by_patient ON access_requests (patient, created_at_ms);
CREATE INDEX access_requests_by_provider ON access_requests (provider, created_at_ms);
CREATE INDEX access_requests_by_status ON access_requests (status, expires_at_ms);

-- Webhook deliveries, stored before they are sent so that none is lost on a restart. The
-- payload holds addresses and ids only (see vault/src/notify.rs).
CREATE TABLE webhook_outbox (
    seq                BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id        TEXT    NOT NULL UNIQUE,
    event_type         TEXT    NOT NULL,
    payload            TEXT    NOT NULL,
    -- pending, delivered or dead (every attempt failed: a dead letter).
    status             TEXT    NOT NULL,
    attempts           BIGINT  NOT NULL DEFAULT 0,
    -- When the next attempt is due; while an attempt runs, the end of its lease.
    next_attempt_at_ms BIGINT  NOT NULL,
    created_at_ms      BIGINT  NOT NULL,
    finished_at_ms     BIGINT,
    last_error         TEXT
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (status, next_attempt_at_ms);

-- How far the notifier has turned the chain mirror's grants and revocations into deliveries.
CREATE TABLE webhook_chain_cursor (
    chain_id     BIGINT  PRIMARY KEY,
    -- The mirror's block when notifications were first turned on: nothing older is announced.
    start_block  BIGINT  NOT NULL,
    block_number BIGINT  NOT NULL,
    block_hash   BYTEA   NOT NULL
);
