-- The inbox's statements: inbound_messages, inbox_checkpoints and
-- inbox_leases are its tables, and only it names them.

-- name: load-for-acting
SELECT state, raw, size, truncated, attempts, error FROM inbound_messages WHERE id = $1;

-- name: record-failed-attempt
-- The count is what stops retries: a message that keeps failing is quarantined.
UPDATE inbound_messages SET attempts = attempts + 1, error = $1 WHERE id = $2 AND state = $3;

-- name: finish
-- Only while the row still waits: with the effects in the same transaction, this makes acting happen once.
UPDATE inbound_messages SET state = $1, class = $2, sender = $3, sender_name = $4, subject = $5,
    new_text = $6, incident_id = $7, matched_by = $8, action = $9, error = $10, processed_at = $11, matched_ref = $14 WHERE id = $12 AND state = $13;

-- name: known-inbound
-- What a batch finds stored already: the rows with one of its hashes ($1)
-- or Message-IDs ($2). One statement per batch, whatever its size: the
-- lists are JSON arrays on SQLite, the Message-IDs hex-encoded (a header
-- may hold bytes that a JSON string cannot), and arrays on PostgreSQL.
SELECT id, hash, uidvalidity, mailbox, message_key FROM inbound_messages
WHERE hash IN (SELECT value FROM json_each($1))
    OR message_key IN (SELECT CAST(unhex(value) AS TEXT) FROM json_each($2));

-- name: known-inbound (postgres)
SELECT id, hash, uidvalidity, mailbox, message_key FROM inbound_messages
WHERE hash = ANY($1::text[]) OR message_key = ANY($2::text[]);

-- name: insert-inbound
-- Followed by one "(...)" of 12 parameters per message: one statement per
-- insertChunk messages.
INSERT INTO inbound_messages (mailbox, uidvalidity, uid, message_id, message_key, hash, raw, size, truncated, received_at, stored_at, state) VALUES;

-- name: insert-inbound (postgres)
-- A whole batch in one statement, an array per column: one round trip, and
-- one statement text whatever the batch's size. unnest reads the arrays in
-- order, so ids ascend with UIDs. A row another mailbox's ingester stored
-- meanwhile (same hash or same first Message-ID) is skipped rather than
-- failing the batch.
INSERT INTO inbound_messages (mailbox, uidvalidity, uid, message_id, message_key, hash, raw, size, truncated, received_at, stored_at, state)
SELECT $1, $2, b.uid, b.message_id, b.message_key, b.hash, b.raw, b.size, b.truncated, b.received_at, $3, b.state
FROM unnest($4::bigint[], $5::text[], $6::text[], $7::text[], $8::bytea[], $9::bigint[], $10::boolean[], $11::timestamptz[], $12::text[])
    AS b (uid, message_id, message_key, hash, raw, size, truncated, received_at, state)
ON CONFLICT DO NOTHING RETURNING id, state;

-- name: renumber-inbound
-- A message seen again under a new UIDVALIDITY: flagged again there.
UPDATE inbound_messages SET uidvalidity = $1, uid = $2, flagged = FALSE WHERE id = $3;

-- name: unflagged
-- The states are literals (mailmsg.StateStored), here and in the two
-- statements below (mailmsg.StateTriage): the partial indexes of migration
-- 00032 hold only these rows, and a planner uses a partial index only when
-- the query's WHERE implies the index's, which a parameter cannot.
SELECT id, uid, uidvalidity FROM inbound_messages
WHERE mailbox = $1 AND flagged = FALSE AND state <> 'stored' ORDER BY id LIMIT 1000;

-- name: set-aside-counts
SELECT class, COUNT(*) FROM inbound_messages WHERE state = 'triage' AND class IN ($1, $2) GROUP BY class;

-- name: file-from-triage
UPDATE inbound_messages SET state = $1, incident_id = $2, matched_ref = $3, matched_by = $4,
    action = $5, processed_at = $6 WHERE id = $7 AND state = $8;

-- name: raw
SELECT raw FROM inbound_messages WHERE id = $1;

-- name: checkpoint
SELECT uidvalidity, last_uid FROM inbox_checkpoints WHERE mailbox = $1;

-- name: save-checkpoint
INSERT INTO inbox_checkpoints (mailbox, uidvalidity, last_uid, updated_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (mailbox) DO UPDATE SET uidvalidity = excluded.uidvalidity, last_uid = excluded.last_uid, updated_at = excluded.updated_at;

-- name: acquire-lease
-- Taken when free or expired; the ON CONFLICT keeps one owner per mailbox.
INSERT INTO inbox_leases (mailbox, owner, lease_until) VALUES ($1, $2, $3)
ON CONFLICT (mailbox) DO UPDATE SET owner = excluded.owner, lease_until = excluded.lease_until
WHERE inbox_leases.owner = excluded.owner OR inbox_leases.lease_until < $4;

-- name: hold-lease
UPDATE inbox_leases SET lease_until = $1 WHERE mailbox = $2 AND owner = $3 AND lease_until >= $4;

-- name: release-lease
DELETE FROM inbox_leases WHERE mailbox = $1 AND owner = $2;

-- name: get-inbound
SELECT id, COALESCE(incident_id, 0), matched_ref, state, class, sender, sender_name, subject, new_text, received_at,
    matched_by, action, error, size, truncated, message_id, mailbox, uidvalidity, uid
FROM inbound_messages WHERE id = $1;

-- name: replies
SELECT id, COALESCE(incident_id, 0), matched_ref, state, class, sender, sender_name, subject, new_text, received_at,
    matched_by, action, error, size, truncated, message_id, mailbox, uidvalidity, uid
FROM inbound_messages WHERE incident_id = $1 ORDER BY received_at, id;

-- name: triage
SELECT id, COALESCE(incident_id, 0), matched_ref, state, class, sender, sender_name, subject, new_text, received_at,
    matched_by, action, error, size, truncated, message_id, mailbox, uidvalidity, uid
FROM inbound_messages WHERE state = 'triage' ORDER BY id DESC LIMIT $1;
