-- Issue #17: providers apply with a wallet-signed profile; the registrar approves on chain
-- (the registry commits to the profile's hash) or declines with a reason. A profile is listed in
-- the directory once the chain's commitment matches it. Public business information only.
CREATE TABLE provider_applications (
    id              TEXT    PRIMARY KEY,
    provider        BYTEA    NOT NULL,
    kind            TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    profile_json    TEXT    NOT NULL,
    signature       BYTEA    NOT NULL,
    profile_hash    BYTEA    NOT NULL,
    npi             TEXT    NOT NULL,
    reason          TEXT,
    submitted_at_ms BIGINT NOT NULL,
    decided_at_ms   BIGINT
);
-- At most one application waits per provider: a second one is refused, never queued.
CREATE UNIQUE INDEX provider_applications_one_pending ON provider_applications (provider) WHERE status = 'pending';
CREATE INDEX provider_applications_by_status ON provider_applications (status, submitted_at_ms);
CREATE INDEX provider_applications_by_provider ON provider_applications (provider, submitted_at_ms);

-- The listed profile of each provider (the approved application the chain commits to now),
-- with what the chain says of the provider, so a search reads this table alone. Search columns
-- are lowercased copies of the profile's fields; search_lc joins name, organisation and city.
CREATE TABLE directory (
    provider        BYTEA    PRIMARY KEY,
    application_id  TEXT    NOT NULL,
    profile_hash    BYTEA    NOT NULL,
    status          TEXT    NOT NULL,
    verified_at_ms  BIGINT,
    action_kind     TEXT,
    action_reason   BYTEA,
    action_at_ms    BIGINT,
    name_lc         TEXT    NOT NULL,
    organization_lc TEXT    NOT NULL,
    npi             TEXT    NOT NULL,
    taxonomy        TEXT    NOT NULL,
    city_lc         TEXT    NOT NULL,
    search_lc       TEXT    NOT NULL,
    country         TEXT    NOT NULL,
    listed_at_ms    BIGINT NOT NULL
);
CREATE INDEX directory_by_name ON directory (name_lc);
CREATE INDEX directory_by_npi ON directory (npi);
CREATE INDEX directory_by_taxonomy ON directory (taxonomy, name_lc);
CREATE INDEX directory_by_city ON directory (city_lc, name_lc);

-- The mirror block up to which the directory was brought in line with the chain.
CREATE TABLE directory_sync (
    chain_id     BIGINT PRIMARY KEY,
    block_number BIGINT NOT NULL
);

-- The words behind a suspension's or reinstatement's reason hash on chain.
CREATE TABLE registry_reasons (
    reason_hash BYTEA    PRIMARY KEY,
    reason      TEXT    NOT NULL,
    added_by    BYTEA    NOT NULL,
    added_at_ms BIGINT NOT NULL
);
