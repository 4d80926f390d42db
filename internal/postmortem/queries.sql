-- The post-mortem's statements: postmortems, postmortem_attendees,
-- postmortem_issues and improvements are its tables, and only it names them.

-- name: insert-issue
INSERT INTO postmortem_issues (incident_id, text, findings, actor, created_at)
VALUES ($1, $2, $3, $4, $5) RETURNING id;

-- name: insert-improvement
INSERT INTO improvements (incident_id, issue_id, text, owner, due_on, actor, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id;

-- name: incident-of-improvement
SELECT incident_id FROM improvements WHERE id = $1;

-- name: issues
SELECT id, text, findings, actor, created_at FROM postmortem_issues WHERE incident_id = $1 ORDER BY id;

-- name: mark-published
UPDATE postmortems SET published_at = $1, updated_at = $1 WHERE id = $2;

-- name: improvements-to-remind
SELECT id, incident_id, text, owner, due_on, issue_id, reminded_before_at IS NOT NULL, reminded_overdue_at IS NOT NULL
FROM improvements WHERE state = 'open' AND owner <> '' AND due_on <> '' AND due_on <= $1 AND reminded_overdue_at IS NULL ORDER BY id;

-- name: issue-text
SELECT text FROM postmortem_issues WHERE id = $1;

-- name: insert-postmortem
INSERT INTO postmortems (incident_id, uid, state, facilitator, remote, video_link, backend, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id;

-- name: set-attendee-optional
UPDATE postmortem_attendees SET optional = $1 WHERE postmortem_id = $2 AND email = $3;

-- name: delete-attendee
DELETE FROM postmortem_attendees WHERE postmortem_id = $1 AND email = $2;

-- name: save-proposals
UPDATE postmortems SET proposals = $1, warnings = $2, remote = $3, updated_at = $4 WHERE id = $5;

-- name: record-rsvp
UPDATE postmortem_attendees SET partstat = $1, replied_at = $2 WHERE postmortem_id = $3 AND email = $4;

-- name: claim-timeline
UPDATE postmortems SET timeline_sent_at = $1 WHERE id = $2 AND timeline_sent_at IS NULL;

-- name: timelines-due
SELECT incident_id FROM postmortems WHERE state = $1 AND timeline_sent_at IS NULL
    AND start_at IS NOT NULL AND start_at <= $2 AND start_at > $3;

-- name: set-booking-error
UPDATE postmortems SET booking_error = $1 WHERE id = $2;

-- name: attendees
SELECT email, name, time_zone, optional, source, partstat, replied_at
FROM postmortem_attendees WHERE postmortem_id = $1 ORDER BY optional, email;

-- name: insert-attendee
INSERT INTO postmortem_attendees (postmortem_id, email, name, time_zone, optional, source, partstat)
VALUES ($1, $2, $3, $4, $5, $6, $7);

-- name: save-schedule
UPDATE postmortems SET uid = $1, generation = $2, state = $3, pending_op = $4, sequence = $5,
    start_at = $6, end_at = $7, room = $8, remote = $9, video_link = $10, backend = $11, booking = $12, booking_error = $13,
    booked_at = $14, facilitator = $15, updated_at = $16 WHERE id = $17;

-- name: postmortem-of-incident
SELECT id, incident_id, uid, generation, state, pending_op, sequence, facilitator, start_at, end_at, room, remote,
    video_link, backend, booking, booking_error, proposals, warnings, booked_at, timeline_sent_at, published_at
FROM postmortems WHERE incident_id = $1;

-- name: postmortem-by-id
SELECT id, incident_id, uid, generation, state, pending_op, sequence, facilitator, start_at, end_at, room, remote,
    video_link, backend, booking, booking_error, proposals, warnings, booked_at, timeline_sent_at, published_at
FROM postmortems WHERE id = $1;

-- name: postmortem-by-uid
SELECT id, incident_id, uid, generation, state, pending_op, sequence, facilitator, start_at, end_at, room, remote,
    video_link, backend, booking, booking_error, proposals, warnings, booked_at, timeline_sent_at, published_at
FROM postmortems WHERE uid = $1;

-- name: number-issue
SELECT COUNT(*) FROM postmortem_issues WHERE incident_id = $1 AND id <= $2;

-- name: number-improvement
SELECT COUNT(*) FROM improvements WHERE incident_id = $1 AND id <= $2;

-- name: improvements
-- Followed by the filter's conditions and the ORDER BY, added in Go: four
-- optional filters would be sixteen statements.
SELECT m.id, m.incident_id, m.text, m.owner, m.due_on, m.issue_id, COALESCE(i.text, ''), m.state, m.created_at,
    m.reminded_before_at, m.reminded_overdue_at, m.tracker_url, m.tracker_ref, m.tracker_problem
FROM improvements m LEFT JOIN postmortem_issues i ON i.id = m.issue_id WHERE 1 = 1;

-- name: set-improvement-owner
UPDATE improvements SET owner = $1 WHERE id = $2;

-- name: set-improvement-due
-- A new due date re-arms the reminders.
UPDATE improvements SET due_on = $1, reminded_before_at = NULL, reminded_overdue_at = NULL WHERE id = $2;

-- name: set-improvement-state
UPDATE improvements SET state = $1 WHERE id = $2;

-- name: claim-reminder-before
UPDATE improvements SET reminded_before_at = $1 WHERE id = $2 AND reminded_before_at IS NULL;

-- name: claim-reminder-overdue
-- An overdue reminder also closes the "before" stage: no late "due soon".
UPDATE improvements SET reminded_overdue_at = $1, reminded_before_at = COALESCE(reminded_before_at, $1) WHERE id = $2 AND reminded_overdue_at IS NULL;

-- name: responses-to-read
-- Booked post-mortems whose meeting has not ended, or ended less than $2
-- ago, booked through the backend $1, and not read since $3.
SELECT id FROM postmortems WHERE state = 'booked' AND backend = $1 AND booking <> ''
    AND end_at IS NOT NULL AND end_at > $2
    AND (responses_read_at IS NULL OR responses_read_at <= $3)
ORDER BY start_at, id;

-- name: claim-responses
-- One replica reads a post-mortem's answers per interval.
UPDATE postmortems SET responses_read_at = $1 WHERE id = $2
    AND (responses_read_at IS NULL OR responses_read_at <= $3);

-- name: set-improvement-tracker
UPDATE improvements SET tracker_url = $1, tracker_ref = $2, tracker_problem = '' WHERE id = $3;

-- name: set-improvement-tracker-problem
UPDATE improvements SET tracker_problem = $1 WHERE id = $2;

-- name: set-improvement-state-from-tracker
-- Only a change: a repeated "closed" changes nothing and notes nothing.
UPDATE improvements SET state = $1 WHERE id = $2 AND state <> $1;

-- name: scheduled
-- Booked post-mortems that start in [$1, $2), soonest first: the status
-- page's calendar.
SELECT id, incident_id, uid, generation, state, pending_op, sequence, facilitator, start_at, end_at, room, remote,
    video_link, backend, booking, booking_error, proposals, warnings, booked_at, timeline_sent_at, published_at
FROM postmortems WHERE state = 'booked' AND start_at IS NOT NULL AND start_at >= $1 AND start_at < $2
ORDER BY start_at, id;
