-- +goose Up
-- Fewer index entries for the ingester's INSERT (issue 22): the three
-- secondary indexes now hold only the rows their queries read, none of
-- which is a message just stored: a reply's incident is set when it is
-- acted on; triage lists and counts state 'triage' only; the flagging
-- reads rows acted on and not yet flagged. Their queries name these
-- states as literals (internal/inbox/queries.sql): SQLite uses a partial
-- index only when the query's WHERE implies the index's, which a bound
-- parameter cannot. (The hash and Message-ID already compare as bytes
-- here: SQLite's default collation is BINARY.)
DROP INDEX inbound_messages_incident;
DROP INDEX inbound_messages_state;
DROP INDEX inbound_messages_unflagged;
CREATE INDEX inbound_messages_incident ON inbound_messages (incident_id, id) WHERE incident_id IS NOT NULL;
CREATE INDEX inbound_messages_triage ON inbound_messages (id) WHERE state = 'triage';
CREATE INDEX inbound_messages_unflagged ON inbound_messages (mailbox, id) WHERE flagged = FALSE AND state <> 'stored';

-- +goose Down
DROP INDEX inbound_messages_unflagged;
DROP INDEX inbound_messages_triage;
DROP INDEX inbound_messages_incident;
CREATE INDEX inbound_messages_incident ON inbound_messages (incident_id, id);
CREATE INDEX inbound_messages_state ON inbound_messages (state, id);
CREATE INDEX inbound_messages_unflagged ON inbound_messages (mailbox, flagged, state);
