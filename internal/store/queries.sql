-- The store's own statements: readiness_probe is its table, and only it
-- names it. (PostgreSQL's advisory locks around River's migrations stay in
-- store.go: they exist on PostgreSQL only.)

-- name: insert-probe
-- Insert before deleting: the new row must find space of its own.
INSERT INTO readiness_probe (at, filler) VALUES ($1, $2) RETURNING id;

-- name: delete-older-probes
DELETE FROM readiness_probe WHERE id < $1;
