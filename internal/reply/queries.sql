-- The reply flow's statements: lead_questions is its table, and only it
-- names it.

-- name: insert-question
INSERT INTO lead_questions (incident_id, inbound_id, sender, audience, subject, question, received_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (inbound_id) DO NOTHING; -- a retried message: the first attempt stored it

-- name: last-questions-sent
-- (ORDER BY, not MAX: SQLite returns an aggregate of times as text.)
SELECT sent_at FROM lead_questions WHERE incident_id = $1 AND sent_at IS NOT NULL
ORDER BY sent_at DESC LIMIT 1;

-- name: claim-questions
-- Marks every waiting question of the incident as sent and returns them:
-- a concurrent claim waits on the rows and then finds them taken.
UPDATE lead_questions SET sent_at = $1 WHERE incident_id = $2 AND sent_at IS NULL
RETURNING sender, audience, subject, question, received_at;

-- name: incidents-with-waiting-questions
-- The communication policy's question reminders (answered.go).
SELECT DISTINCT incident_id FROM lead_questions
WHERE answered_at IS NULL AND reminded_at IS NULL AND received_at <= $1 ORDER BY incident_id;

-- name: waiting-questions
SELECT id, sender, audience, subject, question, received_at FROM lead_questions
WHERE incident_id = $1 AND answered_at IS NULL AND reminded_at IS NULL AND received_at <= $2
ORDER BY received_at, id;

-- name: claim-question-reminder
-- Exactly one caller reminds a question, on any number of replicas.
UPDATE lead_questions SET reminded_at = $1 WHERE id = $2 AND reminded_at IS NULL AND answered_at IS NULL;

-- name: answer-open-questions
-- An update that answers the open questions: their received times say
-- how long each waited (the time-to-answer histogram).
UPDATE lead_questions SET answered_at = $1, answered_by = $2 WHERE incident_id = $3 AND answered_at IS NULL
RETURNING received_at;

-- name: answer-question
UPDATE lead_questions SET answered_at = $1, answered_by = $2 WHERE incident_id = $3 AND id = $4 AND answered_at IS NULL;

-- name: questions-of-incident
-- Every question of an incident and what became of it: the one reading
-- of the policy's questions card and of the scorecard.
SELECT id, sender, audience, subject, question, received_at, sent_at, reminded_at, answered_at, answered_by
FROM lead_questions WHERE incident_id = $1 ORDER BY received_at, id;

-- name: question-of-incident
SELECT id, sender, audience, subject, question, received_at, sent_at, reminded_at, answered_at, answered_by
FROM lead_questions WHERE incident_id = $1 AND id = $2;
