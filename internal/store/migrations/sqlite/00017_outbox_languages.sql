-- +goose Up
-- Each reader gets sitrep's emails in their own language, and one update
-- in several languages is one message per language: its own Message-ID,
-- in a thread of its own per audience and language, so that a Japanese
-- reader's thread never switches to English and a resend after a crash
-- repeats only the same Message-ID. Everything sent before this was
-- English. SQLite cannot change a primary key: the table is rebuilt.
CREATE TABLE threads_new (
    incident_id       BIGINT NOT NULL REFERENCES incidents (id),
    audience          TEXT NOT NULL,
    language          TEXT NOT NULL DEFAULT 'en',
    subject           TEXT NOT NULL,
    root_message_id   TEXT NOT NULL,
    last_message_id   TEXT NOT NULL,
    refs              TEXT NOT NULL DEFAULT '[]',
    thread_index      TEXT NOT NULL,
    messages          INTEGER NOT NULL DEFAULT 0,
    last_sent_at      TIMESTAMP,
    PRIMARY KEY (incident_id, audience, language)
);
INSERT INTO threads_new (incident_id, audience, language, subject, root_message_id, last_message_id, refs, thread_index, messages, last_sent_at)
    SELECT incident_id, audience, 'en', subject, root_message_id, last_message_id, refs, thread_index, messages, last_sent_at FROM threads;
DROP TABLE threads;
ALTER TABLE threads_new RENAME TO threads;
ALTER TABLE messages ADD COLUMN language TEXT NOT NULL DEFAULT 'en';
-- The reader's own tag ("de-AT", "en-US"): dates follow the region.
ALTER TABLE deliveries ADD COLUMN language TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE deliveries DROP COLUMN language;
ALTER TABLE messages DROP COLUMN language;
CREATE TABLE threads_old (
    incident_id       BIGINT NOT NULL REFERENCES incidents (id),
    audience          TEXT NOT NULL,
    subject           TEXT NOT NULL,
    root_message_id   TEXT NOT NULL,
    last_message_id   TEXT NOT NULL,
    refs              TEXT NOT NULL DEFAULT '[]',
    thread_index      TEXT NOT NULL,
    messages          INTEGER NOT NULL DEFAULT 0,
    last_sent_at      TIMESTAMP,
    PRIMARY KEY (incident_id, audience)
);
INSERT INTO threads_old SELECT incident_id, audience, subject, root_message_id, last_message_id, refs, thread_index, messages, last_sent_at FROM threads WHERE language = 'en';
DROP TABLE threads;
ALTER TABLE threads_old RENAME TO threads;
