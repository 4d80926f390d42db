-- +goose Up
-- Each reader gets sitrep's emails in their own language, and one update
-- in several languages is one message per language: its own Message-ID,
-- in a thread of its own per audience and language, so that a Japanese
-- reader's thread never switches to English and a resend after a crash
-- repeats only the same Message-ID. Everything sent before this was
-- English.
ALTER TABLE threads ADD COLUMN language TEXT NOT NULL DEFAULT 'en';
ALTER TABLE threads DROP CONSTRAINT threads_pkey;
ALTER TABLE threads ADD PRIMARY KEY (incident_id, audience, language);
ALTER TABLE messages ADD COLUMN language TEXT NOT NULL DEFAULT 'en';
-- The reader's own tag ("de-AT", "en-US"): dates follow the region.
ALTER TABLE deliveries ADD COLUMN language TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE deliveries DROP COLUMN language;
ALTER TABLE messages DROP COLUMN language;
DELETE FROM threads WHERE language <> 'en';
ALTER TABLE threads DROP CONSTRAINT threads_pkey;
ALTER TABLE threads DROP COLUMN language;
ALTER TABLE threads ADD PRIMARY KEY (incident_id, audience);
