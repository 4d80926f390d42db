-- +goose Up
-- Failed attempts to act on an inbound message (its last error is in
-- error): after a few the message is quarantined in triage rather than
-- retried forever.
ALTER TABLE inbound_messages ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE inbound_messages DROP COLUMN attempts;
