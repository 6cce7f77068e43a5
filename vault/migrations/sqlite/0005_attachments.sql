-- Attachments: one encrypted stream per record version, kept in the blob store (a directory or
-- an S3 bucket); only its size is here. SQLite flavour.
CREATE TABLE attachments (
    record_id     BLOB    NOT NULL,
    version       INTEGER NOT NULL,
    size          INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (record_id, version)
);
