-- +goose Up
-- The outgoing rate limit (mail.smtp.rate_per_second) is the mail
-- account's, not one replica's: its token bucket lives here, shared by
-- every replica on the database (internal/outbox/ratelimit.go). at_ns is
-- when available was last computed, in Unix nanoseconds.
CREATE TABLE smtp_rate (
    name      TEXT PRIMARY KEY,
    available REAL NOT NULL,
    at_ns     BIGINT NOT NULL
);

-- +goose Down
DROP TABLE smtp_rate;
