-- The auth statements: accounts, ui_sessions and api_tokens are its
-- tables, and only it names them.

-- name: insert-account
INSERT INTO accounts (email, name, role, password_hash, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6) RETURNING id;

-- name: credentials
SELECT id, email, name, role, created_at, updated_at, password_hash, disabled_at
FROM accounts WHERE email = $1;

-- name: count-live-accounts
SELECT COUNT(*) FROM accounts WHERE disabled_at IS NULL;

-- name: live-role
SELECT role FROM accounts WHERE id = $1 AND disabled_at IS NULL;

-- name: set-role
UPDATE accounts SET role = $1, updated_at = $2 WHERE id = $3;

-- name: set-password
UPDATE accounts SET password_hash = $1, updated_at = $2 WHERE id = $3 AND disabled_at IS NULL;

-- name: end-sessions-of-account
DELETE FROM ui_sessions WHERE account_id = $1;

-- name: role-and-disabled
SELECT role, disabled_at FROM accounts WHERE id = $1;

-- name: set-disabled
UPDATE accounts SET disabled_at = $1, updated_at = $2 WHERE id = $3;

-- name: insert-session
INSERT INTO ui_sessions (id_hash, account_id, csrf, created_at, last_seen_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6);

-- name: delete-expired-sessions
DELETE FROM ui_sessions WHERE expires_at < $1;

-- name: session
SELECT s.csrf, s.created_at, s.expires_at, a.id, a.email, a.name, a.role, a.created_at, a.updated_at
FROM ui_sessions s JOIN accounts a ON a.id = s.account_id
WHERE s.id_hash = $1 AND s.expires_at > $2 AND a.disabled_at IS NULL;

-- name: extend-session
UPDATE ui_sessions SET last_seen_at = $1, expires_at = $2 WHERE id_hash = $3;

-- name: delete-session
DELETE FROM ui_sessions WHERE id_hash = $1;

-- name: insert-token
INSERT INTO api_tokens (name, hash, role, created_at) VALUES ($1, $2, $3, $4) RETURNING id;

-- name: import-token
INSERT INTO api_tokens (name, hash, role, created_at) VALUES ($1, $2, $3, $4);

-- name: count-live-tokens
SELECT COUNT(*) FROM api_tokens WHERE revoked_at IS NULL;

-- name: token-by-hash
SELECT id, name, role FROM api_tokens WHERE hash = $1 AND revoked_at IS NULL;

-- name: touch-token
UPDATE api_tokens SET last_used_at = $1 WHERE id = $2;

-- name: live-tokens
SELECT id, name, role, created_at, last_used_at FROM api_tokens WHERE revoked_at IS NULL ORDER BY id;

-- name: revoke-token
UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL;

-- name: live-account
SELECT id, email, name, role, created_at, updated_at FROM accounts WHERE id = $1 AND disabled_at IS NULL;

-- name: account
SELECT id, email, name, role, created_at, updated_at FROM accounts WHERE id = $1;

-- name: live-accounts
SELECT id, email, name, role, created_at, updated_at FROM accounts WHERE disabled_at IS NULL ORDER BY email;

-- name: disabled-accounts
SELECT id, email, name, role, created_at, updated_at FROM accounts WHERE disabled_at IS NOT NULL ORDER BY email;

-- name: account-by-email
SELECT id, email, name, role, created_at, updated_at, disabled_at FROM accounts WHERE email = $1;

-- name: live-admins
SELECT id FROM accounts WHERE role = 'admin' AND disabled_at IS NULL;

-- name: live-admins (postgres)
-- Locks the admins' rows for the "last admin" rule (see liveAdmins);
-- SQLite runs one writing transaction at a time anyway.
SELECT id FROM accounts WHERE role = 'admin' AND disabled_at IS NULL FOR UPDATE;
