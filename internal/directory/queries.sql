-- The directory's statements: people, dir_groups, escalations and
-- directory_meta are its tables, and only it names them.

-- name: delete-meta
DELETE FROM directory_meta WHERE key = $1;

-- name: insert-meta
INSERT INTO directory_meta (key, value) VALUES ($1, $2);

-- name: people
SELECT email, name, time_zone, language, roles, handles, team, source, github FROM people ORDER BY email;

-- name: groups
SELECT name, display_name, description, time_zone, language, members, nested, source FROM dir_groups ORDER BY name;

-- name: escalations
SELECT system, team, responders, backup, source, notify FROM escalations ORDER BY system;

-- name: people-from
SELECT email, name, time_zone, language, roles, handles, team, source, github FROM people WHERE source = $1 ORDER BY email;

-- name: groups-from
SELECT name, display_name, description, time_zone, language, members, nested, source FROM dir_groups WHERE source = $1 ORDER BY name;

-- name: escalations-from
SELECT system, team, responders, backup, source, notify FROM escalations WHERE source = $1 ORDER BY system;

-- name: meta
SELECT key, value FROM directory_meta;

-- name: delete-person
DELETE FROM people WHERE email = $1;

-- name: insert-person
INSERT INTO people (email, name, time_zone, language, roles, handles, team, source, github) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9);

-- name: insert-people
-- Followed by one "(...)" of 9 parameters per person: a chunk per statement.
INSERT INTO people (email, name, time_zone, language, roles, handles, team, source, github) VALUES

-- name: delete-group
DELETE FROM dir_groups WHERE name = $1;

-- name: insert-group
INSERT INTO dir_groups (name, display_name, description, time_zone, language, members, nested, source) VALUES ($1, $2, $3, $4, $5, $6, $7, $8);

-- name: delete-escalation
DELETE FROM escalations WHERE system = $1;

-- name: insert-escalation
INSERT INTO escalations (system, team, responders, backup, source, notify) VALUES ($1, $2, $3, $4, $5, $6);

-- name: clear-file-people
-- A directory file's sync first removes what the previous file put.
DELETE FROM people WHERE source = $1;

-- name: clear-file-groups
DELETE FROM dir_groups WHERE source = $1;

-- name: clear-file-escalations
DELETE FROM escalations WHERE source = $1;
