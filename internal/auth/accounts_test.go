package auth_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/storetest"
)

var cheap = &auth.Argon2Params{Time: 1, Memory: 1024, Threads: 1}

func TestAccountsPasswordsAndRoles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.Open(t)
	accts := &auth.Accounts{DB: db, Argon2: cheap}
	admin, err := accts.Create(ctx, " Ann@Example.com ", "Ann", auth.Admin, "correct horse battery")
	if err != nil || admin.Email != "ann@example.com" {
		t.Fatalf("create: %+v %v", admin, err)
	}
	if _, err := accts.Create(ctx, "ann@example.com", "", auth.Viewer, "another long password"); errs.CodeOf(err) != errs.Conflict {
		t.Fatalf("duplicate email: %v", err)
	}
	if _, err := accts.Create(ctx, "bob@example.com", "", auth.Viewer, "short"); errs.CodeOf(err) != errs.Invalid {
		t.Fatalf("short password: %v", err)
	}
	if _, err := accts.Create(ctx, "not an email", "", auth.Viewer, "long enough password"); errs.CodeOf(err) != errs.Invalid {
		t.Fatalf("bad email: %v", err)
	}
	var stored string
	db.QueryRowContext(ctx, `SELECT password_hash FROM accounts WHERE id = $1`, admin.ID).Scan(&stored)
	if !strings.HasPrefix(stored, "$argon2id$v=19$m=1024,t=1,p=1$") || strings.Contains(stored, "correct horse") {
		t.Fatalf("stored hash %q", stored)
	}
	if got, err := accts.Authenticate(ctx, "ANN@example.com", "correct horse battery"); err != nil || got.ID != admin.ID || got.Role != auth.Admin {
		t.Fatalf("authenticate: %+v %v", got, err)
	}
	for _, c := range []struct{ email, pw string }{{"ann@example.com", "wrong horse battery"}, {"nobody@example.com", "correct horse battery"}, {"", ""}} {
		if _, err := accts.Authenticate(ctx, c.email, c.pw); errs.CodeOf(err) != errs.Unauthorized || err.Error() != "wrong email or password" {
			t.Fatalf("authenticate %q: %v", c.email, err)
		}
	}
	if _, err := accts.SetRole(ctx, admin.ID, auth.Viewer); errs.CodeOf(err) != errs.Conflict {
		t.Fatalf("demoting the last admin must be refused: %v", err)
	}
	bob, _ := accts.Create(ctx, "bob@example.com", "Bob", auth.Lead, "bobs long password")
	if _, err := accts.SetRole(ctx, bob.ID, auth.Admin); err != nil {
		t.Fatal(err)
	}
	if got, err := accts.SetRole(ctx, admin.ID, auth.Viewer); err != nil || got.Role != auth.Viewer {
		t.Fatalf("demote with another admin: %+v %v", got, err)
	}

	sessions := &auth.Sessions{DB: db}
	cookie, sess, err := sessions.Start(ctx, bob)
	if err != nil || len(sess.CSRF) < 40 {
		t.Fatalf("start: %v %+v", err, sess)
	}
	var n int
	db.QueryRowContext(ctx, `SELECT COUNT(*) FROM ui_sessions WHERE id_hash = $1`, cookie).Scan(&n)
	if n != 0 {
		t.Fatal("the session id must not be stored in clear")
	}
	got, err := sessions.Lookup(ctx, cookie)
	if err != nil || got.Account.Role != auth.Admin || got.CSRF != sess.CSRF {
		t.Fatalf("lookup: %+v %v", got, err)
	}
	// A password reset ends the account's sessions.
	if err := accts.SetPassword(ctx, bob.ID, "a brand new password"); err != nil {
		t.Fatal(err)
	}
	if _, err := sessions.Lookup(ctx, cookie); errs.CodeOf(err) != errs.Unauthorized {
		t.Fatalf("session after reset: %v", err)
	}
	if _, err := accts.Authenticate(ctx, "bob@example.com", "bobs long password"); err == nil {
		t.Fatal("the old password must stop working")
	}
}

func TestSessionsExpire(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.Open(t)
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	accts := &auth.Accounts{DB: db, Argon2: cheap, Now: clock}
	acc, err := accts.Create(ctx, "ann@example.com", "", auth.Lead, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	sessions := &auth.Sessions{DB: db, Now: clock, TTL: time.Hour, MaxAge: 3 * time.Hour}
	cookie, _, err := sessions.Start(ctx, acc)
	if err != nil {
		t.Fatal(err)
	}
	// Used every 50 minutes it lives on, but not past MaxAge.
	for i := 0; i < 3; i++ {
		now = now.Add(50 * time.Minute)
		if _, err := sessions.Lookup(ctx, cookie); err != nil {
			t.Fatalf("lookup after %d uses: %v", i, err)
		}
	}
	now = now.Add(40 * time.Minute) // 3h10m after sign-in
	if _, err := sessions.Lookup(ctx, cookie); errs.CodeOf(err) != errs.Unauthorized {
		t.Fatalf("past MaxAge: %v", err)
	}
	cookie2, _, _ := sessions.Start(ctx, acc)
	now = now.Add(61 * time.Minute)
	if _, err := sessions.Lookup(ctx, cookie2); errs.CodeOf(err) != errs.Unauthorized {
		t.Fatalf("idle past TTL: %v", err)
	}
	if err := sessions.End(ctx, cookie2); err != nil {
		t.Fatal(err)
	}
}

func TestLoginLimiter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	l := &auth.LoginLimiter{Now: func() time.Time { return now }}
	// One account from many addresses: 5 attempts, then no.
	for i := 0; i < 5; i++ {
		if !l.Allow("10.0.0."+string(rune('1'+i)), "ann@x") {
			t.Fatalf("attempt %d refused", i)
		}
	}
	if l.Allow("10.0.0.9", "ann@x") {
		t.Fatal("the 6th attempt on one account at once must be refused")
	}
	// One address over many accounts: 10, then no; another address is unaffected.
	for i := 0; i < 10; i++ {
		if !l.Allow("192.0.2.1", "user"+string(rune('a'+i))+"@x") {
			t.Fatalf("ip attempt %d refused", i)
		}
	}
	if l.Allow("192.0.2.1", "zed@x") {
		t.Fatal("the 11th attempt from one address must be refused")
	}
	if !l.Allow("192.0.2.2", "zed@x") {
		t.Fatal("a refusal must not drain the account's bucket")
	}
	now = now.Add(time.Minute)
	if !l.Allow("192.0.2.1", "yan@x") {
		t.Fatal("the address must recover after a minute")
	}
}

// Disabling ends the account's sessions and its sign-ins at once; enabling
// lets it sign in again. Nobody disables themselves, and the last admin
// stays.
func TestDisableAndEnable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.Open(t)
	accounts := &auth.Accounts{DB: db, Argon2: cheap}
	sessions := &auth.Sessions{DB: db}
	const pw = "correct horse battery"
	admin, err := accounts.Create(ctx, "admin@x.test", "", auth.Admin, pw)
	if err != nil {
		t.Fatal(err)
	}
	lead, err := accounts.Create(ctx, "lead@x.test", "", auth.Lead, pw)
	if err != nil {
		t.Fatal(err)
	}
	cookie, _, err := sessions.Start(ctx, lead)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := accounts.SetDisabled(ctx, admin.ID, lead.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := sessions.Lookup(ctx, cookie); err == nil {
		t.Error("a disabled account's session still works")
	}
	if _, err := accounts.Authenticate(ctx, "lead@x.test", pw); err == nil {
		t.Error("a disabled account signs in with its password")
	}
	if _, _, err := accounts.SignOn(ctx, "lead@x.test", "", auth.Viewer); errs.CodeOf(err) != errs.Forbidden {
		t.Errorf("a disabled account signs on: %v", err)
	}
	if list, _ := accounts.Disabled(ctx); len(list) != 1 || list[0].Email != "lead@x.test" {
		t.Errorf("disabled list: %+v", list)
	}
	if _, err := accounts.SetDisabled(ctx, admin.ID, lead.ID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := accounts.Authenticate(ctx, "lead@x.test", pw); err != nil {
		t.Errorf("an enabled account cannot sign in: %v", err)
	}

	if _, err := accounts.SetDisabled(ctx, admin.ID, admin.ID, true); errs.CodeOf(err) != errs.Conflict {
		t.Errorf("disabling oneself: want conflict, got %v", err)
	}
	if _, err := accounts.SetDisabled(ctx, 0, admin.ID, true); errs.CodeOf(err) != errs.Conflict {
		t.Errorf("disabling the last admin: want conflict, got %v", err)
	}
	if _, err := accounts.SetDisabled(ctx, admin.ID, 999, true); errs.CodeOf(err) != errs.NotFound {
		t.Errorf("unknown account: %v", err)
	}
}

// Two admins disabling each other at the same moment leave one admin,
// not none: the second waits for the first and counts again.
func TestTwoAdminsCannotDisableEachOtherAtOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.Open(t)
	accounts := &auth.Accounts{DB: db, Argon2: cheap}
	for round := 0; round < 10; round++ {
		a, err := accounts.Create(ctx, fmt.Sprintf("a%d@x.test", round), "", auth.Admin, "correct horse battery")
		if err != nil {
			t.Fatal(err)
		}
		b, err := accounts.Create(ctx, fmt.Sprintf("b%d@x.test", round), "", auth.Admin, "correct horse battery")
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for _, p := range [][2]int64{{a.ID, b.ID}, {b.ID, a.ID}} {
			wg.Add(1)
			go func(actor, target int64) {
				defer wg.Done()
				_, _ = accounts.SetDisabled(ctx, actor, target, true) // one of the two is refused
			}(p[0], p[1])
		}
		wg.Wait()
		live := 0
		list, err := accounts.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, acc := range list {
			if acc.Role == auth.Admin {
				live++
			}
		}
		if live < 1 {
			t.Fatalf("round %d: no admin left", round)
		}
		// Leave one admin for the next round's pair to be the only ones
		// who matter: disable whoever is left.
		for _, acc := range list {
			if acc.Role == auth.Admin {
				if _, err := db.ExecContext(ctx, `UPDATE accounts SET disabled_at = $1 WHERE id = $2`, time.Now().UTC(), acc.ID); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}
