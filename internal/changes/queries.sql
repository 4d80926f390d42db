-- The changes' statements: changes and incident_changes are its tables,
-- and only it names them.

-- name: record-change
INSERT INTO changes (source, external_id, kind, service, systems, version, environment,
    triggered_by, summary, details, url, started_at, ended_at, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
ON CONFLICT (source, external_id) DO NOTHING RETURNING id;

-- name: upsert-maintenance
INSERT INTO changes (source, external_id, kind, service, systems, version, environment,
    triggered_by, summary, details, url, started_at, ended_at, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
ON CONFLICT (source, external_id) DO UPDATE SET systems = excluded.systems, summary = excluded.summary,
    details = excluded.details, url = excluded.url, started_at = excluded.started_at, ended_at = excluded.ended_at,
    missing_since = NULL;

-- name: rekey-maintenance
-- A calendar window stored under an older key ($2: "UID/<start>", as one
-- event was keyed before occurrences were told apart) takes its key now
-- ($3: "UID"), unless a window has that key already.
UPDATE changes SET external_id = $3
WHERE source = $1 AND external_id = $2 AND kind = 'maintenance'
  AND NOT EXISTS (SELECT 1 FROM changes o WHERE o.source = $1 AND o.external_id = $3);

-- name: cancel-maintenance
-- A window its calendar cancelled: the first time only, and not once it
-- is over ($3: now): what took place is not undone by a later edit.
UPDATE changes SET cancelled_at = $3
WHERE source = $1 AND external_id = $2 AND kind = 'maintenance' AND cancelled_at IS NULL
  AND COALESCE(ended_at, started_at) > $3;

-- name: maintenance-missing
-- A window its calendar no longer has at its time: since when (the first
-- read that missed it).
UPDATE changes SET missing_since = COALESCE(missing_since, $2) WHERE id = $1 AND cancelled_at IS NULL;

-- name: maintenance-to-check
-- The calendars' windows not cancelled and not over ($1: now) that start
-- by $2, with their keys: a read of the calendars that did not find one
-- at its time looks it up.
SELECT c.id, c.source, c.external_id, c.missing_since FROM changes c
WHERE c.kind = 'maintenance' AND c.source <> 'sitrep' AND c.cancelled_at IS NULL
  AND c.started_at <= $2 AND COALESCE(c.ended_at, c.started_at) > $1
ORDER BY c.started_at, c.id LIMIT 1000;

-- name: incident-change-state
SELECT state FROM incident_changes WHERE incident_id = $1 AND change_id = $2;

-- name: insert-incident-change
INSERT INTO incident_changes (incident_id, change_id, state, actor, marked_at) VALUES ($1, $2, $3, $4, $5);

-- name: update-incident-change
UPDATE incident_changes SET state = $1, actor = $2, marked_at = $3 WHERE incident_id = $4 AND change_id = $5;

-- name: change
SELECT c.id, c.source, c.external_id, c.kind, c.service, c.systems, c.version, c.environment,
    c.triggered_by, c.summary, c.details, c.url, c.started_at, c.ended_at, c.cancelled_at
FROM changes c WHERE c.id = $1;

-- name: change-by-key
SELECT c.id, c.source, c.external_id, c.kind, c.service, c.systems, c.version, c.environment,
    c.triggered_by, c.summary, c.details, c.url, c.started_at, c.ended_at, c.cancelled_at
FROM changes c WHERE c.source = $1 AND c.external_id = $2;

-- name: changes-between
SELECT c.id, c.source, c.external_id, c.kind, c.service, c.systems, c.version, c.environment,
    c.triggered_by, c.summary, c.details, c.url, c.started_at, c.ended_at, c.cancelled_at
FROM changes c
WHERE c.started_at >= $1 AND c.started_at <= $2 ORDER BY c.started_at DESC, c.id DESC LIMIT 1000;

-- name: changes-before-incident
-- A maintenance window that began before the look-back but was still
-- running inside it counts: the work was going on.
SELECT c.id, c.source, c.external_id, c.kind, c.service, c.systems, c.version, c.environment,
    c.triggered_by, c.summary, c.details, c.url, c.started_at, c.ended_at, c.cancelled_at, COALESCE(ic.state, '') FROM changes c
LEFT JOIN incident_changes ic ON ic.change_id = c.id AND ic.incident_id = $1
WHERE c.started_at <= $2 AND (c.started_at >= $3 OR (c.ended_at IS NOT NULL AND c.ended_at >= $3))
ORDER BY c.started_at DESC, c.id DESC LIMIT 500;

-- name: confirmed-causes
SELECT c.id, c.source, c.external_id, c.kind, c.service, c.systems, c.version, c.environment,
    c.triggered_by, c.summary, c.details, c.url, c.started_at, c.ended_at, c.cancelled_at
FROM changes c
JOIN incident_changes ic ON ic.change_id = c.id
WHERE ic.incident_id = $1 AND ic.state = $2 ORDER BY c.started_at, c.id;

-- name: maintenance-overlapping
-- Maintenance windows that overlap [$1, $2]; a window without an end
-- counts as its start only.
SELECT c.id, c.source, c.external_id, c.kind, c.service, c.systems, c.version, c.environment,
    c.triggered_by, c.summary, c.details, c.url, c.started_at, c.ended_at, c.cancelled_at
FROM changes c
WHERE c.kind = 'maintenance' AND c.started_at <= $2 AND COALESCE(c.ended_at, c.started_at) >= $1
ORDER BY c.started_at, c.id LIMIT 1000;
