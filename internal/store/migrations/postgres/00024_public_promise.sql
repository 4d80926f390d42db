-- +goose Up
-- The public promise (status_page.public): the next public update an update
-- with public wording promised customers, kept like next_update_at (the
-- internal promise) with a stage of its own: 0 none, 1 reminded, 2 due,
-- 3 overdue escalated. A new public update moves it; resolving ends it.
ALTER TABLE incidents ADD COLUMN public_next_update_at TIMESTAMPTZ;
ALTER TABLE incidents ADD COLUMN public_promise_stage INTEGER NOT NULL DEFAULT 0;

-- What a follower follows that sent them their copy (subscriptions: all,
-- a system, an incident, the public page or one of its components), as a
-- JSON list of {kind, target}: their copy's To: and last line name it.
-- '' on group members' rows and on rows queued before.
ALTER TABLE deliveries ADD COLUMN follows TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE deliveries DROP COLUMN follows;
ALTER TABLE incidents DROP COLUMN public_promise_stage;
ALTER TABLE incidents DROP COLUMN public_next_update_at;
