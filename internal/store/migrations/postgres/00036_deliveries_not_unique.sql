-- +goose Up
-- A message's recipients are no longer checked unique by the database.
-- The outbox queues each recipient once (directory.Expand and named walk
-- the audience with a set), and the check cost an index insert per row
-- at a random place (rows are queued in sending order, not by address):
-- the queueing of 100,000 took 0.65-0.74 s without it against 0.83-0.85 s
-- with it, all of it on the path of the request that sends the update
-- (docs/benchmarks.md). No statement looks a delivery up by address
-- through it: the bounce lookup reads its transaction's range.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_message_id_email_key;

-- +goose Down
ALTER TABLE deliveries ADD CONSTRAINT deliveries_message_id_email_key UNIQUE (message_id, email);
