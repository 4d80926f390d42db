-- +goose Up
-- The chat mirror's ordered queue: one row per timeline event and target,
-- written by the sweep in the transaction that moves the target's cursor,
-- and drained oldest first by one job per target. A row is posted once:
-- it is 'sending' (committed) before the call, and an unanswered call
-- leaves it 'sending' for the next drain to resolve, never to repost
-- blindly. state: pending | sending | posted | unknown | refused.
CREATE TABLE chat_posts (
    target      TEXT    NOT NULL,
    event_id    BIGINT  NOT NULL,
    incident_id BIGINT  NOT NULL,
    state       TEXT    NOT NULL DEFAULT 'pending',
    attempts    INTEGER NOT NULL DEFAULT 0,
    -- claim counts the takes of the row: a drainer changes the row only
    -- while its claim is still the row's, on any number of replicas.
    claim       INTEGER NOT NULL DEFAULT 0,
    lease_until TIMESTAMP,
    last_error  TEXT    NOT NULL DEFAULT '',
    ref         TEXT    NOT NULL DEFAULT '',
    posted_at   TIMESTAMP,
    PRIMARY KEY (target, event_id)
);
-- The drain's question: a target's oldest row not yet done.
CREATE INDEX chat_posts_open ON chat_posts (target, event_id) WHERE state IN ('pending', 'sending');

-- The incident's thread at each target (a Slack parent message's ts),
-- from the first post that reported one.
CREATE TABLE chat_threads (
    target      TEXT   NOT NULL,
    incident_id BIGINT NOT NULL,
    thread      TEXT   NOT NULL,
    PRIMARY KEY (target, incident_id)
);

-- +goose Down
DROP TABLE chat_threads;
DROP TABLE chat_posts;
