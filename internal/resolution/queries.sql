-- The resolution's statements: confirmations and summaries are its
-- tables, and only it names them.

-- name: forget-confirmation
-- A reopened and re-resolved incident asks again.
DELETE FROM confirmations WHERE incident_id = $1 AND email = $2;

-- name: ask-confirmation
INSERT INTO confirmations (incident_id, email, name, state, asked_at) VALUES ($1, $2, $3, 'asked', $4);

-- name: confirmations
SELECT email, name, state, answer, asked_at, answered_at FROM confirmations WHERE incident_id = $1 ORDER BY email;

-- name: confirmer-name
SELECT name FROM confirmations WHERE incident_id = $1 AND email = $2;

-- name: answer-confirmation
UPDATE confirmations SET state = $1, answer = $2, answered_at = $3 WHERE incident_id = $4 AND email = $5;

-- name: archive-summary
INSERT INTO summaries (incident_id, markdown, html, findings, actor, sent_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id;

-- name: summaries
SELECT id, markdown, html, actor, sent_at FROM summaries WHERE incident_id = $1 ORDER BY id DESC;
