-- +goose Up
-- Stakeholders' questions on their way to the comms lead. Questions that
-- arrive close together go out as one email: the first at once, the rest
-- collected until the window after the last email has passed. A question
-- is stored in the transaction that files its reply, so none is lost
-- between the two; sent_at is set in the transaction that queues the
-- email that carries it, so none is sent twice.
CREATE TABLE lead_questions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id BIGINT NOT NULL REFERENCES incidents (id),
    inbound_id  BIGINT NOT NULL UNIQUE,
    sender      TEXT NOT NULL,          -- "Jane Doe <jane@example.com>"
    audience    TEXT NOT NULL DEFAULT '',
    subject     TEXT NOT NULL DEFAULT '',
    question    TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL,
    sent_at     TIMESTAMP
);
CREATE INDEX lead_questions_pending ON lead_questions (incident_id, sent_at);

-- +goose Down
DROP TABLE lead_questions;
