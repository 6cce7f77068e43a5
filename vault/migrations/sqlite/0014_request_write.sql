-- A provider may ask to add records too (a write grant), not only to read. SQLite flavour;
-- postgres/0014_request_write.sql is the same with PostgreSQL types.
-- 1: the provider asks to add records in the requested categories; 0: to read only.
ALTER TABLE access_requests ADD COLUMN write_access INTEGER NOT NULL DEFAULT 0;
