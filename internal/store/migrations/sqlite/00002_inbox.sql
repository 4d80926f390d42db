-- +goose Up
-- Every message read from the hub's mailbox, stored before it is acted on
-- (in the transaction that advances the mailbox checkpoint). raw is capped
-- at mail.imap.max_message_bytes; truncated says so. hash is the SHA-256 of
-- what was stored (and the full size when truncated): the same message seen
-- again, after a UIDVALIDITY change for instance, is not stored twice.
CREATE TABLE inbound_messages (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    mailbox      TEXT NOT NULL,
    uidvalidity  BIGINT NOT NULL,
    uid          BIGINT NOT NULL,
    message_id   TEXT NOT NULL DEFAULT '',             -- without angle brackets
    message_key  TEXT UNIQUE,                          -- message_id on the first copy only: finds duplicates through a unique index
    hash         TEXT NOT NULL UNIQUE,
    raw          BLOB NOT NULL,
    size         BIGINT NOT NULL,                      -- RFC822.SIZE as the server reported it
    truncated    BOOLEAN NOT NULL DEFAULT FALSE,
    received_at  TIMESTAMP NOT NULL,                   -- IMAP INTERNALDATE
    stored_at    TIMESTAMP NOT NULL,
    state        TEXT NOT NULL,                        -- stored | processed | triage | rejected | duplicate
    class        TEXT NOT NULL DEFAULT '',             -- reply | auto_reply | bounce | calendar_reply | own
    sender       TEXT NOT NULL DEFAULT '',
    sender_name  TEXT NOT NULL DEFAULT '',
    subject      TEXT NOT NULL DEFAULT '',
    new_text     TEXT NOT NULL DEFAULT '',             -- plain text only, never HTML
    incident_id  BIGINT REFERENCES incidents (id),
    matched_by   TEXT NOT NULL DEFAULT '',             -- token | thread | subject | manual
    action       TEXT NOT NULL DEFAULT '',             -- what the hub did, for people
    error        TEXT NOT NULL DEFAULT '',             -- why it was rejected or refused
    processed_at TIMESTAMP,
    flagged      BOOLEAN NOT NULL DEFAULT FALSE        -- \Seen $SitrepDone set (and moved) on the server
);
CREATE INDEX inbound_messages_incident ON inbound_messages (incident_id, id);
CREATE INDEX inbound_messages_state ON inbound_messages (state, id);
CREATE INDEX inbound_messages_unflagged ON inbound_messages (mailbox, flagged, state);

-- Where ingest stands in each mailbox (RFC 3501 2.3.1.1: UIDs are only
-- meaningful with their UIDVALIDITY).
CREATE TABLE inbox_checkpoints (
    mailbox     TEXT PRIMARY KEY,
    uidvalidity BIGINT NOT NULL,
    last_uid    BIGINT NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);

-- One ingester per mailbox across replicas: the owner renews its lease;
-- another replica takes over when it lapses.
CREATE TABLE inbox_leases (
    mailbox     TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    lease_until TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE inbox_leases;
DROP TABLE inbox_checkpoints;
DROP TABLE inbound_messages;
