-- The outbox's statements: messages, deliveries, threads, delivery
-- transactions and address status are its tables, and only it names them.

-- name: load-message
SELECT kind, audience, message_id, in_reply_to, refs, thread_index,
    subject, to_display, render_data, created_at, groups, thread_ref, reply_token, ics, ics_method, language, total
FROM messages WHERE id = $1;

-- name: blocked-addresses
SELECT email, bouncing, opted_out, reason FROM address_status WHERE bouncing OR opted_out;

-- name: clear-address-status
DELETE FROM address_status WHERE email = $1;

-- name: mark-bouncing
INSERT INTO address_status (email, bouncing, reason, updated_at) VALUES ($1, TRUE, $2, $3);

-- name: messages-of-thread-key
SELECT id, audience, kind, message_id, subject, groups, total, next_update_at, created_at, actor, thread_ref, language
FROM messages WHERE incident_id = $1 ORDER BY id;

-- name: delivery-counts
-- A delivery's state as readers see it is delivery_states' (migration
-- 00034): a row handed to an SMTP transaction from the cursor is recorded
-- by its transaction, not by itself. Counting through the view would look
-- each such row's transaction up (160 ms a read at 100,000 on SQLite,
-- BenchmarkCountsOfAFanOutInFlight), so the counts say the same thing
-- arithmetically: of the rows handed out, those in the ranges of the
-- (few) open transactions are being sent and the others are sent. A
-- state may come twice (sent rows recorded by themselves and by their
-- transaction): the reader adds them up.
SELECT d.state, COUNT(*) FROM deliveries d JOIN messages m ON m.id = d.message_id
WHERE d.message_id = $1 AND (d.state <> 'queued' OR d.id > m.claimed_through) GROUP BY d.state
UNION ALL
SELECT 'sending', COUNT(*) FROM delivery_transactions t JOIN deliveries d
    ON d.message_id = t.message_id AND d.id >= t.first_id AND d.id <= t.last_id
WHERE t.message_id = $1 AND t.lease_until IS NOT NULL AND d.state = 'queued'
UNION ALL
SELECT 'handed out', COUNT(*) FROM deliveries d JOIN messages m ON m.id = d.message_id
WHERE d.message_id = $1 AND d.state = 'queued' AND d.id <= m.claimed_through;

-- name: deferred-count
SELECT COUNT(*) FROM deliveries d JOIN messages m ON m.id = d.message_id
WHERE m.incident_id = $1 AND d.state = 'deferred';

-- name: thread-subject
-- A thread has a variant per language; the English one when there is one.
SELECT subject FROM threads WHERE incident_id = $1 AND audience = $2 ORDER BY language <> 'en', language LIMIT 1;

-- name: thread-recipients
SELECT DISTINCT d.email FROM deliveries d JOIN messages m ON m.id = d.message_id
WHERE m.incident_id = $1 AND m.audience = $2 ORDER BY d.email;

-- name: record-delivery-outcome
-- failed_at: when it failed for good, for the audit record. attempts: a
-- claim from the cursor counts its attempt only here, with the answer.
-- Only while the row is still this try's: queued under the cursor (its
-- transaction not released), or claimed by this claim-due (the attempt
-- it counted). A worker cut off past its lease answers late: by then
-- another may have sent the recipient, and the message may be settled;
-- a late refusal written over that would send them again, or leave them
-- deferred where no sweep looks.
UPDATE deliveries SET state = $1, next_attempt_at = $2, last_error = $3, lease_until = NULL,
    failed_at = CASE WHEN $1 = 'failed' THEN $5 ELSE failed_at END, attempts = $6
WHERE id = $4 AND (state = 'queued' OR (state = 'sending' AND attempts = $6));

-- name: is-ours
SELECT 1 FROM messages WHERE message_id = $1;

-- name: thread-key-of-message-id
SELECT incident_id FROM messages WHERE message_id = $1;

-- name: sent-with-key
SELECT 1 FROM messages WHERE idempotency_key = $1;

-- name: position-in-thread
-- Which of its kind in its thread a message is: 2 for the second update.
SELECT m.kind, COUNT(*) FROM messages m JOIN messages o
    ON o.incident_id = m.incident_id AND o.audience = m.audience AND o.language = m.language AND o.kind = m.kind AND o.id <= m.id
WHERE m.id = $1 GROUP BY m.kind;

-- name: thread-key-of-row
SELECT incident_id FROM messages WHERE id = $1;

-- name: is-bouncing
SELECT bouncing FROM address_status WHERE email = $1;

-- name: deliveries-by-state
-- delivery-counts over every message.
SELECT d.state, COUNT(*) FROM deliveries d JOIN messages m ON m.id = d.message_id
WHERE d.state <> 'queued' OR d.id > m.claimed_through GROUP BY d.state
UNION ALL
SELECT 'sending', COUNT(*) FROM delivery_transactions t JOIN deliveries d
    ON d.message_id = t.message_id AND d.id >= t.first_id AND d.id <= t.last_id
WHERE t.lease_until IS NOT NULL AND d.state = 'queued'
UNION ALL
SELECT 'handed out', COUNT(*) FROM deliveries d JOIN messages m ON m.id = d.message_id
WHERE d.state = 'queued' AND d.id <= m.claimed_through;

-- name: insert-message
INSERT INTO messages (incident_id, audience, kind, message_id, in_reply_to, refs, thread_index,
    subject, to_display, groups, render_data, next_update_at, idempotency_key, actor, created_at, ics, ics_method, thread_ref, reply_token, language)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20) RETURNING id;

-- name: set-message-total
UPDATE messages SET total = $1 WHERE id = $2;

-- name: thread
SELECT subject, last_message_id, refs, thread_index FROM threads WHERE incident_id = $1 AND audience = $2 AND language = $3;

-- name: insert-thread
INSERT INTO threads (incident_id, audience, subject, root_message_id, last_message_id, refs, thread_index, messages, last_sent_at, language)
VALUES ($1, $2, $3, $4, $4, $5, $6, 1, $7, $8);

-- name: advance-thread
-- RFC 5322 3.6.4: the thread keeps the References chain.
UPDATE threads SET last_message_id = $1, refs = $2, messages = messages + 1, last_sent_at = $3
WHERE incident_id = $4 AND audience = $5 AND language = $6;

-- name: due-messages
-- Unclaimed queued ones whose job was lost with a crashed replica,
-- deferred ones whose retry time has come, claimed ones whose lease ran
-- out: rows claimed one by one (claim-due), or SMTP transactions still
-- open (claim-queued).
-- Only unsettled messages are looked at (a partial index): not every
-- delivery ever made.
SELECT d.message_id, m.audience FROM messages m JOIN deliveries d ON d.message_id = m.id
WHERE m.settled_at IS NULL AND (
      (d.state = 'queued' AND d.id > m.claimed_through AND m.created_at < $2 AND (m.last_activity_at IS NULL OR m.last_activity_at < $2))
   OR (d.state = 'deferred' AND d.next_attempt_at <= $1)
   OR (d.state = 'sending' AND d.lease_until < $3))
UNION
SELECT t.message_id, m.audience FROM delivery_transactions t JOIN messages m ON m.id = t.message_id
WHERE t.lease_until < $3
LIMIT 200;

-- name: settle-message
-- None of its deliveries can change any more: the sweep stops looking at
-- it (migration 00033). Nothing makes a delivery due again once it is
-- sent, failed or skipped, so this stays true. A queued row under the
-- cursor is in an SMTP transaction: once none is open, every such row's
-- transaction was accepted (a refused one's rows say so themselves), so
-- delivery_states reads them as sent without looking the range up.
UPDATE messages SET settled_at = $1
WHERE id = $2 AND settled_at IS NULL
    AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = $2
        AND (d.state IN ('sending', 'deferred') OR (d.state = 'queued' AND d.id > messages.claimed_through)))
    AND NOT EXISTS (SELECT 1 FROM delivery_transactions t WHERE t.message_id = $2 AND t.lease_until IS NOT NULL);

-- name: bounce-transaction
SELECT deliveries FROM delivery_transactions WHERE message_id = $1 AND token = $2;

-- name: bounced-delivery
-- Between the first and last row of the bounce's transaction
-- (deliveries_by_message), not among all the message's rows: LOWER(email)
-- is in no index.
SELECT id, email, via_group FROM deliveries WHERE message_id = $1 AND id BETWEEN $3 AND $4 AND LOWER(email) = LOWER($2);

-- name: fail-bounced
-- A bounce after the server accepted the message keeps sent_at (for a row
-- its transaction recorded, delivery_states finds it there): the audit
-- shows both times. Such a row's try is counted here, as readers counted it.
UPDATE deliveries SET state = $1, last_error = $2, lease_until = NULL, next_attempt_at = NULL,
    failed_at = COALESCE(failed_at, $4), bounced_at = $4,
    attempts = CASE WHEN state = 'queued' THEN attempts + 1 ELSE attempts END WHERE id = $3;

-- name: claim-cursor
-- The highest delivery id of the message already handed to an SMTP
-- transaction. The lock makes replicas claiming the same message take
-- turns on its cursor (NO KEY: inserts that refer to the message go on).
SELECT claimed_through FROM messages WHERE id = $1;

-- name: claim-cursor (postgres)
SELECT claimed_through FROM messages WHERE id = $1 FOR NO KEY UPDATE;

-- name: claim-in-id-order
-- Run on PostgreSQL only (claim): SQLite reads claim-queued and claim-due
-- through deliveries_by_message in id order unaided.
SELECT 1;

-- name: claim-in-id-order (postgres)
-- Without statistics for the message's rows (a fan-out just queued,
-- before autovacuum analyzes them), the planner took claim-queued and
-- claim-due as "every row of the message past the cursor, then sort":
-- each claim read all the rows left, 22 ms a claim half-way through
-- 100,000 instead of 0.2 ms for the index scan in id order
-- (docs/benchmarks.md). For this transaction only.
SET LOCAL enable_sort = off;

-- name: claim-queued
-- The first pass of a claim reads the queued rows past the cursor and
-- writes none of them: the cursor and the SMTP transactions written with
-- it are the claim (migration 00031). state is in no index: each row is
-- looked at once.
SELECT id, email, name, time_zone, via_group, attempts, language, unsubscribe, follows
FROM deliveries WHERE message_id = $1 AND id > $2 AND state = 'queued' ORDER BY id LIMIT $3;

-- name: advance-cursor
-- A live worker also marks its message active at every claim (see DueMessages).
UPDATE messages SET claimed_through = $1, last_activity_at = $2 WHERE id = $3;

-- name: expired-transactions
-- SMTP transactions of the message whose worker has not recorded their
-- answer within the lease: it was lost (a crash, a cut network).
SELECT token, deliveries FROM delivery_transactions WHERE message_id = $1 AND lease_until < $2 LIMIT 100;

-- name: expired-transactions (postgres)
SELECT token, deliveries FROM delivery_transactions WHERE message_id = $1 AND lease_until < $2 LIMIT 100 FOR UPDATE SKIP LOCKED;

-- name: release-deliveries
-- A lost transaction's recipients with no answer recorded are due again
-- now; the lost try counts as an attempt.
UPDATE deliveries SET state = 'deferred', next_attempt_at = $1, attempts = attempts + 1, last_error = $2
WHERE id IN (SELECT value FROM json_each($3)) AND state = 'queued';

-- name: release-deliveries (postgres)
UPDATE deliveries SET state = 'deferred', next_attempt_at = $1, attempts = attempts + 1, last_error = $2
WHERE id = ANY($3::bigint[]) AND state = 'queued';

-- name: accept-transactions
-- The server accepted these transactions: the recipients in their ranges
-- are sent (delivery_states). Only those still open: one whose lease ran
-- out was released, its recipients made due again row by row, and its
-- answer, come late, is recorded on those rows (recordOutcomes).
UPDATE delivery_transactions SET sent_at = $1, lease_until = NULL
WHERE message_id = $2 AND token IN (SELECT value FROM json_each($3)) AND lease_until IS NOT NULL
RETURNING token;

-- name: accept-transactions (postgres)
UPDATE delivery_transactions SET sent_at = $1, lease_until = NULL
WHERE message_id = $2 AND token = ANY($3::text[]) AND lease_until IS NOT NULL
RETURNING token;

-- name: renew-transactions
-- A live worker still holds these (fanOut.held): not lost.
UPDATE delivery_transactions SET lease_until = $1
WHERE message_id = $2 AND token IN (SELECT value FROM json_each($3)) AND lease_until IS NOT NULL;

-- name: renew-transactions (postgres)
-- A row locked is being closed by this worker's other transaction (the
-- recorder beside the claims): skipped. Waiting for it could deadlock, as
-- that transaction renews the rows this one closes.
UPDATE delivery_transactions SET lease_until = $1
WHERE message_id = $2 AND token IN (SELECT token FROM delivery_transactions
    WHERE message_id = $2 AND token = ANY($3::text[]) AND lease_until IS NOT NULL FOR UPDATE SKIP LOCKED);

-- name: renew-deliveries
-- A retry's rows (claim-due) carry their own lease: renewed with their
-- transaction's, while their answer is not recorded (still sending).
UPDATE deliveries SET lease_until = $1 WHERE id IN (SELECT value FROM json_each($2)) AND state = 'sending';

-- name: renew-deliveries (postgres)
-- Skips a row locked by the recorder closing it, as renew-transactions.
UPDATE deliveries SET lease_until = $1
WHERE id IN (SELECT id FROM deliveries WHERE id = ANY($2::bigint[]) AND state = 'sending' FOR UPDATE SKIP LOCKED);

-- name: close-transactions
-- Their answers are recorded (or their recipients released).
UPDATE delivery_transactions SET lease_until = NULL
WHERE message_id = $1 AND token IN (SELECT value FROM json_each($2));

-- name: close-transactions (postgres)
UPDATE delivery_transactions SET lease_until = NULL
WHERE message_id = $1 AND token = ANY($2::text[]);

-- name: claim-due
-- The second pass (rare) claims row by row, as every claim did before
-- 00031: it takes the deferred rows whose retry time has come and
-- the claimed ones whose lease ran out: rare, so it reads every row of
-- the message rather than keep an index that every update would write.
UPDATE deliveries SET state = 'sending', lease_until = $1, attempts = attempts + 1
WHERE id IN (SELECT id FROM deliveries WHERE message_id = $2
    AND ((state = 'deferred' AND next_attempt_at <= $4) OR (state = 'sending' AND lease_until < $5)) ORDER BY id LIMIT $3)
RETURNING id, email, name, time_zone, via_group, attempts, language, unsubscribe, follows;

-- name: claim-due (postgres)
UPDATE deliveries d SET state = 'sending', lease_until = $1, attempts = d.attempts + 1
FROM (SELECT id FROM deliveries WHERE message_id = $2
    AND ((state = 'deferred' AND next_attempt_at <= $4) OR (state = 'sending' AND lease_until < $5)) ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) c
WHERE d.id = c.id
RETURNING d.id, d.email, d.name, d.time_zone, d.via_group, d.attempts, d.language, d.unsubscribe, d.follows;

-- name: insert-deliveries
-- SQLite's (PostgreSQL copies the same columns: deliveryCopyColumns).
-- Followed by one "(?, ...)" of 10 parameters per row: one statement per
-- chunk (insertDeliveriesSQL).
INSERT INTO deliveries (message_id, email, name, time_zone, via_group, state, last_error, language, unsubscribe, follows) VALUES

-- name: insert-queued-deliveries
-- A chunk of rows plainly queued: each row binds six parameters and
-- names its state; the columns every such row leaves empty are left out.
INSERT INTO deliveries (message_id, email, name, time_zone, via_group, language, state) VALUES

-- name: insert-transactions
-- Followed by one "(message_id, token, deliveries, lease_until, first_id,
-- last_id)" per SMTP transaction.
INSERT INTO delivery_transactions (message_id, token, deliveries, lease_until, first_id, last_id) VALUES

-- name: deliveries
-- A page in id order (Deliveries): $3 is the last id of the page before.
SELECT id, email, name, via_group, state, attempts, last_error, next_attempt_at, sent_at
FROM delivery_states WHERE message_id = $1 AND id > $3 ORDER BY id LIMIT $2;

-- name: deliveries-in-state
SELECT id, email, name, via_group, state, attempts, last_error, next_attempt_at, sent_at
FROM delivery_states WHERE message_id = $1 AND id > $3 AND state = $4 ORDER BY id LIMIT $2;

-- name: mark-sent
-- Rows claimed one by one (claim-due) are recorded sent by themselves;
-- those handed out from the cursor, by their transaction
-- (accept-transactions).
-- The ids go as one JSON array: the statement's text is the same whatever
-- their number, so the database parses (or, PostgreSQL, caches) one
-- statement instead of a new IN list per batch.
UPDATE deliveries SET state = 'sent', sent_at = $1, lease_until = NULL, last_error = '',
    attempts = CASE WHEN state = 'queued' THEN attempts + 1 ELSE attempts END
WHERE id IN (SELECT value FROM json_each($2));

-- name: mark-sent (postgres)
-- The ids as one bigint array.
UPDATE deliveries SET state = 'sent', sent_at = $1, lease_until = NULL, last_error = '',
    attempts = CASE WHEN state = 'queued' THEN attempts + 1 ELSE attempts END
WHERE id = ANY($2::bigint[]);

-- name: audit-of-thread-key
-- Every message of a conversation (an incident's) with every recipient,
-- in the order they were queued (audit.go).
SELECT m.id, m.kind, m.audience, m.subject, m.message_id, m.language, m.groups, m.actor, m.created_at,
    d.id, d.email, d.name, d.via_group, d.state,
    d.attempts, d.last_error, d.next_attempt_at, d.sent_at, d.failed_at, d.bounced_at
FROM messages m LEFT JOIN delivery_states d ON d.message_id = m.id
WHERE m.incident_id = $1 ORDER BY m.id, d.id;
-- name: told
-- Every message of a conversation, its recipients counted by the group
-- that reached them and by state (a reader's "who was told what and
-- when"). MIN and MAX of a timestamp are text on SQLite: read with
-- aggregateTime.
SELECT m.id, m.audience, m.kind, m.created_at, m.groups, m.actor, m.language,
    d.via_group, d.state, COUNT(*), MIN(d.sent_at), MAX(d.sent_at)
FROM messages m JOIN delivery_states d ON d.message_id = m.id
WHERE m.incident_id = $1
GROUP BY m.id, m.audience, m.kind, m.created_at, m.groups, m.actor, m.language, d.via_group, d.state
ORDER BY m.id, d.via_group, d.state;


-- name: rate-bucket
SELECT available, at_ns FROM smtp_rate WHERE name = $1;

-- name: rate-bucket (postgres)
-- Replicas taking tokens at once take turns on the row.
SELECT available, at_ns FROM smtp_rate WHERE name = $1 FOR UPDATE;

-- name: rate-bucket-create
INSERT INTO smtp_rate (name, available, at_ns) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING;

-- name: rate-bucket-set
UPDATE smtp_rate SET available = $2, at_ns = $3 WHERE name = $1;
