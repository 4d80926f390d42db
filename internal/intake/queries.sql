-- The intake's statements: intake_drafts and draft_reports are its tables,
-- and only it names them.

-- name: attach-alert
UPDATE intake_drafts SET fired = fired + 1, last_seen_at = $1, resolved_at = NULL,
    first_failure_at = CASE WHEN first_failure_at > $2 THEN $2 ELSE first_failure_at END
    WHERE open_key = $3 RETURNING id, suppressed;

-- name: unsuppress-draft
UPDATE intake_drafts SET suppressed = FALSE WHERE id = $1;

-- name: insert-draft
INSERT INTO intake_drafts (source, alert_key, open_key, title, systems, detail, url, severity,
    first_failure_at, received_at, last_seen_at, reply_token, maintenance, suppressed)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, $12, $13) RETURNING id;

-- name: recover-draft
UPDATE intake_drafts SET resolved_at = $1, last_seen_at = $2,
    open_key = CASE WHEN state = 'draft' THEN open_key ELSE NULL END
    WHERE open_key = $3 RETURNING id, state, incident_id;

-- name: declare-draft
UPDATE intake_drafts SET state = 'declared', incident_id = $1, decided_by = $2, decided_at = $3,
    open_key = CASE WHEN resolved_at IS NULL THEN open_key ELSE NULL END WHERE id = $4 AND state = 'draft';

-- name: dismiss-draft
UPDATE intake_drafts SET state = 'dismissed', decided_by = $1, decided_at = $2,
    detail = CASE WHEN $3 = '' THEN detail ELSE detail || $4 END,
    open_key = CASE WHEN resolved_at IS NULL THEN open_key ELSE NULL END WHERE id = $5 AND state = 'draft';

-- name: lock-draft
-- Changes nothing: it takes the row's lock (see AddReport).
UPDATE intake_drafts SET state = state WHERE id = $1 AND state = 'draft';

-- name: insert-draft-report
INSERT INTO draft_reports (draft_id, reporter_email, reporter_name, location, access, observed, channel, reported_at, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id;

-- name: draft-reports
SELECT id, reporter_email, reporter_name, location, access, observed, channel, reported_at
FROM draft_reports WHERE draft_id = $1 ORDER BY reported_at, id;

-- name: draft
SELECT id, source, alert_key, title, systems, detail, url, severity, first_failure_at, received_at, last_seen_at,
    fired, resolved_at, state, incident_id, decided_by, decided_at, reply_token, maintenance, suppressed
FROM intake_drafts WHERE id = $1;

-- name: draft-by-reply-token
SELECT id, source, alert_key, title, systems, detail, url, severity, first_failure_at, received_at, last_seen_at,
    fired, resolved_at, state, incident_id, decided_by, decided_at, reply_token, maintenance, suppressed
FROM intake_drafts WHERE reply_token = $1;

-- name: drafts
SELECT id, source, alert_key, title, systems, detail, url, severity, first_failure_at, received_at, last_seen_at,
    fired, resolved_at, state, incident_id, decided_by, decided_at, reply_token, maintenance, suppressed
FROM intake_drafts ORDER BY id DESC LIMIT $1;

-- name: drafts-in-state
SELECT id, source, alert_key, title, systems, detail, url, severity, first_failure_at, received_at, last_seen_at,
    fired, resolved_at, state, incident_id, decided_by, decided_at, reply_token, maintenance, suppressed
FROM intake_drafts WHERE state = $2 ORDER BY id DESC LIMIT $1;
