-- The providers a patient chose to be reachable by break-glass access: her client wraps records
-- in her emergency categories for them, and reads this list back on any device.
CREATE TABLE emergency_providers (
    patient       BYTEA NOT NULL,
    provider      BYTEA NOT NULL,
    added_at_ms   BIGINT NOT NULL,
    PRIMARY KEY (patient, provider)
);
