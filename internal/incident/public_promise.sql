-- The public promise (status_page.public): the next public update an
-- update with public wording promised customers, kept apart from the
-- stakeholders' promise (next_update_at, queries.sql) with a stage of its
-- own, so that the two never move each other.

-- name: record-public-update
-- A public update makes the next public promise; its reminders start over.
UPDATE incidents SET public_next_update_at = $1, public_promise_stage = 0 WHERE id = $2;

-- name: end-public-promise
-- Resolving ends the public promise: customers were told it is over.
UPDATE incidents SET public_next_update_at = NULL, public_promise_stage = 0 WHERE id = $1;

-- name: public-promise
SELECT public_next_update_at, public_promise_stage FROM incidents WHERE id = $1;

-- name: public-promises-due
SELECT id, public_next_update_at, public_promise_stage FROM incidents
WHERE state IN ('investigating', 'identified', 'monitoring') AND public_next_update_at IS NOT NULL
  AND public_next_update_at <= $1 AND public_promise_stage < 3 ORDER BY public_next_update_at, id;

-- name: advance-public-promise-stage
-- Exactly one caller wins a stage, on any number of replicas.
UPDATE incidents SET public_promise_stage = $1
WHERE id = $2 AND public_next_update_at = $3 AND public_promise_stage < $1;

-- name: public-wording
-- The status updates of an incident (their data says whether each had
-- public wording): has it ever been told to customers?
SELECT data FROM timeline_events WHERE incident_id = $1 AND kind = 'update_queued' ORDER BY id;
