-- The incident's statements: incidents, timeline_events and reports are
-- its tables, and only it names them.

-- name: count-events-of-kind
SELECT COUNT(*) FROM timeline_events WHERE incident_id = $1 AND kind = $2;

-- name: promise-gauges
SELECT id, severity, updates_promised, updates_on_time,
    CASE WHEN next_update_at IS NOT NULL AND next_update_at < $1 THEN 1 ELSE 0 END
FROM incidents WHERE state IN ('investigating', 'identified', 'monitoring');

-- name: insert-report
INSERT INTO reports (incident_id, reporter_email, reporter_name, location, access, observed, channel, reported_at, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id;

-- name: reports
SELECT id, reporter_email, reporter_name, location, access, observed, channel, reported_at
FROM reports WHERE incident_id = $1 ORDER BY reported_at, id;

-- name: record-resolution
UPDATE incidents SET root_cause = $1, fix = $2, impact = $3, root_cause_unknown = $4,
    writeup_due_at = $5, writeup_stage = 0, rca_reminded_at = $6 WHERE id = $7;

-- name: impact
SELECT impact, root_cause_unknown FROM incidents WHERE id = $1;

-- name: write-ups-due
SELECT id, writeup_due_at, writeup_stage FROM incidents
WHERE writeup_due_at IS NOT NULL AND writeup_stage < 2 AND writeup_due_at <= $1;

-- name: advance-write-up-stage
-- Exactly one caller wins a stage, on any number of replicas.
UPDATE incidents SET writeup_stage = $1 WHERE id = $2 AND writeup_stage < $1;

-- name: unknown-root-causes
SELECT id FROM incidents WHERE root_cause_unknown AND state = 'monitoring'
AND (rca_reminded_at IS NULL OR rca_reminded_at <= $1);

-- name: mark-root-cause-reminded
UPDATE incidents SET rca_reminded_at = $1 WHERE id = $2 AND (rca_reminded_at IS NULL OR rca_reminded_at <= $3);

-- name: reporters
-- MIN() of a timestamp is text on SQLite: read with aggregateTime.
SELECT reporter_email, reporter_name, MIN(reported_at) FROM reports WHERE incident_id = $1
GROUP BY reporter_email, reporter_name ORDER BY reporter_email;

-- name: events
SELECT id, at, kind, actor, text, data FROM timeline_events WHERE incident_id = $1 ORDER BY id;

-- name: insert-incident
INSERT INTO incidents (title, severity, state, detected_via, detection_detail, verified, verification_detail,
    extent, segments, systems, teams, first_failure_at, detected_at, declared_at, incident_lead, comms_lead,
    facilitator, reply_token, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
RETURNING id;

-- name: transition
UPDATE incidents SET state = $1, resolved_at = $2, next_update_at = $3, promise_stage = 0,
    version = version + 1, updated_at = $4 WHERE id = $5 AND version = $6;

-- name: patch
UPDATE incidents SET title = $1, severity = $2, detected_via = $3, detection_detail = $4,
    verified = $5, verification_detail = $6, extent = $7, segments = $8, systems = $9, teams = $10, incident_lead = $11,
    comms_lead = $12, facilitator = $13, first_failure_at = $14, version = version + 1, updated_at = $15
    WHERE id = $16 AND version = $17;

-- name: record-update-sent
-- The update kept the previous promise if it went out by then.
UPDATE incidents SET
    updates_promised = updates_promised + CASE WHEN next_update_at IS NULL THEN 0 ELSE 1 END,
    updates_on_time = updates_on_time + CASE WHEN next_update_at IS NOT NULL AND next_update_at >= $1 THEN 1 ELSE 0 END,
    next_update_at = $2, promise_stage = 0, version = version + 1, updated_at = $1
    WHERE id = $3;

-- name: advance-promise-stage
-- Exactly one caller wins a stage, on any number of replicas.
UPDATE incidents SET promise_stage = $1 WHERE id = $2 AND next_update_at = $3 AND promise_stage < $1;

-- name: add-event
INSERT INTO timeline_events (incident_id, at, kind, actor, text, data)
VALUES ($1, $2, $3, $4, $5, $6) RETURNING id;

-- name: timeline
SELECT id, at, kind, actor, text, data FROM timeline_events WHERE incident_id = $1 ORDER BY id;

-- name: actors
-- Those who worked on the incident: not stakeholders who asked by reply,
-- reporters, or people answering "is it fixed for you?".
SELECT DISTINCT actor FROM timeline_events
WHERE incident_id = $1 AND kind NOT IN ('reply_received', 'report', 'confirmation') ORDER BY actor;

-- name: get-incident
SELECT id, title, severity, state, detected_via, detection_detail, verified, verification_detail,
    extent, segments, systems, teams, first_failure_at, detected_at, declared_at, resolved_at, incident_lead,
    comms_lead, facilitator, next_update_at, updates_promised, updates_on_time, promise_stage, root_cause, fix,
    reply_token, version, updated_at
FROM incidents WHERE id = $1;

-- name: incident-by-reply-token
SELECT id, title, severity, state, detected_via, detection_detail, verified, verification_detail,
    extent, segments, systems, teams, first_failure_at, detected_at, declared_at, resolved_at, incident_lead,
    comms_lead, facilitator, next_update_at, updates_promised, updates_on_time, promise_stage, root_cause, fix,
    reply_token, version, updated_at
FROM incidents WHERE reply_token = $1;

-- name: list-incidents
-- Active ones first, newest first within each.
SELECT id, title, severity, state, detected_via, detection_detail, verified, verification_detail,
    extent, segments, systems, teams, first_failure_at, detected_at, declared_at, resolved_at, incident_lead,
    comms_lead, facilitator, next_update_at, updates_promised, updates_on_time, promise_stage, root_cause, fix,
    reply_token, version, updated_at
FROM incidents
ORDER BY CASE WHEN state IN ('investigating', 'identified', 'monitoring') THEN 0 ELSE 1 END, id DESC LIMIT $1;

-- name: list-active-incidents
SELECT id, title, severity, state, detected_via, detection_detail, verified, verification_detail,
    extent, segments, systems, teams, first_failure_at, detected_at, declared_at, resolved_at, incident_lead,
    comms_lead, facilitator, next_update_at, updates_promised, updates_on_time, promise_stage, root_cause, fix,
    reply_token, version, updated_at
FROM incidents WHERE state IN ('investigating', 'identified', 'monitoring')
ORDER BY id DESC LIMIT $1;

-- name: promises-due
SELECT id, title, severity, state, detected_via, detection_detail, verified, verification_detail,
    extent, segments, systems, teams, first_failure_at, detected_at, declared_at, resolved_at, incident_lead,
    comms_lead, facilitator, next_update_at, updates_promised, updates_on_time, promise_stage, root_cause, fix,
    reply_token, version, updated_at
FROM incidents
WHERE state IN ('investigating', 'identified', 'monitoring') AND next_update_at IS NOT NULL
  AND next_update_at <= $1 AND promise_stage < 3 ORDER BY next_update_at;

-- name: newest-event-id
SELECT COALESCE(MAX(id), 0) FROM timeline_events;

-- name: events-after
-- The whole timeline, every incident's, by id: for readers that follow it.
SELECT id, incident_id, at, kind, actor, text, data FROM timeline_events WHERE id > $1 ORDER BY id LIMIT $2;

-- name: event-by-id
SELECT id, incident_id, at, kind, actor, text, data FROM timeline_events WHERE id = $1;

-- name: first-updates-waiting
-- Active incidents that have had no status update and whose first-update
-- reminders are not all out (policy_check.go).
SELECT id, first_update_stage FROM incidents i
WHERE state IN ('investigating', 'identified', 'monitoring') AND first_update_stage < 2
  AND NOT EXISTS (SELECT 1 FROM timeline_events e WHERE e.incident_id = i.id AND e.kind = $1)
ORDER BY id;

-- name: advance-first-update-stage
-- Exactly one caller wins a stage, on any number of replicas, and none
-- once an update has gone out.
UPDATE incidents SET first_update_stage = $1
WHERE id = $2 AND first_update_stage < $1
  AND NOT EXISTS (SELECT 1 FROM timeline_events e WHERE e.incident_id = incidents.id AND e.kind = $3);
-- name: incidents-declared-between
-- The incidents of a report across incidents: declared in [$1, $2).
SELECT id, title, severity, state, detected_via, detection_detail, verified, verification_detail,
    extent, segments, systems, teams, first_failure_at, detected_at, declared_at, resolved_at, incident_lead,
    comms_lead, facilitator, next_update_at, updates_promised, updates_on_time, promise_stage, root_cause, fix,
    reply_token, version, updated_at
FROM incidents WHERE declared_at >= $1 AND declared_at < $2 ORDER BY declared_at, id;
