-- Planned maintenance's statements: maintenance_notices is its table,
-- and only it names it.

-- name: insert-notice
-- The step's claim: the row exists once, whatever the number of replicas
-- trying; the one whose insert takes queues the email in the same
-- transaction.
INSERT INTO maintenance_notices (change_id, step, at, actor, groups) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (change_id, step) DO NOTHING;

-- name: set-notice-message
UPDATE maintenance_notices SET message_id = $1 WHERE change_id = $2 AND step = $3;

-- name: notices-of
SELECT change_id, step, at, actor, groups, message_id FROM maintenance_notices WHERE change_id = $1;

-- name: notices-between
-- The notices of the change ids in [$1, $2]; the caller keeps those it asked for.
SELECT change_id, step, at, actor, groups, message_id FROM maintenance_notices
WHERE change_id >= $1 AND change_id <= $2 ORDER BY change_id, at LIMIT 10000;

-- name: is-cancelled
SELECT COUNT(*) FROM maintenance_notices WHERE change_id = $1 AND step = 'cancelled';
