-- +goose Up
-- Fewer index entries for the ingester's INSERT (issue 22: a backlog's
-- store was bound by the server inserting the rows, six index entries
-- each). The three secondary indexes now hold only the rows their queries
-- read, none of which is a message just stored: a reply's incident is set
-- when it is acted on; triage lists and counts state 'triage' only; the
-- flagging reads rows acted on and not yet flagged. Their queries name
-- these states as literals (internal/inbox/queries.sql) so that the
-- planner can use the partial indexes.
DROP INDEX inbound_messages_incident;
DROP INDEX inbound_messages_state;
DROP INDEX inbound_messages_unflagged;
CREATE INDEX inbound_messages_incident ON inbound_messages (incident_id, id) WHERE incident_id IS NOT NULL;
CREATE INDEX inbound_messages_triage ON inbound_messages (id) WHERE state = 'triage';
CREATE INDEX inbound_messages_unflagged ON inbound_messages (mailbox, id) WHERE flagged = FALSE AND state <> 'stored';
-- The hash and the first Message-ID are looked up and kept unique byte for
-- byte: the "C" collation compares them with memcmp instead of the
-- database's locale (strcoll), which costs the unique indexes' inserts
-- and lookups. Equality is the same under any deterministic collation, so
-- what counts as a duplicate does not change. Rebuilds the two indexes.
ALTER TABLE inbound_messages ALTER COLUMN hash TYPE TEXT COLLATE "C";
ALTER TABLE inbound_messages ALTER COLUMN message_key TYPE TEXT COLLATE "C";

-- +goose Down
ALTER TABLE inbound_messages ALTER COLUMN message_key TYPE TEXT COLLATE "default";
ALTER TABLE inbound_messages ALTER COLUMN hash TYPE TEXT COLLATE "default";
DROP INDEX inbound_messages_unflagged;
DROP INDEX inbound_messages_triage;
DROP INDEX inbound_messages_incident;
CREATE INDEX inbound_messages_incident ON inbound_messages (incident_id, id);
CREATE INDEX inbound_messages_state ON inbound_messages (state, id);
CREATE INDEX inbound_messages_unflagged ON inbound_messages (mailbox, flagged, state);
