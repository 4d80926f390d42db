-- +goose Up
-- Draft incidents opened by monitoring alerts (Alertmanager, Pingdom,
-- Dynatrace, the generic form). A draft sends nothing: the comms lead is
-- told, and declares it (then incident_id is the incident) or dismisses it.
-- open_key is "<source>:<alert key>" while the draft still absorbs the same
-- alert firing again, NULL after: the unique index makes the storm's
-- concurrent deliveries of one alert attach to one draft.
CREATE TABLE intake_drafts (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    source           TEXT NOT NULL,              -- alertmanager | pingdom | dynatrace | generic
    alert_key        TEXT NOT NULL,              -- fingerprint, check_id, ProblemID, or the generic key
    open_key         TEXT UNIQUE,
    title            TEXT NOT NULL,
    systems          TEXT NOT NULL DEFAULT '[]', -- JSON list: suspected systems
    detail           TEXT NOT NULL DEFAULT '',   -- the monitor's description
    url              TEXT NOT NULL DEFAULT '',   -- link back to the monitor
    severity         TEXT NOT NULL DEFAULT '',   -- suggested, from the monitor's severity
    first_failure_at TIMESTAMP NOT NULL,               -- from the monitor, not from us
    received_at      TIMESTAMP NOT NULL,
    last_seen_at     TIMESTAMP NOT NULL,
    fired            INTEGER NOT NULL DEFAULT 1, -- notifications received for it
    resolved_at      TIMESTAMP,                        -- the monitor said it recovered
    state            TEXT NOT NULL DEFAULT 'draft', -- draft | declared | dismissed
    incident_id      BIGINT REFERENCES incidents (id),
    decided_by       TEXT NOT NULL DEFAULT '',
    decided_at       TIMESTAMP,
    reply_token      TEXT NOT NULL UNIQUE
);
CREATE INDEX intake_drafts_state ON intake_drafts (state, id);
CREATE INDEX intake_drafts_incident ON intake_drafts (incident_id);

-- How far the chat mirror has read the timeline, per target (slack, irc):
-- the sweep moves it forward in the transaction that queues the jobs.
CREATE TABLE chat_cursors (
    target        TEXT PRIMARY KEY,
    last_event_id BIGINT NOT NULL DEFAULT 0
);

-- +goose Down
DROP TABLE chat_cursors;
DROP TABLE intake_drafts;
