-- +goose Up
-- People who follow incidents themselves (internal/subscription): every
-- incident (kind 'all', target ''), one system ('system', 'checkout') or one
-- incident ('incident', 'INC-42'). A row waiting for its double opt-in is
-- unconfirmed and receives nothing.
CREATE TABLE subscriptions (
    id           BIGSERIAL PRIMARY KEY,
    email        TEXT NOT NULL,
    kind         TEXT NOT NULL,
    target       TEXT NOT NULL DEFAULT '',
    confirmed    BOOLEAN NOT NULL DEFAULT FALSE,
    source       TEXT NOT NULL DEFAULT '',
    actor        TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL,
    confirmed_at TIMESTAMPTZ,
    UNIQUE (email, kind, target)
);
CREATE INDEX subscriptions_kind ON subscriptions (kind, target);

-- Single-use tokens, stored as SHA-256 hashes only: purpose 'confirm' (a
-- double opt-in link, short-lived) or 'unsubscribe' (one follower's link in
-- one email, naming the subscriptions that sent it that email). used_at
-- set: spent. The rows of an address also rate-limit confirmation mail.
CREATE TABLE subscription_confirmations (
    token_hash   TEXT PRIMARY KEY,
    purpose      TEXT NOT NULL,
    email        TEXT NOT NULL,
    subscription_ids TEXT NOT NULL DEFAULT '[]',
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    used_at      TIMESTAMPTZ
);
CREATE INDEX subscription_confirmations_email ON subscription_confirmations (email, purpose, created_at);

-- A follower's copy carries its own one-click unsubscribe link (RFC 8058),
-- so the outbox renders it for that recipient alone.
ALTER TABLE deliveries ADD COLUMN unsubscribe TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE deliveries DROP COLUMN unsubscribe;
DROP TABLE subscription_confirmations;
DROP TABLE subscriptions;
