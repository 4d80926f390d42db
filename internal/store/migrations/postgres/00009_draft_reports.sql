-- +goose Up
-- Reports filed on a draft, before anyone has declared an incident: the
-- comms lead sees how many people, where, before deciding. Declaring the
-- draft copies them onto the incident in the declaring transaction; the
-- rows stay here as the draft's own record.
CREATE TABLE draft_reports (
    id             BIGSERIAL PRIMARY KEY,
    draft_id       BIGINT NOT NULL REFERENCES intake_drafts (id),
    reporter_email TEXT NOT NULL,
    reporter_name  TEXT NOT NULL DEFAULT '',
    location       TEXT NOT NULL DEFAULT '',  -- region or office
    access         TEXT NOT NULL DEFAULT '',  -- web, mobile app, API; device; network
    observed       TEXT NOT NULL DEFAULT '',
    channel        TEXT NOT NULL DEFAULT '',  -- api, cli, web, email
    reported_at    TIMESTAMPTZ NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX draft_reports_draft ON draft_reports (draft_id, id);

-- +goose Down
DROP TABLE draft_reports;
