-- +goose Up
-- A delivery changes state twice (queued → sending → sent); with state in
-- an index, each change wrote a new entry into every index of the table
-- (PostgreSQL's HOT update applies only when no indexed column changes),
-- which was most of a fan-out's database time. The outbox finds a
-- message's rows by (message_id, id) and reads their state from the row;
-- a claim walks forward from where the last one ended. Free space on each
-- page (fillfactor) lets the two updates stay on the row's page.
DROP INDEX deliveries_pending;
CREATE INDEX deliveries_by_message ON deliveries (message_id, id);
ALTER TABLE deliveries SET (fillfactor = 70);

-- +goose Down
ALTER TABLE deliveries RESET (fillfactor);
DROP INDEX deliveries_by_message;
CREATE INDEX deliveries_pending ON deliveries (message_id, state, id);
