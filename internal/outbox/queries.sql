-- The outbox's statements: messages, deliveries, threads, delivery
-- transactions and address status are its tables, and only it names them.

-- name: touch-message
-- A live worker marks its message active at every batch (see DueMessages).
UPDATE messages SET last_activity_at = $1 WHERE id = $2;

-- name: load-message
SELECT kind, audience, message_id, in_reply_to, refs, thread_index,
    subject, to_display, render_data, created_at, groups, thread_ref, reply_token, ics, ics_method, language
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
SELECT state, COUNT(*) FROM deliveries WHERE message_id = $1 GROUP BY state;

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
-- failed_at: when it failed for good, for the audit record.
UPDATE deliveries SET state = $1, next_attempt_at = $2, last_error = $3, lease_until = NULL,
    failed_at = CASE WHEN $1 = 'failed' THEN $5 ELSE failed_at END WHERE id = $4;

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
SELECT state, COUNT(*) FROM deliveries GROUP BY state;

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
-- Queued ones whose job was lost with a crashed replica, deferred ones whose retry time has come, claimed ones whose lease ran out.
SELECT DISTINCT d.message_id, m.audience FROM deliveries d JOIN messages m ON m.id = d.message_id
WHERE (d.state = 'queued' AND m.created_at < $2 AND (m.last_activity_at IS NULL OR m.last_activity_at < $2))
   OR (d.state = 'deferred' AND d.next_attempt_at <= $1)
   OR (d.state = 'sending' AND d.lease_until < $3)
LIMIT 200;

-- name: bounce-transaction
SELECT deliveries FROM delivery_transactions WHERE message_id = $1 AND token = $2;

-- name: bounced-delivery
SELECT id, email, via_group FROM deliveries WHERE message_id = $1 AND LOWER(email) = LOWER($2);

-- name: fail-bounced
-- A bounce after the server accepted the message keeps sent_at: the audit
-- shows both times.
UPDATE deliveries SET state = $1, last_error = $2, lease_until = NULL, next_attempt_at = NULL,
    failed_at = COALESCE(failed_at, $4), bounced_at = $4 WHERE id = $3;

-- name: claim-queued
-- The first pass of a claim takes queued rows, walking the message's rows
-- forward from the last one claimed ($4): state is in no index (migration
-- 00029), so each row is looked at once per run, not once per claim.
UPDATE deliveries SET state = 'sending', lease_until = $1, attempts = attempts + 1
WHERE id IN (SELECT id FROM deliveries WHERE message_id = $2 AND id > $4 AND state = 'queued' ORDER BY id LIMIT $3)
RETURNING id, email, name, time_zone, via_group, attempts, language, unsubscribe, follows;

-- name: claim-queued (postgres)
-- Two replicas claiming the same message skip each other's rows. A join,
-- not "id IN (…)": the planner may answer IN with a hash of the whole
-- table (a sequential scan of every delivery ever made, at each claim).
UPDATE deliveries d SET state = 'sending', lease_until = $1, attempts = d.attempts + 1
FROM (SELECT id FROM deliveries WHERE message_id = $2 AND id > $4 AND state = 'queued' ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) c
WHERE d.id = c.id
RETURNING d.id, d.email, d.name, d.time_zone, d.via_group, d.attempts, d.language, d.unsubscribe, d.follows;

-- name: claim-due
-- The second pass takes the deferred rows whose retry time has come and
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
-- Followed by one "(...)" of 10 parameters per row: one statement per batch.
INSERT INTO deliveries (message_id, email, name, time_zone, via_group, state, last_error, language, unsubscribe, follows) VALUES

-- name: insert-deliveries (postgres)
-- One array per column (deliveries.go, arrayChunk): the same text for any
-- number of rows.
INSERT INTO deliveries (message_id, email, name, time_zone, via_group, state, last_error, language, unsubscribe, follows)
SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[]);

-- name: insert-transactions
-- Followed by one "(message_id, token, deliveries)" per SMTP transaction.
INSERT INTO delivery_transactions (message_id, token, deliveries) VALUES

-- name: deliveries
SELECT id, email, name, via_group, state, attempts, last_error, next_attempt_at, sent_at FROM deliveries
WHERE message_id = $1 ORDER BY id LIMIT $2;

-- name: deliveries-in-state
SELECT id, email, name, via_group, state, attempts, last_error, next_attempt_at, sent_at FROM deliveries
WHERE message_id = $1 AND state = $3 ORDER BY id LIMIT $2;

-- name: mark-sent
-- The ids go as one JSON array: the statement's text is the same whatever
-- their number, so the database parses (or, PostgreSQL, caches) one
-- statement instead of a new IN list per batch.
UPDATE deliveries SET state = 'sent', sent_at = $1, lease_until = NULL, last_error = ''
WHERE id IN (SELECT value FROM json_each($2));

-- name: mark-sent (postgres)
-- The ids as one bigint array.
UPDATE deliveries SET state = 'sent', sent_at = $1, lease_until = NULL, last_error = ''
WHERE id = ANY($2::bigint[]);

-- name: audit-of-thread-key
-- Every message of a conversation (an incident's) with every recipient,
-- in the order they were queued (audit.go).
SELECT m.id, m.kind, m.audience, m.subject, m.message_id, m.language, m.groups, m.actor, m.created_at,
    d.id, d.email, d.name, d.via_group, d.state, d.attempts, d.last_error, d.next_attempt_at, d.sent_at, d.failed_at, d.bounced_at
FROM messages m LEFT JOIN deliveries d ON d.message_id = m.id
WHERE m.incident_id = $1 ORDER BY m.id, d.id;
-- name: told
-- Every message of a conversation, its recipients counted by the group
-- that reached them and by state (a reader's "who was told what and
-- when"). MIN and MAX of a timestamp are text on SQLite: read with
-- aggregateTime.
SELECT m.id, m.audience, m.kind, m.created_at, m.groups, m.actor, m.language,
    d.via_group, d.state, COUNT(*), MIN(d.sent_at), MAX(d.sent_at)
FROM messages m JOIN deliveries d ON d.message_id = m.id
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
