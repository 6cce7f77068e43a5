-- Attachments: one encrypted stream per record version, kept in the blob store (a directory or
-- an S3 bucket); only its size is here. PostgreSQL flavour.
CREATE TABLE attachments (
    record_id     BYTEA   NOT NULL,
    version       BIGINT  NOT NULL,
    size          BIGINT  NOT NULL,
    created_at_ms BIGINT  NOT NULL,
    PRIMARY KEY (record_id, version)
);
