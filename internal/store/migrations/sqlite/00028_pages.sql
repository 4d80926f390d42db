-- +goose Up
-- Planned maintenance re-announces a window that moved (internal/maintenance):
-- each notice keeps the window's times it told, so that a window whose
-- calendar event now says otherwise gets a "rescheduled" note once per
-- change. The notices told before this migration told the times the
-- change log holds now.
ALTER TABLE maintenance_notices ADD COLUMN start_at TIMESTAMP;
ALTER TABLE maintenance_notices ADD COLUMN end_at TIMESTAMP;
UPDATE maintenance_notices SET
    start_at = (SELECT c.started_at FROM changes c WHERE c.id = maintenance_notices.change_id),
    end_at = (SELECT c.ended_at FROM changes c WHERE c.id = maintenance_notices.change_id);

-- A maintenance window cancelled in its calendar (STATUS:CANCELLED, or
-- the event gone from it): when the change log first saw it so. A window
-- the calendar no longer has is first only missing (missing_since), and
-- cancelled once it stayed missing a few reads: one calendar read that
-- came back short does not cancel anything.
ALTER TABLE changes ADD COLUMN cancelled_at TIMESTAMP;
ALTER TABLE changes ADD COLUMN missing_since TIMESTAMP;

-- The sweep of double opt-ins never confirmed (internal/subscription):
-- the unconfirmed subscriptions by age, the links by purpose and expiry.
CREATE INDEX subscriptions_unconfirmed ON subscriptions (created_at) WHERE NOT confirmed;
CREATE INDEX subscription_confirmations_expiry ON subscription_confirmations (purpose, expires_at);

-- +goose Down
DROP INDEX subscription_confirmations_expiry;
DROP INDEX subscriptions_unconfirmed;
ALTER TABLE changes DROP COLUMN missing_since;
ALTER TABLE changes DROP COLUMN cancelled_at;
ALTER TABLE maintenance_notices DROP COLUMN end_at;
ALTER TABLE maintenance_notices DROP COLUMN start_at;
