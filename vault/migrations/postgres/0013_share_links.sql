-- SMART Health Links: a patient's links, their encrypted files, the one-hour tickets the
-- manifest hands out for the files, and every manifest request. PostgreSQL flavour.

-- The vault never holds a link's key: files are JWE the patient's client made.
CREATE TABLE share_links (
    -- 43 characters, base64url of 32 random bytes the client chose: the manifest's path.
    id             TEXT    PRIMARY KEY,
    owner          BYTEA    NOT NULL,
    manifest_url   TEXT    NOT NULL,
    label          TEXT    NOT NULL,
    -- link or emergency.
    purpose        TEXT    NOT NULL,
    -- Argon2id PHC string; NULL: no passcode.
    passcode_hash  TEXT,
    -- Wrong passcodes still allowed; at 0 the link is disabled (the specification's rule).
    attempts_left  BIGINT NOT NULL,
    single_use     BIGINT NOT NULL,
    long_lived     BIGINT NOT NULL,
    -- The record categories a long-lived link follows (a mask, as grants carry them; 0: none).
    categories     BIGINT NOT NULL DEFAULT 0,
    created_at_ms  BIGINT NOT NULL,
    expires_at_ms  BIGINT,
    revoked_at_ms  BIGINT,
    -- A single-use link's one manifest request.
    used_at_ms     BIGINT
);
CREATE INDEX share_links_by_owner ON share_links (owner, created_at_ms);

CREATE TABLE share_link_files (
    link_id        TEXT    NOT NULL,
    position       BIGINT NOT NULL,
    content_type   TEXT    NOT NULL,
    jwe            TEXT    NOT NULL,
    updated_at_ms  BIGINT NOT NULL,
    PRIMARY KEY (link_id, position)
);

-- What a manifest's `location` URLs carry: random, good for an hour, for one link.
CREATE TABLE share_link_tickets (
    ticket         TEXT    PRIMARY KEY,
    link_id        TEXT    NOT NULL,
    expires_at_ms  BIGINT NOT NULL
);
CREATE INDEX share_link_tickets_by_expiry ON share_link_tickets (expires_at_ms);

-- Every manifest request, answered or refused, with the name the requester gave. The audit
-- log has an entry for each too (without the name: it is free text).
CREATE TABLE share_link_accesses (
    seq            BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    link_id        TEXT    NOT NULL,
    at_ms          BIGINT NOT NULL,
    recipient      TEXT    NOT NULL,
    outcome        TEXT    NOT NULL
);
CREATE INDEX share_link_accesses_by_link ON share_link_accesses (link_id, seq);
