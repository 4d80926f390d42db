package auth

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// Session is a signed-in browser.
type Session struct {
	Account   *Account
	CSRF      string // the synchronizer token of this session's forms
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Sessions stores browser sessions. The cookie holds a random id; the
// database holds its SHA-256, so that a copy of the database is no key.
type Sessions struct {
	DB  *store.DB
	Now func() time.Time
	// TTL is the idle lifetime: each use pushes the expiry out by TTL, up
	// to MaxAge after sign-in. Defaults: 12 hours and 7 days.
	TTL, MaxAge time.Duration
}

func (s *Sessions) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Sessions) ttl() (time.Duration, time.Duration) {
	ttl, max := s.TTL, s.MaxAge
	if ttl <= 0 {
		ttl = 12 * time.Hour
	}
	if max <= 0 {
		max = 7 * 24 * time.Hour
	}
	return ttl, max
}

func randomToken(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("auth: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Start opens a session for acc and returns the cookie value, which is not stored.
func (s *Sessions) Start(ctx context.Context, acc *Account) (string, *Session, error) {
	id, err := randomToken(32)
	if err != nil {
		return "", nil, err
	}
	csrf, err := randomToken(32)
	if err != nil {
		return "", nil, err
	}
	now := s.now()
	ttl, _ := s.ttl()
	sess := &Session{Account: acc, CSRF: csrf, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	_, err = s.DB.ExecContext(ctx, queries.Get("insert-session"), hash(id), acc.ID, csrf, now, now, sess.ExpiresAt)
	if err != nil {
		return "", nil, fmt.Errorf("auth: start session: %w", err)
	}
	// Expired sessions are swept on sign-in; there is no other writer of the table.
	_, _ = s.DB.ExecContext(ctx, queries.Get("delete-expired-sessions"), now)
	return id, sess, nil
}

// Lookup returns the live session of a cookie value, with its account as
// it is now (a role changed by an admin applies at once), and extends it.
func (s *Sessions) Lookup(ctx context.Context, cookie string) (*Session, error) {
	if cookie == "" || len(cookie) > 100 {
		return nil, errs.E(errs.Unauthorized, "no session")
	}
	now := s.now()
	var sess Session
	var acc Account
	err := s.DB.QueryRowContext(ctx, queries.Get("session"), hash(cookie), now).Scan(
		&sess.CSRF, &sess.CreatedAt, &sess.ExpiresAt, &acc.ID, &acc.Email, &acc.Name, &acc.Role, &acc.CreatedAt, &acc.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.Unauthorized, "your session has expired; sign in again")
	}
	if err != nil {
		return nil, fmt.Errorf("auth: session: %w", err)
	}
	sess.Account = &acc
	ttl, max := s.ttl()
	next := now.Add(ttl)
	if limit := sess.CreatedAt.Add(max); next.After(limit) {
		next = limit
	}
	// Extend at most once a minute: a page with many requests writes once.
	if next.Sub(sess.ExpiresAt) > time.Minute {
		if _, err := s.DB.ExecContext(ctx, queries.Get("extend-session"), now, next, hash(cookie)); err == nil {
			sess.ExpiresAt = next
		}
	}
	return &sess, nil
}

// End signs a session out.
func (s *Sessions) End(ctx context.Context, cookie string) error {
	if _, err := s.DB.ExecContext(ctx, queries.Get("delete-session"), hash(cookie)); err != nil {
		return fmt.Errorf("auth: end session: %w", err)
	}
	return nil
}

// LoginLimiter slows password guessing: a token bucket per client IP and
// one per account email. Both must have a token for an attempt to go on.
type LoginLimiter struct {
	// PerIP and PerAccount are the sustained rates; IPBurst and
	// AccountBurst the attempts allowed at once. Defaults: one attempt
	// every 6 s per IP with a burst of 10; one every 20 s per account
	// with a burst of 5.
	PerIP, PerAccount     rate.Limit
	IPBurst, AccountBurst int
	Now                   func() time.Time
	mu                    sync.Mutex
	ips, accounts         map[string]*limiterEntry
	lastSweep             time.Time
}

type limiterEntry struct {
	l    *rate.Limiter
	seen time.Time
}

func (l *LoginLimiter) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

// Allow takes one attempt for ip and email, and says whether it may go on.
func (l *LoginLimiter) Allow(ip, email string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if l.ips == nil {
		l.ips, l.accounts = map[string]*limiterEntry{}, map[string]*limiterEntry{}
		if l.PerIP == 0 {
			l.PerIP, l.IPBurst = rate.Every(6*time.Second), 10
		}
		if l.PerAccount == 0 {
			l.PerAccount, l.AccountBurst = rate.Every(20*time.Second), 5
		}
	}
	// Forget idle clients so that a spray of addresses cannot grow the maps forever.
	if now.Sub(l.lastSweep) > 10*time.Minute {
		for _, m := range []map[string]*limiterEntry{l.ips, l.accounts} {
			for k, e := range m {
				if now.Sub(e.seen) > 30*time.Minute {
					delete(m, k)
				}
			}
		}
		l.lastSweep = now
	}
	get := func(m map[string]*limiterEntry, key string, r rate.Limit, burst int) *rate.Limiter {
		e := m[key]
		if e == nil {
			e = &limiterEntry{l: rate.NewLimiter(r, burst)}
			m[key] = e
		}
		e.seen = now
		return e.l
	}
	ipl := get(l.ips, ip, l.PerIP, l.IPBurst)
	accl := get(l.accounts, email, l.PerAccount, l.AccountBurst)
	// Reserve both, and give back what was taken when either says no, so a
	// refused attempt does not also drain the other bucket.
	r1 := ipl.ReserveN(now, 1)
	r2 := accl.ReserveN(now, 1)
	if r1.OK() && r2.OK() && r1.DelayFrom(now) == 0 && r2.DelayFrom(now) == 0 {
		return true
	}
	r1.CancelAt(now)
	r2.CancelAt(now)
	return false
}
