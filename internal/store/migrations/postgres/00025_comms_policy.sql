-- +goose Up
-- The communication policy and the audit record (issue 21).

-- How far the reminders of an incident's first status update went
-- (internal/incident): 0 none, 1 the comms lead reminded before the
-- policy's first_update_within, 2 the escalation after it. Incidents
-- declared before the policy existed count as done, so that an upgrade
-- sends no reminder about a first update nobody had promised.
ALTER TABLE incidents ADD COLUMN first_update_stage INTEGER NOT NULL DEFAULT 0;
UPDATE incidents SET first_update_stage = 2;

-- A stakeholder's question (internal/reply) is answered when a lead says
-- so (the incident page, the API, the CLI, or an update sent as the
-- answer to the open questions); reminded_at is set in the transaction
-- that queues its one reminder to the comms lead. Questions stored before
-- the policy count as reminded.
ALTER TABLE lead_questions ADD COLUMN answered_at TIMESTAMPTZ;
ALTER TABLE lead_questions ADD COLUMN answered_by TEXT NOT NULL DEFAULT '';
ALTER TABLE lead_questions ADD COLUMN reminded_at TIMESTAMPTZ;
UPDATE lead_questions SET reminded_at = received_at;
CREATE INDEX lead_questions_waiting ON lead_questions (incident_id, answered_at, reminded_at);

-- When a delivery failed for good (internal/outbox): refused by the
-- receiving server, retries spent, or a bounce that proved it; bounced_at
-- says it was a bounce, after the server had accepted the message. The
-- audit record shows both.
ALTER TABLE deliveries ADD COLUMN failed_at TIMESTAMPTZ;
ALTER TABLE deliveries ADD COLUMN bounced_at TIMESTAMPTZ;

-- +goose Down
ALTER TABLE deliveries DROP COLUMN bounced_at;
ALTER TABLE deliveries DROP COLUMN failed_at;
DROP INDEX lead_questions_waiting;
ALTER TABLE lead_questions DROP COLUMN reminded_at;
ALTER TABLE lead_questions DROP COLUMN answered_by;
ALTER TABLE lead_questions DROP COLUMN answered_at;
ALTER TABLE incidents DROP COLUMN first_update_stage;
