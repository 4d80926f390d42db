-- +goose Up
-- One post-mortem per incident: who is invited, the proposed and booked
-- time, and what the calendar backend knows it by.
CREATE TABLE postmortems (
    id              BIGSERIAL PRIMARY KEY,
    incident_id     BIGINT NOT NULL UNIQUE REFERENCES incidents (id),
    uid             TEXT NOT NULL UNIQUE,           -- iCalendar UID (RFC 5545 3.8.4.7), stable per booking
    generation      INTEGER NOT NULL DEFAULT 1,     -- bumped when a cancelled post-mortem is booked again (new UID)
    state           TEXT NOT NULL,                  -- draft | booking | booked | cancelling | cancelled | failed
    pending_op      TEXT NOT NULL DEFAULT '',       -- book | reschedule | cancel: what the job is doing
    sequence        INTEGER NOT NULL DEFAULT 0,     -- RFC 5545 3.8.7.4
    facilitator     TEXT NOT NULL DEFAULT '',
    start_at        TIMESTAMPTZ,
    end_at          TIMESTAMPTZ,
    room            TEXT NOT NULL DEFAULT '',       -- JSON calendar.Room, '' = remote
    remote          BOOLEAN NOT NULL DEFAULT FALSE,
    video_link      TEXT NOT NULL DEFAULT '',
    backend         TEXT NOT NULL DEFAULT '',
    booking         TEXT NOT NULL DEFAULT '',       -- JSON calendar.Booking
    booking_error   TEXT NOT NULL DEFAULT '',
    proposals       TEXT NOT NULL DEFAULT '[]',     -- JSON []Slot
    warnings        TEXT NOT NULL DEFAULT '[]',
    booked_at       TIMESTAMPTZ,
    timeline_sent_at TIMESTAMPTZ,
    published_at    TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);

CREATE TABLE postmortem_attendees (
    postmortem_id BIGINT NOT NULL REFERENCES postmortems (id),
    email         TEXT NOT NULL,
    name          TEXT NOT NULL DEFAULT '',
    time_zone     TEXT NOT NULL DEFAULT '',
    optional      BOOLEAN NOT NULL DEFAULT FALSE,
    source        TEXT NOT NULL DEFAULT '',         -- facilitator | lead | responder | group | optional_group | added | reply
    partstat      TEXT NOT NULL DEFAULT 'NEEDS-ACTION', -- RFC 5545 3.2.12, from iMIP replies
    replied_at    TIMESTAMPTZ,
    PRIMARY KEY (postmortem_id, email)
);

-- The board: Issues (blameless) and Improvements (with owners).
CREATE TABLE postmortem_issues (
    id          BIGSERIAL PRIMARY KEY,
    incident_id BIGINT NOT NULL REFERENCES incidents (id),
    text        TEXT NOT NULL,
    findings    TEXT NOT NULL DEFAULT '[]',         -- lint findings overridden, JSON
    actor       TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX postmortem_issues_incident ON postmortem_issues (incident_id, id);

CREATE TABLE improvements (
    id                  BIGSERIAL PRIMARY KEY,
    incident_id         BIGINT NOT NULL REFERENCES incidents (id),
    issue_id            BIGINT REFERENCES postmortem_issues (id),
    text                TEXT NOT NULL,
    owner               TEXT NOT NULL DEFAULT '',   -- email from the directory; '' = flagged
    due_on              TEXT NOT NULL DEFAULT '',   -- YYYY-MM-DD, '' = none
    state               TEXT NOT NULL DEFAULT 'open', -- open | done
    actor               TEXT NOT NULL DEFAULT '',
    reminded_before_at  TIMESTAMPTZ,
    reminded_overdue_at TIMESTAMPTZ,
    created_at          TIMESTAMPTZ NOT NULL
);
CREATE INDEX improvements_incident ON improvements (incident_id, id);
CREATE INDEX improvements_owner ON improvements (owner);

-- +goose Down
DROP TABLE improvements;
DROP TABLE postmortem_issues;
DROP TABLE postmortem_attendees;
DROP TABLE postmortems;
