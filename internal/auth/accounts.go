package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// Account is a local account of the web UI, without its password hash.
type Account struct {
	ID        int64     `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Principal is the account as a caller of the API and UI.
func (a *Account) Principal() *Principal { return &Principal{Name: a.Email, Role: a.Role} }

// Argon2Params are the argon2id cost parameters (RFC 9106 section 3.1).
type Argon2Params struct {
	Time    uint32 // passes
	Memory  uint32 // KiB
	Threads uint8
}

// DefaultArgon2 is RFC 9106 section 4's second recommended option (t=3,
// 64 MiB), with two lanes instead of four: a small server has few cores.
var DefaultArgon2 = Argon2Params{Time: 3, Memory: 64 * 1024, Threads: 2}

// Password length limits. The upper bound keeps a login request from
// costing more than hashing a long passphrase.
const (
	MinPasswordLen = 12
	MaxPasswordLen = 256
)

// Accounts stores local accounts.
type Accounts struct {
	DB  *store.DB
	Now func() time.Time
	// Argon2 overrides DefaultArgon2 (tests use a cheap setting).
	Argon2 *Argon2Params
}

func (a *Accounts) now() time.Time {
	if a.Now != nil {
		return a.Now().UTC()
	}
	return time.Now().UTC()
}

func (a *Accounts) params() Argon2Params {
	if a.Argon2 != nil {
		return *a.Argon2
	}
	return DefaultArgon2
}

// NewPassword is a random password of 20 characters from an alphabet
// without look-alikes (about 110 bits), for first start and resets.
func NewPassword() (string, error) {
	const alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("auth: random: %w", err)
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b), nil
}

func checkPassword(pw string) error {
	n := utf8.RuneCountInString(pw)
	if n < MinPasswordLen {
		return errs.InvalidField("password", "at least %d characters", MinPasswordLen)
	}
	if len(pw) > MaxPasswordLen {
		return errs.InvalidField("password", "at most %d bytes", MaxPasswordLen)
	}
	return nil
}

func cleanEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s || len(s) > 254 {
		return "", errs.InvalidField("email", "want an address like ann@example.com")
	}
	return s, nil
}

// hashPassword returns the PHC string of pw: $argon2id$v=19$m=M,t=T,p=P$salt$hash.
func hashPassword(pw string, p Argon2Params) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("auth: random: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, 32)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// verifyPassword checks pw against a PHC string in constant time.
func verifyPassword(pw, encoded string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var version int
	var p Argon2Params
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// Create adds an account. The email must be new.
func (a *Accounts) Create(ctx context.Context, email, name string, role Role, password string) (*Account, error) {
	email, err := cleanEmail(email)
	if err != nil {
		return nil, err
	}
	if role, err = ParseRole(string(role)); err != nil {
		return nil, err
	}
	name = strings.TrimSpace(name)
	if err := errs.CheckLine("name", name, 100, false); err != nil {
		return nil, err
	}
	if err := checkPassword(password); err != nil {
		return nil, err
	}
	h, err := hashPassword(password, a.params())
	if err != nil {
		return nil, err
	}
	now := a.now()
	acc := &Account{Email: email, Name: name, Role: role, CreatedAt: now, UpdatedAt: now}
	err = a.DB.QueryRowContext(ctx, queries.Get("insert-account"), email, name, role, h, now, now).Scan(&acc.ID)
	if store.IsUniqueViolation(err) {
		return nil, &errs.Error{Code: errs.Conflict, Field: "email", Message: fmt.Sprintf("an account for %s exists already", email)}
	}
	if err != nil {
		return nil, fmt.Errorf("auth: create account: %w", err)
	}
	return acc, nil
}

// dummyHash is verified against when the email is unknown, so that the
// answer takes as long as for a known account (no account enumeration by
// timing).
var dummyHash = sync.OnceValue(func() string {
	h, _ := hashPassword("not a password of anyone", DefaultArgon2)
	return h
})

// Authenticate returns the account whose email and password match. Every
// failure is the same Unauthorized error: which half was wrong is not told.
func (a *Accounts) Authenticate(ctx context.Context, email, password string) (*Account, error) {
	fail := errs.E(errs.Unauthorized, "wrong email or password")
	email = strings.ToLower(strings.TrimSpace(email))
	if len(password) > MaxPasswordLen || email == "" {
		return nil, fail
	}
	var acc Account
	var h string
	var disabled sql.NullTime
	err := a.DB.QueryRowContext(ctx, queries.Get("credentials"), email).Scan(&acc.ID, &acc.Email, &acc.Name, &acc.Role, &acc.CreatedAt, &acc.UpdatedAt, &h, &disabled)
	if errors.Is(err, sql.ErrNoRows) {
		verifyPassword(password, dummyHash())
		return nil, fail
	}
	if err != nil {
		return nil, fmt.Errorf("auth: authenticate: %w", err)
	}
	if !verifyPassword(password, h) || disabled.Valid {
		return nil, fail
	}
	return &acc, nil
}

// scanAccount reads the columns the account queries select first (see
// queries.sql).
func scanAccount(row interface{ Scan(...any) error }) (*Account, error) {
	var acc Account
	if err := row.Scan(&acc.ID, &acc.Email, &acc.Name, &acc.Role, &acc.CreatedAt, &acc.UpdatedAt); err != nil {
		return nil, err
	}
	return &acc, nil
}

// Get returns a live account by id.
func (a *Accounts) Get(ctx context.Context, id int64) (*Account, error) {
	acc, err := scanAccount(a.DB.QueryRowContext(ctx, queries.Get("live-account"), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "no account %d", id)
	}
	if err != nil {
		return nil, fmt.Errorf("auth: get account: %w", err)
	}
	return acc, nil
}

// List returns live accounts by email.
func (a *Accounts) List(ctx context.Context) ([]Account, error) {
	return a.list(ctx, "live-accounts")
}

// Disabled lists the disabled accounts, by email.
func (a *Accounts) Disabled(ctx context.Context) ([]Account, error) {
	return a.list(ctx, "disabled-accounts")
}

func (a *Accounts) list(ctx context.Context, query string) ([]Account, error) {
	rows, err := a.DB.QueryContext(ctx, queries.Get(query))
	if err != nil {
		return nil, fmt.Errorf("auth: list accounts: %w", err)
	}
	defer rows.Close()
	out := []Account{}
	for rows.Next() {
		acc, err := scanAccount(rows)
		if err != nil {
			return nil, fmt.Errorf("auth: list accounts: %w", err)
		}
		out = append(out, *acc)
	}
	return out, rows.Err()
}

// Count is the number of live accounts.
func (a *Accounts) Count(ctx context.Context) (int, error) {
	var n int
	err := a.DB.QueryRowContext(ctx, queries.Get("count-live-accounts")).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("auth: count accounts: %w", err)
	}
	return n, nil
}

// SetRole changes an account's role. The last admin cannot be demoted:
// nobody could manage accounts any more.
func (a *Accounts) SetRole(ctx context.Context, id int64, role Role) (*Account, error) {
	role, err := ParseRole(string(role))
	if err != nil {
		return nil, err
	}
	err = a.DB.InTx(ctx, func(tx *sql.Tx) error {
		var cur Role
		err := tx.QueryRowContext(ctx, queries.Get("live-role"), id).Scan(&cur)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.E(errs.NotFound, "no account %d", id)
		}
		if err != nil {
			return fmt.Errorf("auth: set role: %w", err)
		}
		if cur == Admin && role != Admin {
			admins, err := a.liveAdmins(ctx, tx)
			if err != nil {
				return fmt.Errorf("auth: set role: %w", err)
			}
			if admins <= 1 {
				return &errs.Error{Code: errs.Conflict, Field: "role", Message: "this is the last admin account; make another admin first"}
			}
		}
		_, err = tx.ExecContext(ctx, queries.Get("set-role"), role, a.now(), id)
		if err != nil {
			return fmt.Errorf("auth: set role: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return a.Get(ctx, id)
}

// SetPassword replaces an account's password and ends its sessions: a
// reset is often because the old one leaked.
func (a *Accounts) SetPassword(ctx context.Context, id int64, password string) error {
	if err := checkPassword(password); err != nil {
		return err
	}
	h, err := hashPassword(password, a.params())
	if err != nil {
		return err
	}
	return a.DB.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, queries.Get("set-password"), h, a.now(), id)
		if err != nil {
			return fmt.Errorf("auth: set password: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.E(errs.NotFound, "no account %d", id)
		}
		if _, err := tx.ExecContext(ctx, queries.Get("end-sessions-of-account"), id); err != nil {
			return fmt.Errorf("auth: end sessions: %w", err)
		}
		return nil
	})
}

// SignOn returns the live account of an email that a single sign-on
// provider has verified, and whether it was made now. An email without an
// account gets one with role create, unless create is "": then the sign-in
// is refused (NotFound). A new account's password is random and shown to
// nobody; an admin's reset gives its owner one. A disabled account is
// refused (Forbidden).
func (a *Accounts) SignOn(ctx context.Context, email, name string, create Role) (*Account, bool, error) {
	email, err := cleanEmail(email)
	if err != nil {
		return nil, false, err
	}
	for attempt := 0; ; attempt++ {
		var acc Account
		var disabled sql.NullTime
		err := a.DB.QueryRowContext(ctx, queries.Get("account-by-email"), email).Scan(
			&acc.ID, &acc.Email, &acc.Name, &acc.Role, &acc.CreatedAt, &acc.UpdatedAt, &disabled)
		switch {
		case err == nil && disabled.Valid:
			return nil, false, errs.E(errs.Forbidden, "The sitrep account %s is disabled.", email)
		case err == nil:
			return &acc, false, nil
		case !errors.Is(err, sql.ErrNoRows):
			return nil, false, fmt.Errorf("auth: sign on: %w", err)
		case create == "":
			return nil, false, errs.E(errs.NotFound, "There is no sitrep account for %s. Ask an admin to create one (on the accounts page), then sign in again.", email)
		}
		pw, err := NewPassword()
		if err != nil {
			return nil, false, err
		}
		created, err := a.Create(ctx, email, oneLine(name, 100), create, pw)
		if errs.CodeOf(err) == errs.Conflict && attempt == 0 {
			continue // another tab signed the same person on first: use that account
		}
		return created, err == nil, err
	}
}

// oneLine is s on one line, trimmed to at most n characters.
func oneLine(s string, n int) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '\r' || r == '\n' || r == 0 }), " ")
	s = strings.TrimSpace(s)
	if r := []rune(s); len(r) > n {
		s = strings.TrimSpace(string(r[:n]))
	}
	return s
}

// SetDisabled disables an account (its sessions end at once and it can no
// longer sign in, by password or single sign-on) or enables it again. The
// last admin cannot be disabled, and nobody can disable themselves: both
// would lock the door with the key inside.
func (a *Accounts) SetDisabled(ctx context.Context, actorID, id int64, disabled bool) (*Account, error) {
	if disabled && actorID == id {
		return nil, errs.E(errs.Conflict, "you cannot disable your own account; ask another admin")
	}
	err := a.DB.InTx(ctx, func(tx *sql.Tx) error {
		var role Role
		var was sql.NullTime
		err := tx.QueryRowContext(ctx, queries.Get("role-and-disabled"), id).Scan(&role, &was)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.E(errs.NotFound, "no account %d", id)
		}
		if err != nil {
			return fmt.Errorf("auth: disable: %w", err)
		}
		if was.Valid == disabled {
			return nil // already so: nothing to do, nothing to log
		}
		if disabled && role == Admin {
			admins, err := a.liveAdmins(ctx, tx)
			if err != nil {
				return fmt.Errorf("auth: disable: %w", err)
			}
			if admins <= 1 {
				return errs.E(errs.Conflict, "this is the last admin account; make another admin first")
			}
		}
		now := a.now()
		at := sql.NullTime{Time: now, Valid: disabled}
		if _, err := tx.ExecContext(ctx, queries.Get("set-disabled"), at, now, id); err != nil {
			return fmt.Errorf("auth: disable: %w", err)
		}
		if disabled {
			if _, err := tx.ExecContext(ctx, queries.Get("end-sessions-of-account"), id); err != nil {
				return fmt.Errorf("auth: end sessions: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	acc, err := scanAccount(a.DB.QueryRowContext(ctx, queries.Get("account"), id))
	if err != nil {
		return nil, fmt.Errorf("auth: disable: %w", err)
	}
	return acc, nil
}

// liveAdmins counts the admins who can still sign in, for the "last
// admin" rule. On PostgreSQL it locks their rows: two admins demoting or
// disabling each other at once would otherwise both count two and leave
// none; the second now waits, then counts again without the first's
// target. SQLite runs one writing transaction at a time anyway.
func (a *Accounts) liveAdmins(ctx context.Context, tx *sql.Tx) (int, error) {
	rows, err := tx.QueryContext(ctx, queries.SQL(a.DB, "live-admins"))
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
	}
	return n, rows.Err()
}

//go:embed queries.sql
var queryFiles embed.FS

var queries = store.MustQueries(queryFiles)
