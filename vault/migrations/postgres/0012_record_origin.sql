-- Where a record came from in the patient's file (its Bundle's header, its entry's fullUrl),
-- sealed by her client under a key only she derives, so an export can rebuild the Bundle and
-- every reference between its entries still resolves. Opaque here; NULL for records that came
-- from no Bundle, and cleared when the record is erased. PostgreSQL flavour.
ALTER TABLE records ADD COLUMN origin BYTEA;
