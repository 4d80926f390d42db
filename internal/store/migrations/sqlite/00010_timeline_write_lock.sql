-- +goose Up
-- Nothing on SQLite: one writer at a time, so timeline ids commit in order
-- (PostgreSQL's migration 00010 explains why it needs a lock).
SELECT 1;

-- +goose Down
SELECT 1;
