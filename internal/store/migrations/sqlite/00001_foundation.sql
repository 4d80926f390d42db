-- +goose Up
CREATE TABLE incidents (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,           -- INC-<id>
    title               TEXT NOT NULL,
    severity            TEXT NOT NULL,
    state               TEXT NOT NULL,
    detected_via        TEXT NOT NULL DEFAULT '',        -- monitoring | customer | employee
    detection_detail    TEXT NOT NULL DEFAULT '',
    verified            BOOLEAN NOT NULL DEFAULT FALSE,
    verification_detail TEXT NOT NULL DEFAULT '',
    extent              TEXT NOT NULL DEFAULT '',        -- all | subset
    segments            TEXT NOT NULL DEFAULT '[]',      -- JSON array of strings
    systems             TEXT NOT NULL DEFAULT '[]',
    teams               TEXT NOT NULL DEFAULT '[]',
    first_failure_at    TIMESTAMP,
    detected_at         TIMESTAMP,
    declared_at         TIMESTAMP NOT NULL,
    resolved_at         TIMESTAMP,
    incident_lead       TEXT NOT NULL DEFAULT '',        -- email
    comms_lead          TEXT NOT NULL DEFAULT '',
    facilitator         TEXT NOT NULL DEFAULT '',
    next_update_at      TIMESTAMP,
    updates_promised    INTEGER NOT NULL DEFAULT 0,
    updates_on_time     INTEGER NOT NULL DEFAULT 0,
    promise_stage       INTEGER NOT NULL DEFAULT 0,      -- 0 none, 1 reminded, 2 due, 3 overdue escalated (for next_update_at)
    root_cause          TEXT NOT NULL DEFAULT '',
    fix                 TEXT NOT NULL DEFAULT '',
    reply_token         TEXT NOT NULL UNIQUE,
    version             INTEGER NOT NULL DEFAULT 1,
    updated_at          TIMESTAMP NOT NULL
);
CREATE INDEX incidents_state ON incidents (state);

CREATE TABLE timeline_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id BIGINT NOT NULL REFERENCES incidents (id),
    at          TIMESTAMP NOT NULL,
    kind        TEXT NOT NULL,
    actor       TEXT NOT NULL DEFAULT '',
    text        TEXT NOT NULL DEFAULT '',
    data        TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX timeline_events_incident ON timeline_events (incident_id, id);

-- The timeline is what the post-mortem reviews: append-only.
-- +goose StatementBegin
CREATE TRIGGER timeline_no_update BEFORE UPDATE ON timeline_events
BEGIN
    SELECT RAISE(ABORT, 'timeline is append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER timeline_no_delete BEFORE DELETE ON timeline_events
BEGIN
    SELECT RAISE(ABORT, 'timeline is append-only');
END;
-- +goose StatementEnd

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,                  -- SHA-256 of the token
    role         TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at   TIMESTAMP
);

-- The directory. Lists are JSON arrays. source is 'file' (groups.yaml, the
-- source of truth for what it names) or 'api'.
CREATE TABLE people (
    email     TEXT PRIMARY KEY,
    name      TEXT NOT NULL,
    time_zone TEXT NOT NULL DEFAULT '',
    roles     TEXT NOT NULL DEFAULT '[]',
    handles   TEXT NOT NULL DEFAULT '[]',
    team      TEXT NOT NULL DEFAULT '',
    source    TEXT NOT NULL
);
CREATE TABLE dir_groups (
    name         TEXT PRIMARY KEY,
    display_name TEXT NOT NULL DEFAULT '',
    description  TEXT NOT NULL DEFAULT '',
    time_zone    TEXT NOT NULL DEFAULT '',
    members      TEXT NOT NULL DEFAULT '[]',
    nested       TEXT NOT NULL DEFAULT '[]',
    source       TEXT NOT NULL
);
CREATE TABLE escalations (
    system     TEXT PRIMARY KEY,
    team       TEXT NOT NULL DEFAULT '',
    responders TEXT NOT NULL DEFAULT '[]',
    backup     TEXT NOT NULL DEFAULT '',
    source     TEXT NOT NULL
);
CREATE TABLE directory_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
-- Per-address state learned from mail: bounces, opt-outs.
CREATE TABLE address_status (
    email      TEXT PRIMARY KEY,
    bouncing   BOOLEAN NOT NULL DEFAULT FALSE,
    opted_out  BOOLEAN NOT NULL DEFAULT FALSE,
    reason     TEXT NOT NULL DEFAULT '',
    updated_at TIMESTAMP NOT NULL
);

-- Outbound threads: one per incident and audience.
CREATE TABLE threads (
    incident_id       BIGINT NOT NULL REFERENCES incidents (id),
    audience          TEXT NOT NULL,                    -- responders | stakeholders
    subject           TEXT NOT NULL,
    root_message_id   TEXT NOT NULL,
    last_message_id   TEXT NOT NULL,
    refs              TEXT NOT NULL DEFAULT '[]',
    thread_index      TEXT NOT NULL,
    messages          INTEGER NOT NULL DEFAULT 0,
    last_sent_at      TIMESTAMP,
    PRIMARY KEY (incident_id, audience)
);

-- The outbox. One row per outgoing message (one Message-ID for all its
-- recipients); one delivery row per recipient, written before the first byte is sent.
CREATE TABLE messages (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id     BIGINT REFERENCES incidents (id),
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
    last_activity_at TIMESTAMP                         -- a worker last claimed or recorded deliveries
);
CREATE INDEX messages_incident ON messages (incident_id, id);

CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id      BIGINT NOT NULL REFERENCES messages (id),
    email           TEXT NOT NULL,
    name            TEXT NOT NULL DEFAULT '',
    time_zone       TEXT NOT NULL DEFAULT '',
    via_group       TEXT NOT NULL DEFAULT '',
    state           TEXT NOT NULL,                      -- queued | sending | sent | deferred | failed | skipped
    lease_until     TIMESTAMP,                        -- while sending: another worker may take it over after this
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    next_attempt_at TIMESTAMP,
    sent_at         TIMESTAMP,
    UNIQUE (message_id, email)
);
CREATE INDEX deliveries_pending ON deliveries (message_id, state, id);

-- +goose Down
DROP TABLE deliveries;
DROP TABLE messages;
DROP TABLE threads;
DROP TABLE address_status;
DROP TABLE directory_meta;
DROP TABLE escalations;
DROP TABLE dir_groups;
DROP TABLE people;
DROP TABLE api_tokens;
DROP TABLE timeline_events;
DROP TABLE incidents;
