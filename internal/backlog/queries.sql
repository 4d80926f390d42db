-- The backlog sync's statements: backlog_issues and backlog_cursors are
-- its tables, and only it names them.

-- name: insert-intent
-- Once per item: a second ask (a republish) keeps the first, but puts one
-- the tracker refused back to pending (the configuration was fixed), with
-- its marker and its tries: its next try looks before it creates.
INSERT INTO backlog_issues (item_id, tracker, marker, title, body, assignee, due_on, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (item_id) DO UPDATE SET state = 'pending', last_error = '' WHERE backlog_issues.state = 'refused';

-- name: intent
SELECT tracker, marker, title, body, assignee, due_on, state, attempts, claim, lease_until, created_at
FROM backlog_issues WHERE item_id = $1;

-- name: claim
-- Taken only by whoever read the row's current claim: of two workers, one
-- changes the row and the other sees no row changed. Committed before the
-- call: a crash after it leaves the row 'sending', and the next try looks.
UPDATE backlog_issues SET state = 'sending', claim = claim + 1, lease_until = $1, attempts = attempts + 1
WHERE item_id = $2 AND claim = $3 AND state IN ('pending', 'sending');

-- name: settle-filed
UPDATE backlog_issues SET state = 'filed', remote_ref = $1, url = $2, remote_state = $3, filed_at = $4,
    last_error = '', lease_until = NULL, remote_id = $7
WHERE item_id = $5 AND claim = $6;

-- name: settle-pending
UPDATE backlog_issues SET state = 'pending', last_error = $1, lease_until = NULL WHERE item_id = $2 AND claim = $3;

-- name: settle-refused
UPDATE backlog_issues SET state = 'refused', last_error = $1, lease_until = NULL WHERE item_id = $2 AND claim = $3;

-- name: by-ref
SELECT item_id, marker FROM backlog_issues WHERE tracker = $1 AND remote_ref = $2 AND state = 'filed';

-- name: by-remote-id
-- The tracker's stable id: the issue may have moved (a new key) since.
SELECT item_id, marker FROM backlog_issues WHERE tracker = $1 AND remote_id = $2 AND state = 'filed';

-- name: set-remote-state
-- Changes only what differs: a repeated delivery changes nothing.
UPDATE backlog_issues SET remote_state = $1 WHERE item_id = $2 AND remote_state <> $1;

-- name: status
SELECT state, attempts, last_error, remote_ref, url, remote_state, push_seq, pushed_seq, push_error FROM backlog_issues WHERE item_id = $1;

-- name: cursor
SELECT since FROM backlog_cursors WHERE tracker = $1;

-- name: oldest-filed
-- ORDER BY, not MIN: SQLite gives an aggregate of timestamps back as text.
SELECT created_at FROM backlog_issues WHERE tracker = $1 ORDER BY created_at LIMIT 1;

-- name: save-cursor
INSERT INTO backlog_cursors (tracker, since) VALUES ($1, $2)
ON CONFLICT (tracker) DO UPDATE SET since = excluded.since;


-- name: want-change
-- A change asked for in sitrep, in the use case's transaction: the fields
-- to carry are added to those not carried yet; the row's assignee and due
-- date are what is asked now (and what a create not made yet will send).
UPDATE backlog_issues SET push_seq = push_seq + 1,
    push_state = CASE WHEN $2 <> '' THEN 1 ELSE push_state END,
    want_state = CASE WHEN $2 <> '' THEN $2 ELSE want_state END,
    push_assignee = CASE WHEN $3 = 1 THEN 1 ELSE push_assignee END,
    assignee = CASE WHEN $3 = 1 THEN $4 ELSE assignee END,
    push_due = CASE WHEN $5 = 1 THEN 1 ELSE push_due END,
    due_on = CASE WHEN $5 = 1 THEN $6 ELSE due_on END
WHERE item_id = $1;

-- name: push-row
SELECT tracker, state, remote_ref, remote_id, url, push_seq, pushed_seq, push_state, want_state, push_assignee, assignee, push_due, due_on
FROM backlog_issues WHERE item_id = $1;

-- name: pushed
-- Carried: the fields are cleared only when no change was asked meanwhile
-- (push_seq unchanged); the state carried is the state known there.
UPDATE backlog_issues SET pushed_seq = $2, push_state = 0, push_assignee = 0, push_due = 0, push_error = '',
    remote_state = CASE WHEN want_state <> '' AND $3 = 1 THEN want_state ELSE remote_state END
WHERE item_id = $1 AND push_seq = $2;

-- name: push-refused
UPDATE backlog_issues SET pushed_seq = $2, push_error = $3 WHERE item_id = $1 AND push_seq = $2;

-- name: push-failed
UPDATE backlog_issues SET push_error = $2 WHERE item_id = $1;
