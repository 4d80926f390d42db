-- Planned maintenance's statements: maintenance_notices is its table,
-- and only it names it.

-- name: insert-notice
-- The step's claim: the row exists once, whatever the number of replicas
-- trying; the one whose insert takes queues the email in the same
-- transaction.
-- start_at and end_at are the window's times the step tells.
INSERT INTO maintenance_notices (change_id, step, at, actor, groups, start_at, end_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (change_id, step) DO NOTHING;

-- name: set-notice-message
UPDATE maintenance_notices SET message_id = $1 WHERE change_id = $2 AND step = $3;

-- name: notices-of
SELECT change_id, step, at, actor, groups, message_id, start_at, end_at FROM maintenance_notices WHERE change_id = $1;

-- name: notices-between
-- The notices of the change ids in [$1, $2]; the caller keeps those it asked for.
SELECT change_id, step, at, actor, groups, message_id, start_at, end_at FROM maintenance_notices
WHERE change_id >= $1 AND change_id <= $2 ORDER BY change_id, at LIMIT 10000;

-- name: is-cancelled
SELECT COUNT(*) FROM maintenance_notices WHERE change_id = $1 AND step = 'cancelled';

-- name: told-open
-- The windows told about (announced, or noted at their start) since $1
-- that have not ended or been cancelled: the announcer watches them in
-- their calendars wherever they go.
SELECT DISTINCT n.change_id FROM maintenance_notices n
WHERE n.step IN ('announced', 'started') AND n.at > $1
  AND NOT EXISTS (SELECT 1 FROM maintenance_notices o WHERE o.change_id = n.change_id AND o.step IN ('ended', 'cancelled'))
ORDER BY n.change_id LIMIT 500;
