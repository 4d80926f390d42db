-- +goose Up
-- A claim no longer writes the recipients' rows: it moves the message's
-- cursor (claimed_through, the highest delivery id handed to an SMTP
-- transaction) and writes one row per SMTP transaction, open until its
-- outcome is recorded (lease_until). A recipient's row is written once
-- more, when its answer is recorded: two row writes a recipient instead
-- of three. An open transaction whose lease ran out lost its worker: its
-- recipients not yet answered are sent again (internal/outbox/fanout.go).
ALTER TABLE messages ADD COLUMN claimed_through BIGINT NOT NULL DEFAULT 0;
ALTER TABLE delivery_transactions ADD COLUMN lease_until TIMESTAMPTZ;
CREATE INDEX delivery_transactions_open ON delivery_transactions (lease_until) WHERE lease_until IS NOT NULL;

-- +goose Down
DROP INDEX delivery_transactions_open;
ALTER TABLE delivery_transactions DROP COLUMN lease_until;
ALTER TABLE messages DROP COLUMN claimed_through;
