-- +goose Up
-- Planned maintenance (internal/maintenance). What was told about each
-- window, one row per step (announced, started, ended, cancelled): the row
-- is inserted in the transaction that queues its email, so a step goes out
-- once whatever the number of replicas and restarts. A cancelled row with
-- no message is a window cancelled before anyone was told.
CREATE TABLE maintenance_notices (
    change_id  BIGINT NOT NULL,
    step       TEXT NOT NULL,               -- announced | started | ended | cancelled
    at         TIMESTAMP NOT NULL,
    actor      TEXT NOT NULL DEFAULT '',
    groups     TEXT NOT NULL DEFAULT '[]',  -- JSON list: who was told
    message_id BIGINT,                      -- the outbox message, NULL when nobody was told
    PRIMARY KEY (change_id, step)
);

-- Groups told of planned maintenance on a system (groups.yaml notify:).
ALTER TABLE escalations ADD COLUMN notify TEXT NOT NULL DEFAULT '[]';

-- An alert for a system under planned maintenance: the window's title,
-- and whether the draft was suppressed (recorded, nobody told).
ALTER TABLE intake_drafts ADD COLUMN maintenance TEXT NOT NULL DEFAULT '';
ALTER TABLE intake_drafts ADD COLUMN suppressed BOOLEAN NOT NULL DEFAULT FALSE;

-- A maintenance window is a thread of its own, keyed by the negative of
-- its change id: threads and messages are no longer keyed by incidents
-- only, so their key loses its reference to incidents. SQLite drops a
-- constraint by rebuilding the table; deliveries and
-- delivery_transactions refer to messages, so the old rows are copied
-- aside and put back under the same ids (their references are checked at
-- commit).
PRAGMA defer_foreign_keys = ON;
CREATE TABLE threads_new (
    incident_id       BIGINT NOT NULL,
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
INSERT INTO threads_new SELECT incident_id, audience, language, subject, root_message_id, last_message_id, refs,
    thread_index, messages, last_sent_at FROM threads;
DROP TABLE threads;
ALTER TABLE threads_new RENAME TO threads;

CREATE TEMP TABLE messages_aside AS SELECT * FROM messages;
DROP TABLE messages;
CREATE TABLE messages (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id     BIGINT,
    audience        TEXT NOT NULL,
    kind            TEXT NOT NULL,
    message_id      TEXT NOT NULL UNIQUE,
    in_reply_to     TEXT NOT NULL DEFAULT '',
    refs            TEXT NOT NULL DEFAULT '[]',
    thread_index    TEXT NOT NULL DEFAULT '',
    subject         TEXT NOT NULL,
    to_display      TEXT NOT NULL,
    groups          TEXT NOT NULL DEFAULT '[]',
    body_markdown   TEXT NOT NULL DEFAULT '',
    render_data     TEXT NOT NULL DEFAULT '{}',
    next_update_at  TIMESTAMP,
    idempotency_key TEXT UNIQUE,
    actor           TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL,
    total           INTEGER NOT NULL DEFAULT 0,
    last_activity_at TIMESTAMP,
    ics             TEXT NOT NULL DEFAULT '',
    ics_method      TEXT NOT NULL DEFAULT '',
    thread_ref      TEXT NOT NULL DEFAULT '',
    reply_token     TEXT NOT NULL DEFAULT '',
    language        TEXT NOT NULL DEFAULT 'en'
);
INSERT INTO messages (id, incident_id, audience, kind, message_id, in_reply_to, refs, thread_index, subject, to_display,
    groups, body_markdown, render_data, next_update_at, idempotency_key, actor, created_at, total, last_activity_at,
    ics, ics_method, thread_ref, reply_token, language)
SELECT id, incident_id, audience, kind, message_id, in_reply_to, refs, thread_index, subject, to_display,
    groups, body_markdown, render_data, next_update_at, idempotency_key, actor, created_at, total, last_activity_at,
    ics, ics_method, thread_ref, reply_token, language FROM messages_aside;
DROP TABLE messages_aside;
CREATE INDEX messages_incident ON messages (incident_id, id);

-- +goose Down
DROP TABLE maintenance_notices;
ALTER TABLE intake_drafts DROP COLUMN suppressed;
ALTER TABLE intake_drafts DROP COLUMN maintenance;
ALTER TABLE escalations DROP COLUMN notify;
