-- +goose Up
-- A message carries its thread's name and reply token, so that the outbox
-- builds List-Id and Reply-To from its own rows and never reads the
-- incidents table (it knows nothing of incidents).
ALTER TABLE messages ADD COLUMN thread_ref TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN reply_token TEXT NOT NULL DEFAULT '';
UPDATE messages SET thread_ref = 'INC-' || incident_id,
    reply_token = COALESCE((SELECT i.reply_token FROM incidents i WHERE i.id = messages.incident_id), '')
WHERE incident_id IS NOT NULL;

-- An inbound message carries the name of what it was matched to, for the
-- same reason: the inbox shows it without reading incidents.
ALTER TABLE inbound_messages ADD COLUMN matched_ref TEXT NOT NULL DEFAULT '';
UPDATE inbound_messages SET matched_ref = 'INC-' || incident_id WHERE incident_id IS NOT NULL;

-- +goose Down
ALTER TABLE inbound_messages DROP COLUMN matched_ref;
ALTER TABLE messages DROP COLUMN reply_token;
ALTER TABLE messages DROP COLUMN thread_ref;
