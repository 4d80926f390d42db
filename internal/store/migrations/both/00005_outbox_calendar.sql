-- +goose Up
-- iMIP invitations (RFC 6047): the iCalendar object travels with the message.
ALTER TABLE messages ADD COLUMN ics TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN ics_method TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE messages DROP COLUMN ics_method;
ALTER TABLE messages DROP COLUMN ics;
