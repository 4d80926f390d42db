-- +goose Up
-- A message is settled once none of its deliveries can change any more
-- (none queued, being sent or deferred). The outbox's sweep looks for due
-- deliveries only among unsettled messages, through this partial index,
-- instead of reading every delivery ever made at each check.
ALTER TABLE messages ADD COLUMN settled_at TIMESTAMPTZ;
UPDATE messages SET settled_at = created_at
WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = messages.id AND d.state IN ('queued', 'sending', 'deferred'));
CREATE INDEX messages_unsettled ON messages (id) WHERE settled_at IS NULL;

-- +goose Down
DROP INDEX messages_unsettled;
ALTER TABLE messages DROP COLUMN settled_at;
