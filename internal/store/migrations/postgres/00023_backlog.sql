-- +goose Up
-- The backlog sync (internal/backlog): one row per improvement filed in
-- the team's tracker. The row is the intent, committed before the call
-- that creates the issue, with what is sent (title, body, assignee) and
-- the idempotency marker the issue carries (marker): a retry after a
-- timeout or a crash looks for an issue with the marker before creating
-- one, so that an improvement is never filed twice.
-- state: pending | sending | filed | refused.
CREATE TABLE backlog_issues (
    item_id      BIGINT  NOT NULL PRIMARY KEY, -- the improvement's id
    tracker      TEXT    NOT NULL,             -- github
    marker       TEXT    NOT NULL,             -- sitrep:improvement:<id>:<nonce>
    title        TEXT    NOT NULL,
    body         TEXT    NOT NULL,
    assignee     TEXT    NOT NULL DEFAULT '',  -- the owner's email; the tracker maps it
    due_on       TEXT    NOT NULL DEFAULT '',
    state        TEXT    NOT NULL DEFAULT 'pending',
    attempts     INTEGER NOT NULL DEFAULT 0,
    -- claim counts the takes of the row: a worker changes the row only
    -- while its claim is still the row's, on any number of replicas.
    claim        INTEGER NOT NULL DEFAULT 0,
    lease_until  TIMESTAMPTZ,
    last_error   TEXT    NOT NULL DEFAULT '',
    remote_ref   TEXT    NOT NULL DEFAULT '',  -- the tracker's key of the issue (GitHub: its number)
    url          TEXT    NOT NULL DEFAULT '',  -- the issue's page
    remote_state TEXT    NOT NULL DEFAULT '',  -- open | closed, as last heard
    created_at   TIMESTAMPTZ NOT NULL,
    filed_at     TIMESTAMPTZ
);
CREATE INDEX backlog_issues_remote ON backlog_issues (tracker, remote_ref);

-- How far the poll has read each tracker's changes (GitHub: the newest
-- updated_at seen), so that polling asks only for what changed since.
CREATE TABLE backlog_cursors (
    tracker TEXT NOT NULL PRIMARY KEY,
    since   TIMESTAMPTZ NOT NULL
);

-- The improvement's side (internal/postmortem): where it was filed, and
-- why it could not be, shown on the post-mortem page.
ALTER TABLE improvements ADD COLUMN tracker_url TEXT NOT NULL DEFAULT '';
ALTER TABLE improvements ADD COLUMN tracker_ref TEXT NOT NULL DEFAULT '';
ALTER TABLE improvements ADD COLUMN tracker_problem TEXT NOT NULL DEFAULT '';

-- A person's GitHub login (groups.yaml `github:`), to assign the issues of
-- the improvements they own (internal/directory).
ALTER TABLE people ADD COLUMN github TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE people DROP COLUMN github;
ALTER TABLE improvements DROP COLUMN tracker_problem;
ALTER TABLE improvements DROP COLUMN tracker_ref;
ALTER TABLE improvements DROP COLUMN tracker_url;
DROP TABLE backlog_cursors;
DROP TABLE backlog_issues;
