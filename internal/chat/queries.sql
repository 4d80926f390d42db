-- The chat mirror's statements: chat_cursors is its table, and only it
-- names it.

-- name: start-cursor
-- A new target starts at the newest event: it gets what happens from now on.
INSERT INTO chat_cursors (target, last_event_id) VALUES ($1, $2) ON CONFLICT (target) DO NOTHING;

-- name: cursor
SELECT last_event_id FROM chat_cursors WHERE target = $1;

-- name: advance-cursor
-- Only from the cursor this sweep read: if another replica moved it
-- first, this one posts nothing.
UPDATE chat_cursors SET last_event_id = $1 WHERE target = $2 AND last_event_id = $3;
