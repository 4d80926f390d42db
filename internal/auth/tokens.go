// Package auth holds who may do what: API tokens now, and the roles they
// carry. Tokens are stored as SHA-256 hashes; the plaintext is shown once.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// Role says what a principal may do.
type Role string

const (
	Admin  Role = "admin"  // everything, including the directory and tokens
	Lead   Role = "lead"   // incident lead or comms lead: declare, update, resolve
	Viewer Role = "viewer" // read only
)

// ParseRole validates a role name.
func ParseRole(s string) (Role, error) {
	switch Role(strings.ToLower(s)) {
	case Admin, Lead, Viewer:
		return Role(strings.ToLower(s)), nil
	}
	return "", errs.InvalidField("role", "unknown role %q (want admin, lead or viewer)", s)
}

// Allows reports whether r may act with the rights of need.
func (r Role) Allows(need Role) bool {
	rank := map[Role]int{Viewer: 1, Lead: 2, Admin: 3}
	return rank[r] >= rank[need] && rank[need] > 0
}

// Principal is who is calling.
type Principal struct {
	Name string `json:"name"` // token name or account email
	Role Role   `json:"role"`
}

// Token is a stored API token, without its secret.
type Token struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	Role       Role       `json:"role"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
}

// Tokens stores API tokens.
type Tokens struct {
	DB  *store.DB
	Now func() time.Time
}

const tokenPrefix = "sitrep_"

func hash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Create makes a token and returns its plaintext, which is not stored.
func (t *Tokens) Create(ctx context.Context, name string, role Role) (string, *Token, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return "", nil, errs.InvalidField("name", "want 1-100 characters")
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("auth: random: %w", err)
	}
	plain := tokenPrefix + hex.EncodeToString(b)
	now := time.Now().UTC()
	tok := &Token{Name: name, Role: role, CreatedAt: now}
	err := t.DB.QueryRowContext(ctx, queries.Get("insert-token"),
		name, hash(plain), role, now).Scan(&tok.ID)
	if err != nil {
		return "", nil, fmt.Errorf("auth: create token: %w", err)
	}
	return plain, tok, nil
}

// Import stores a token whose plaintext the operator chose (server.admin_token).
func (t *Tokens) Import(ctx context.Context, name, plain string, role Role) error {
	if len(plain) < 20 {
		return errs.InvalidField("server.admin_token", "must be at least 20 characters")
	}
	_, err := t.DB.ExecContext(ctx, queries.Get("import-token"),
		name, hash(plain), role, time.Now().UTC())
	if err != nil && !store.IsUniqueViolation(err) {
		return fmt.Errorf("auth: import token: %w", err)
	}
	return nil
}

// Count is the number of live tokens.
func (t *Tokens) Count(ctx context.Context) (int, error) {
	var n int
	err := t.DB.QueryRowContext(ctx, queries.Get("count-live-tokens")).Scan(&n)
	return n, err
}

// Verify returns the principal of a live token.
func (t *Tokens) Verify(ctx context.Context, plain string) (*Principal, error) {
	if !strings.HasPrefix(plain, tokenPrefix) && len(plain) < 20 {
		return nil, errs.E(errs.Unauthorized, "invalid token")
	}
	var p Principal
	var id int64
	err := t.DB.QueryRowContext(ctx, queries.Get("token-by-hash"), hash(plain)).Scan(&id, &p.Name, &p.Role)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.Unauthorized, "invalid or revoked token")
	}
	if err != nil {
		return nil, fmt.Errorf("auth: verify: %w", err)
	}
	// Best effort: a failure to note the use must not fail the request.
	_, _ = t.DB.ExecContext(ctx, queries.Get("touch-token"), time.Now().UTC(), id)
	return &p, nil
}

// List returns live tokens.
func (t *Tokens) List(ctx context.Context) ([]Token, error) {
	rows, err := t.DB.QueryContext(ctx, queries.Get("live-tokens"))
	if err != nil {
		return nil, fmt.Errorf("auth: list tokens: %w", err)
	}
	defer rows.Close()
	out := []Token{}
	for rows.Next() {
		var tok Token
		var last sql.NullTime
		if err := rows.Scan(&tok.ID, &tok.Name, &tok.Role, &tok.CreatedAt, &last); err != nil {
			return nil, fmt.Errorf("auth: list tokens: %w", err)
		}
		if last.Valid {
			tok.LastUsedAt = &last.Time
		}
		out = append(out, tok)
	}
	return out, rows.Err()
}

// Revoke ends a token.
func (t *Tokens) Revoke(ctx context.Context, id int64) error {
	res, err := t.DB.ExecContext(ctx, queries.Get("revoke-token"), time.Now().UTC(), id)
	if err != nil {
		return fmt.Errorf("auth: revoke: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.E(errs.NotFound, "no live token %d", id)
	}
	return nil
}

type principalKey struct{}

// WithPrincipal stores p in ctx.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the caller stored in ctx, or nil.
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}
