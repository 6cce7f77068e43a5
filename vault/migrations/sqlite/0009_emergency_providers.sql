-- The providers a patient chose to be reachable by break-glass access: her client wraps records
-- in her emergency categories for them, and reads this list back on any device.
CREATE TABLE emergency_providers (
    patient       BLOB NOT NULL,
    provider      BLOB NOT NULL,
    added_at_ms   INTEGER NOT NULL,
    PRIMARY KEY (patient, provider)
);
