-- The chat mirror's statements: chat_cursors, chat_posts and chat_threads
-- are its tables, and only it names them.

-- name: start-cursor
-- A new target starts at the newest event: it gets what happens from now on.
INSERT INTO chat_cursors (target, last_event_id) VALUES ($1, $2) ON CONFLICT (target) DO NOTHING;

-- name: cursor
SELECT last_event_id FROM chat_cursors WHERE target = $1;

-- name: advance-cursor
-- Only from the cursor this sweep read: if another replica moved it
-- first, this one posts nothing.
UPDATE chat_cursors SET last_event_id = $1 WHERE target = $2 AND last_event_id = $3;

-- name: queue-post
-- A row per event and target; a second sweep of the same event (there is
-- none while the cursor moves by compare-and-set) changes nothing.
INSERT INTO chat_posts (target, event_id, incident_id) VALUES ($1, $2, $3)
ON CONFLICT (target, event_id) DO NOTHING;

-- name: open-targets
-- The targets with rows not yet done, so that each has a drain job.
SELECT DISTINCT target FROM chat_posts WHERE state IN ('pending', 'sending');

-- name: oldest-open
-- The one row a target's drain may work on: nothing later goes first.
SELECT event_id, incident_id, state, attempts, claim, lease_until
FROM chat_posts WHERE target = $1 AND state IN ('pending', 'sending')
ORDER BY event_id LIMIT 1;

-- name: claim
-- Taken only by whoever read the row's current claim: of two replicas,
-- one changes the row and the other sees no row changed.
UPDATE chat_posts SET state = 'sending', claim = claim + 1, lease_until = $1, attempts = attempts + $2
WHERE target = $3 AND event_id = $4 AND claim = $5 AND state IN ('pending', 'sending');

-- name: settle
-- The outcome of a claimed row: posted, unknown, refused, or pending again.
UPDATE chat_posts SET state = $1, last_error = $2, ref = $3, posted_at = $4, lease_until = $5
WHERE target = $6 AND event_id = $7 AND claim = $8;

-- name: post-state
SELECT state, attempts, last_error, ref FROM chat_posts WHERE target = $1 AND event_id = $2;

-- name: thread
SELECT thread FROM chat_threads WHERE target = $1 AND incident_id = $2;

-- name: keep-thread
-- The first thread reported wins: later posts went into it.
INSERT INTO chat_threads (target, incident_id, thread) VALUES ($1, $2, $3)
ON CONFLICT (target, incident_id) DO NOTHING;
