-- +goose Up
-- The language sitrep writes to a person in (issue 18): a BCP 47 tag such
-- as "de" or "en-US", on a person and, as the default for its members, on
-- a group; '' means the next default (the group's, the organisation's,
-- English). The organisation's default is directory_meta's "language".
ALTER TABLE people ADD COLUMN language TEXT NOT NULL DEFAULT '';
ALTER TABLE dir_groups ADD COLUMN language TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE dir_groups DROP COLUMN language;
ALTER TABLE people DROP COLUMN language;
DELETE FROM directory_meta WHERE key = 'language';
