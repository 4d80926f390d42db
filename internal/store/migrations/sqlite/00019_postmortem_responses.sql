-- +goose Up
-- When attendees' answers were last read back from the calendar (Google,
-- Microsoft 365 keep them; iMIP answers come by email): the poller claims
-- a post-mortem with it, so that replicas side by side ask the calendar
-- once per interval, not once each.
ALTER TABLE postmortems ADD COLUMN responses_read_at TIMESTAMP;

-- +goose Down
ALTER TABLE postmortems DROP COLUMN responses_read_at;
