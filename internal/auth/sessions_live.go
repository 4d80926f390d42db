package auth

import (
	"context"
	"fmt"
)

// Live counts the sessions signed in now (not expired, of an account that
// is not disabled): who could act in the UI at this moment.
func (s *Sessions) Live(ctx context.Context) (int, error) {
	var n int
	err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM ui_sessions s JOIN accounts a ON a.id = s.account_id
WHERE s.expires_at > $1 AND a.disabled_at IS NULL`, s.now()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("auth: count sessions: %w", err)
	}
	return n, nil
}
