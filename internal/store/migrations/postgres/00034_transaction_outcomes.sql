-- +goose Up
-- A recipient that a claim handed to an SMTP transaction from the
-- message's cursor is recorded as sent by its transaction, not by its own
-- row: the transaction carries the range of delivery ids it holds
-- (first_id..last_id; NULL for a retry's, whose rows are recorded one by
-- one) and, once the server accepted it, the time (sent_at). A fan-out to
-- 10,000 writes 200 transaction rows instead of 10,000 delivery rows.
-- Ranges of one message never overlap: the cursor only moves forward.
ALTER TABLE delivery_transactions ADD COLUMN first_id BIGINT;
ALTER TABLE delivery_transactions ADD COLUMN last_id BIGINT;
ALTER TABLE delivery_transactions ADD COLUMN sent_at TIMESTAMPTZ;
CREATE INDEX delivery_transactions_ranges ON delivery_transactions (message_id, last_id);

-- SMTP transactions still open from before this migration carry no range:
-- their recipients go again now, as when a transaction's lease runs out
-- (the outbox's releaseExpired), so that every transaction open from now
-- on holds a range.
UPDATE deliveries SET state = 'deferred', next_attempt_at = CURRENT_TIMESTAMP, attempts = attempts + 1,
    last_error = 'the worker sending it stopped before recording the server''s answer; sending again'
WHERE state = 'queued' AND id IN (SELECT jsonb_array_elements_text(t.deliveries::jsonb)::bigint FROM delivery_transactions t WHERE t.lease_until IS NOT NULL);
UPDATE delivery_transactions SET lease_until = NULL WHERE lease_until IS NOT NULL;

-- A delivery as its readers see it. A queued row under its message's
-- cursor was handed to an SMTP transaction: it is being sent while that
-- transaction is open, and sent once it closed (a refused recipient's
-- row says so itself: deferred, failed; and the recipients of a
-- transaction released after its lease are deferred). The try counts as
-- an attempt. Rows claimed one by one say their state themselves. The
-- transaction that holds a row is the first of its message to end at or
-- after it, when it also starts at or before it: ranges do not overlap.
-- A settled message has no transaction open: no lookup.
CREATE VIEW delivery_states AS
SELECT d.id, d.message_id, d.email, d.name, d.via_group, d.language, d.unsubscribe, d.follows,
    d.last_error, d.next_attempt_at, d.failed_at, d.bounced_at,
    CASE WHEN d.state <> 'queued' OR d.id > m.claimed_through THEN d.state
         WHEN m.settled_at IS NOT NULL THEN 'sent'
         WHEN (SELECT CASE WHEN t.first_id <= d.id THEN t.lease_until END FROM delivery_transactions t
               WHERE t.message_id = d.message_id AND t.last_id >= d.id
               ORDER BY t.last_id LIMIT 1) IS NULL THEN 'sent'
         ELSE 'sending' END AS state,
    CASE WHEN d.state = 'queued' AND d.id <= m.claimed_through THEN d.attempts + 1 ELSE d.attempts END AS attempts,
    -- A bounced copy was accepted first: it keeps that time.
    COALESCE(d.sent_at, CASE WHEN (d.state = 'queued' OR d.bounced_at IS NOT NULL) AND d.id <= m.claimed_through THEN
        (SELECT CASE WHEN t.first_id <= d.id THEN t.sent_at END FROM delivery_transactions t
         WHERE t.message_id = d.message_id AND t.last_id >= d.id
         ORDER BY t.last_id LIMIT 1) END) AS sent_at
FROM deliveries d JOIN messages m ON m.id = d.message_id;

-- +goose Down
DROP VIEW delivery_states;
DROP INDEX delivery_transactions_ranges;
ALTER TABLE delivery_transactions DROP COLUMN sent_at;
ALTER TABLE delivery_transactions DROP COLUMN last_id;
ALTER TABLE delivery_transactions DROP COLUMN first_id;
