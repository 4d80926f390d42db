-- +goose Up
-- A delivery changes state twice (queued → sending → sent); with state in
-- an index, each change rewrote that index's entry as well as the row.
-- The outbox finds a message's rows by (message_id, id) and reads their
-- state from the row; a claim walks forward from where the last one ended.
DROP INDEX deliveries_pending;
CREATE INDEX deliveries_by_message ON deliveries (message_id, id);

-- +goose Down
DROP INDEX deliveries_by_message;
CREATE INDEX deliveries_pending ON deliveries (message_id, state, id);
