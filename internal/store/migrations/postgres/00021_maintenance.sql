-- +goose Up
-- Planned maintenance (internal/maintenance). What was told about each
-- window, one row per step (announced, started, ended, cancelled): the row
-- is inserted in the transaction that queues its email, so a step goes out
-- once whatever the number of replicas and restarts. A cancelled row with
-- no message is a window cancelled before anyone was told.
CREATE TABLE maintenance_notices (
    change_id  BIGINT NOT NULL,
    step       TEXT NOT NULL,               -- announced | started | ended | cancelled
    at         TIMESTAMPTZ NOT NULL,
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
-- only, so their key loses its reference to incidents.
ALTER TABLE threads DROP CONSTRAINT IF EXISTS threads_incident_id_fkey;
ALTER TABLE messages DROP CONSTRAINT IF EXISTS messages_incident_id_fkey;

-- +goose Down
DROP TABLE maintenance_notices;
ALTER TABLE intake_drafts DROP COLUMN suppressed;
ALTER TABLE intake_drafts DROP COLUMN maintenance;
ALTER TABLE escalations DROP COLUMN notify;
