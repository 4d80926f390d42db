-- +goose Up
ALTER TABLE incidents ADD COLUMN root_cause_unknown BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE incidents ADD COLUMN impact TEXT NOT NULL DEFAULT '';
-- The promise made in the "resolved" email: a write-up by this time.
ALTER TABLE incidents ADD COLUMN writeup_due_at TIMESTAMP;
ALTER TABLE incidents ADD COLUMN writeup_stage INTEGER NOT NULL DEFAULT 0;
ALTER TABLE incidents ADD COLUMN rca_reminded_at TIMESTAMP;

-- Reports of the problem: who saw what, where, how. Reporters are asked
-- to confirm the fix.
CREATE TABLE reports (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id    BIGINT NOT NULL REFERENCES incidents (id),
    reporter_email TEXT NOT NULL,
    reporter_name  TEXT NOT NULL DEFAULT '',
    location       TEXT NOT NULL DEFAULT '',  -- region or office
    access         TEXT NOT NULL DEFAULT '',  -- web, mobile app, API; device; network
    observed       TEXT NOT NULL DEFAULT '',
    channel        TEXT NOT NULL DEFAULT '',  -- api, cli, web, email
    reported_at    TIMESTAMP NOT NULL,
    created_at     TIMESTAMP NOT NULL
);
CREATE INDEX reports_incident ON reports (incident_id, id);

-- Who was asked to confirm the fix, and what they said.
CREATE TABLE confirmations (
    incident_id BIGINT NOT NULL REFERENCES incidents (id),
    email       TEXT NOT NULL,
    name        TEXT NOT NULL DEFAULT '',
    state       TEXT NOT NULL,                 -- asked | confirmed | still_broken | ambiguous
    answer      TEXT NOT NULL DEFAULT '',
    asked_at    TIMESTAMP NOT NULL,
    answered_at TIMESTAMP,
    PRIMARY KEY (incident_id, email)
);

-- Sent blameless summaries, kept with the incident.
CREATE TABLE summaries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id BIGINT NOT NULL REFERENCES incidents (id),
    markdown    TEXT NOT NULL,
    html        TEXT NOT NULL,
    findings    TEXT NOT NULL DEFAULT '[]',    -- lint findings overridden, JSON
    actor       TEXT NOT NULL DEFAULT '',
    sent_at     TIMESTAMP NOT NULL
);
CREATE INDEX summaries_incident ON summaries (incident_id, id);

-- +goose Down
DROP TABLE summaries;
DROP TABLE confirmations;
DROP TABLE reports;
ALTER TABLE incidents DROP COLUMN rca_reminded_at;
ALTER TABLE incidents DROP COLUMN writeup_stage;
ALTER TABLE incidents DROP COLUMN writeup_due_at;
ALTER TABLE incidents DROP COLUMN impact;
ALTER TABLE incidents DROP COLUMN root_cause_unknown;
