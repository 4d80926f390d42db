-- The subscriptions' statements: subscriptions and
-- subscription_confirmations are this package's tables, and only it names
-- them.

-- name: find
SELECT id, email, kind, target, confirmed, source, created_at FROM subscriptions
WHERE email = $1 AND kind = $2 AND target = $3;

-- name: insert
INSERT INTO subscriptions (email, kind, target, confirmed, source, actor, created_at, confirmed_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id;

-- name: confirm
UPDATE subscriptions SET confirmed = TRUE, confirmed_at = $1 WHERE id = $2 AND NOT confirmed;

-- name: get
SELECT id, email, kind, target, confirmed, source, created_at FROM subscriptions WHERE id = $1;

-- name: list
SELECT id, email, kind, target, confirmed, source, created_at FROM subscriptions
WHERE ($1 = '' OR email = $1) ORDER BY email, kind, target, id LIMIT 5000;

-- name: delete
DELETE FROM subscriptions WHERE id = $1;

-- name: followers
-- The confirmed subscriptions that may follow one incident: to all, to it,
-- or to a system (the caller keeps those of its systems).
SELECT id, email, kind, target FROM subscriptions
WHERE confirmed AND (kind = 'all' OR (kind = 'incident' AND target = $1) OR kind = 'system')
ORDER BY email, id;

-- name: insert-token
INSERT INTO subscription_confirmations (token_hash, purpose, email, subscription_ids, created_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6);

-- name: token
SELECT purpose, email, subscription_ids, expires_at, used_at FROM subscription_confirmations WHERE token_hash = $1;

-- name: spend-token
-- Single use: of two clicks at once, one sees its row updated.
UPDATE subscription_confirmations SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL;

-- name: recent-confirmations
-- Confirmation mails to one address since a time: the rate limit.
SELECT COUNT(*) FROM subscription_confirmations WHERE email = $1 AND purpose = 'confirm' AND created_at > $2;

-- name: public-followers
-- The customers who confirmed a public subscription (to every component,
-- or to one: the caller keeps those of the incident's systems): never the
-- internal followers, whom "followers" names.
SELECT id, email, kind, target FROM subscriptions WHERE confirmed AND kind IN ('public', 'component') ORDER BY email, id;

-- name: sweep-unconfirmed
-- Subscriptions whose double opt-in lapsed: never confirmed, older than a
-- confirmation link lives ($1), and with no link that still works ($2:
-- now). A confirmed subscription is never named here. A confirmation
-- link names its one subscription as "[id]" (store.JSON).
DELETE FROM subscriptions WHERE id IN (
    SELECT s.id FROM subscriptions s
    WHERE NOT s.confirmed AND s.created_at <= $1
      AND NOT EXISTS (SELECT 1 FROM subscription_confirmations c
          WHERE c.purpose = 'confirm' AND c.used_at IS NULL AND c.expires_at > $2
            AND c.subscription_ids = '[' || s.id || ']')
    ORDER BY s.id LIMIT $3);

-- name: sweep-confirm-links
-- Confirmation links past their expiry ($1: now), once the day the rate
-- limit counts them in is over too ($2: now less 24 hours).
DELETE FROM subscription_confirmations WHERE token_hash IN (
    SELECT token_hash FROM subscription_confirmations
    WHERE purpose = 'confirm' AND expires_at <= $1 AND created_at < $2 LIMIT $3);

-- name: sweep-unsubscribe-links
-- Unsubscribe links spent before $1, or expired before $2.
DELETE FROM subscription_confirmations WHERE token_hash IN (
    SELECT token_hash FROM subscription_confirmations
    WHERE purpose = 'unsubscribe' AND (used_at < $1 OR expires_at < $2) LIMIT $3);
