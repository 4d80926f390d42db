-- +goose Up
-- A message's recipients are no longer checked unique by the database
-- (the PostgreSQL migration of the same number says why). SQLite drops a
-- table constraint by rebuilding the table: its rows are copied aside and
-- put back under the same ids, and the id sequence is kept, so that no id
-- is ever given twice. The view delivery_states reads the new table by
-- its name. References to messages are checked at commit. It takes about
-- 5 s a million deliveries (4.7 s measured; PostgreSQL's 0.12 s): the
-- start says it is migrating first (store.MigrateLogged).
PRAGMA defer_foreign_keys = ON;
CREATE TEMP TABLE deliveries_aside AS SELECT * FROM deliveries;
CREATE TEMP TABLE deliveries_sequence AS SELECT seq FROM sqlite_sequence WHERE name = 'deliveries';
DROP TABLE deliveries;
CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id      BIGINT NOT NULL REFERENCES messages (id),
    email           TEXT NOT NULL,
    name            TEXT NOT NULL DEFAULT '',
    time_zone       TEXT NOT NULL DEFAULT '',
    via_group       TEXT NOT NULL DEFAULT '',
    state           TEXT NOT NULL,                      -- queued | sending | sent | deferred | failed | skipped
    lease_until     TIMESTAMP,                          -- while sending: another worker may take it over after this
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    next_attempt_at TIMESTAMP,
    sent_at         TIMESTAMP,
    language        TEXT NOT NULL DEFAULT '',
    unsubscribe     TEXT NOT NULL DEFAULT '',
    follows         TEXT NOT NULL DEFAULT '',
    failed_at       TIMESTAMP,
    bounced_at      TIMESTAMP
);
INSERT INTO deliveries (id, message_id, email, name, time_zone, via_group, state, lease_until, attempts, last_error,
    next_attempt_at, sent_at, language, unsubscribe, follows, failed_at, bounced_at)
SELECT id, message_id, email, name, time_zone, via_group, state, lease_until, attempts, last_error,
    next_attempt_at, sent_at, language, unsubscribe, follows, failed_at, bounced_at FROM deliveries_aside;
DELETE FROM sqlite_sequence WHERE name = 'deliveries';
INSERT INTO sqlite_sequence (name, seq) SELECT 'deliveries', seq FROM deliveries_sequence;
CREATE INDEX deliveries_by_message ON deliveries (message_id, id);
DROP TABLE deliveries_aside;
DROP TABLE deliveries_sequence;

-- +goose Down
CREATE UNIQUE INDEX deliveries_message_id_email ON deliveries (message_id, email);
