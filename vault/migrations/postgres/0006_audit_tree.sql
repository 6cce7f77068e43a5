-- The audit log becomes a Merkle tree: each entry's position and leaf (SHA-256 of its canonical
-- bytes, medkey_protocol::audit::entry). Rows written before get theirs at the next start.
ALTER TABLE access_log ADD COLUMN leaf_index BIGINT;
ALTER TABLE access_log ADD COLUMN leaf BYTEA;
CREATE UNIQUE INDEX access_log_by_leaf ON access_log (leaf_index);
