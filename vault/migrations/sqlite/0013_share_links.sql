-- SMART Health Links: a patient's links, their encrypted files, the one-hour tickets the
-- manifest hands out for the files, and every manifest request. SQLite flavour.

-- The vault never holds a link's key: files are JWE the patient's client made.
CREATE TABLE share_links (
    -- 43 characters, base64url of 32 random bytes the client chose: the manifest's path.
    id             TEXT    PRIMARY KEY,
    owner          BLOB    NOT NULL,
    manifest_url   TEXT    NOT NULL,
    label          TEXT    NOT NULL,
    -- link or emergency.
    purpose        TEXT    NOT NULL,
    -- Argon2id PHC string; NULL: no passcode.
    passcode_hash  TEXT,
    -- Wrong passcodes still allowed; at 0 the link is disabled (the specification's rule).
    attempts_left  INTEGER NOT NULL,
    single_use     INTEGER NOT NULL,
    long_lived     INTEGER NOT NULL,
    -- The record categories a long-lived link follows (a mask, as grants carry them; 0: none).
    categories     INTEGER NOT NULL DEFAULT 0,
    created_at_ms  INTEGER NOT NULL,
    expires_at_ms  INTEGER,
    revoked_at_ms  INTEGER,
    -- A single-use link's one manifest request.
    used_at_ms     INTEGER
);
CREATE INDEX share_links_by_owner ON share_links (owner, created_at_ms);

CREATE TABLE share_link_files (
    link_id        TEXT    NOT NULL,
    position       INTEGER NOT NULL,
    content_type   TEXT    NOT NULL,
    jwe            TEXT    NOT NULL,
    updated_at_ms  INTEGER NOT NULL,
    PRIMARY KEY (link_id, position)
);

-- What a manifest's `location` URLs carry: random, good for an hour, for one link.
CREATE TABLE share_link_tickets (
    ticket         TEXT    PRIMARY KEY,
    link_id        TEXT    NOT NULL,
    expires_at_ms  INTEGER NOT NULL
);
CREATE INDEX share_link_tickets_by_expiry ON share_link_tickets (expires_at_ms);

-- Every manifest request, answered or refused, with the name the requester gave. The audit
-- log has an entry for each too (without the name: it is free text).
CREATE TABLE share_link_accesses (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    link_id        TEXT    NOT NULL,
    at_ms          INTEGER NOT NULL,
    recipient      TEXT    NOT NULL,
    outcome        TEXT    NOT NULL
);
CREATE INDEX share_link_accesses_by_link ON share_link_accesses (link_id, seq);
