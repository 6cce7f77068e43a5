-- Each attachment upload writes its own object; the row names the one that won, so a refused or
-- interrupted upload can never replace an accepted one. NULL: the name before this migration
-- (attachments/<record>/<version>). PostgreSQL flavour.
ALTER TABLE attachments ADD COLUMN blob TEXT;
