package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/store"
)

// fillStorage makes the database refuse writes the way a full disk (on
// SQLite) or a read-only server (on PostgreSQL) does: SQLite's
// max_page_count caps the file at its current size, so the next write that
// needs a page fails with SQLITE_FULL; PostgreSQL's connections are
// replaced by read-only ones, which fail writes with 25006.
func fillStorage(t *testing.T, db *store.DB) {
	t.Helper()
	ctx := context.Background()
	switch db.Dialect {
	case store.SQLite:
		var pages int
		if err := db.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages); err != nil {
			t.Fatal(err)
		}
		// One connection, kept open: the pragma holds for every request.
		if _, err := db.ExecContext(ctx, fmt.Sprintf(`PRAGMA max_page_count = %d`, pages)); err != nil {
			t.Fatal(err)
		}
	case store.Postgres:
		if _, err := db.ExecContext(ctx, `DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET default_transaction_read_only = on', current_database()); END $$`); err != nil {
			t.Fatal(err)
		}
		db.SetMaxIdleConns(0) // the pool's sessions close; new ones start read-only
	}
}

// When the database cannot store anything, the API says so with a 503 and
// the reason (it answered 500 "internal error"), and /readyz fails so that
// a load balancer sends people to a replica that can (it said ready).
func TestStorageFullIs503AndNotReady(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	db := a.db
	a.server.Storage = db
	readyz := func() (int, string) {
		resp, err := http.Get(a.srv.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, body := readyz(); status != 200 {
		t.Fatalf("readyz before: %d %s", status, body)
	}
	if status, out := a.call(t, a.lead, "POST", "/api/v1/incidents", `{"title":"Checkout down","severity":"SEV1"}`); status != 201 {
		t.Fatalf("declare before: %d %v", status, out)
	}

	fillStorage(t, db)
	var status int
	var out map[string]any
	for i := range 500 { // a few writes may still fit in free pages
		status, out = a.call(t, a.lead, "POST", "/api/v1/incidents", fmt.Sprintf(`{"title":"Payments down %d %s","severity":"SEV2"}`, i, strings.Repeat("x", 150)))
		if status != 201 {
			break
		}
	}
	code, _ := errCode(out)
	msg, _ := out["error"].(map[string]any)["message"].(string)
	want := map[store.Dialect]string{store.SQLite: "full", store.Postgres: "read-only"}[db.Dialect]
	if status != 503 || code != "unavailable" || !strings.Contains(msg, want) {
		t.Fatalf("a write on a full database: %d %v; want 503 unavailable saying %q", status, out, want)
	}
	if status, body := readyz(); status != 503 || !strings.Contains(body, want) {
		t.Errorf("readyz while writes fail: %d %q; want 503 saying %q", status, body, want)
	}
	// Reading still works, and says what is there.
	if status, out := a.call(t, a.view, "GET", "/api/v1/incidents/INC-1", ""); status != 200 || out["title"] != "Checkout down" {
		t.Errorf("read while full: %d %v", status, out)
	}
}
