-- A provider may ask to add records too (a write grant), not only to read. PostgreSQL flavour;
-- sqlite/0014_request_write.sql is the same with SQLite types.
-- 1: the provider asks to add records in the requested categories; 0: to read only.
ALTER TABLE access_requests ADD COLUMN write_access BIGINT NOT NULL DEFAULT 0;
