-- +goose Up
-- The change log: deployments (webhook, CLI) and maintenance windows (read
-- from calendars and kept here so that they have an id to suspect). One
-- row per change: (source, external_id) is the sender's identity of it, so
-- the same deployment posted twice is stored once.
CREATE TABLE changes (
    id           BIGSERIAL PRIMARY KEY,
    source       TEXT NOT NULL,               -- generic, github, gitlab, cli, ics, caldav
    external_id  TEXT NOT NULL,               -- the sender's id, or a hash of what it said
    kind         TEXT NOT NULL,               -- deployment | maintenance
    service      TEXT NOT NULL DEFAULT '',
    systems      TEXT NOT NULL DEFAULT '[]',  -- JSON list of the known systems it names
    version      TEXT NOT NULL DEFAULT '',
    environment  TEXT NOT NULL DEFAULT '',
    triggered_by TEXT NOT NULL DEFAULT '',
    summary      TEXT NOT NULL DEFAULT '',   -- one line: what changed
    details      TEXT NOT NULL DEFAULT '',   -- a maintenance event's description
    url          TEXT NOT NULL DEFAULT '',
    started_at   TIMESTAMPTZ NOT NULL,
    ended_at     TIMESTAMPTZ,
    created_at   TIMESTAMPTZ NOT NULL,
    UNIQUE (source, external_id)
);
CREATE INDEX changes_started ON changes (started_at);

-- A change the incident lead suspects (or has confirmed) caused an incident.
CREATE TABLE incident_changes (
    incident_id BIGINT NOT NULL REFERENCES incidents (id),
    change_id   BIGINT NOT NULL REFERENCES changes (id),
    state       TEXT NOT NULL,                -- suspected | confirmed
    actor       TEXT NOT NULL DEFAULT '',
    marked_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (incident_id, change_id)
);

-- +goose Down
DROP TABLE incident_changes;
DROP TABLE changes;
