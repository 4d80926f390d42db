package links_test

import (
	"context"
	"database/sql"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/storetest"
	"github.com/sitrep-dev/sitrep/internal/subscription"
	"github.com/sitrep-dev/sitrep/internal/web"
	"github.com/sitrep-dev/sitrep/internal/web/links"
)

const org = `organization: Links Test
people:
  - email: ann@x.test
    name: Ann
  - email: hugo@x.test
    name: Hugo Berg
    language: de
escalations:
  - system: checkout
    responders: [ann@x.test]
`

// The unsubscribe page: a GET (a mail scanner) changes nothing; the
// one-click POST ends the subscription; a made-up or reused link changes
// nothing and says so.
func TestUnsubscribeLink(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.Open(t)
	dir := &directory.Store{DB: db}
	if _, err := dir.SyncFile(ctx, []byte(org), "groups.yaml"); err != nil {
		t.Fatal(err)
	}
	subs := &subscription.Service{DB: db, Directory: dir, Incidents: &incident.Service{DB: db, People: dir}, PublicURL: "https://sitrep.test"}
	if _, _, err := subs.Subscribe(ctx, "ann@x.test", subscription.Request{Email: "ann@x.test", Kind: "system", Target: "checkout"}); err != nil {
		t.Fatal(err)
	}
	var link string
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		f, err := subs.Followers(ctx, tx, "INC-1", []string{"checkout"})
		link = f.Unsubscribe["ann@x.test"]
		return err
	})
	if err != nil || !strings.HasPrefix(link, "https://sitrep.test/unsubscribe/") {
		t.Fatalf("link %q, %v", link, err)
	}
	base := &web.Server{}
	srv := httptest.NewServer(base.Handler(&links.Server{Server: base, Subscriptions: subs}))
	t.Cleanup(srv.Close)
	path := srv.URL + strings.TrimPrefix(link, "https://sitrep.test")
	count := func() int {
		l, err := subs.List(ctx, "ann@x.test")
		if err != nil {
			t.Fatal(err)
		}
		return len(l)
	}

	status, body := do(t, "GET", path, "")
	if status != 200 || !strings.Contains(body, `<form method="post"`) || count() != 1 {
		t.Fatalf("GET: %d, %d subscriptions left\n%s", status, count(), body)
	}
	status, body = do(t, "POST", srv.URL+"/unsubscribe/made-up", "List-Unsubscribe=One-Click")
	if status != 400 || !strings.Contains(body, "not valid") || count() != 1 {
		t.Fatalf("a made-up link: %d, %d subscriptions left\n%s", status, count(), body)
	}
	status, body = do(t, "POST", srv.URL+"/unsubscribe/"+strings.Repeat("x", 200), "")
	if status != 400 || count() != 1 {
		t.Fatalf("a 200-byte token: %d\n%s", status, body)
	}
	status, body = do(t, "POST", path, "List-Unsubscribe=One-Click")
	if status != 200 || !strings.Contains(body, "ann@x.test will not receive") || count() != 0 {
		t.Fatalf("one-click POST: %d, %d subscriptions left\n%s", status, count(), body)
	}
	status, body = do(t, "POST", path, "List-Unsubscribe=One-Click")
	if status != 400 || !strings.Contains(body, "already used") {
		t.Fatalf("the link a second time: %d\n%s", status, body)
	}
}

func do(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	return doIn(t, method, url, body, "")
}

// doIn is do from a browser that prefers the languages acceptLanguage says.
func doIn(t *testing.T, method, url, body, acceptLanguage string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if acceptLanguage != "" {
		req.Header.Set("Accept-Language", acceptLanguage)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
