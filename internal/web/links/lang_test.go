package links_test

import (
	"context"
	"database/sql"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/i18n"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/storetest"
	"github.com/sitrep-dev/sitrep/internal/subscription"
	"github.com/sitrep-dev/sitrep/internal/web"
	"github.com/sitrep-dev/sitrep/internal/web/links"
)

// linksMail stands in for the outbox: it keeps the confirmation links the
// service would mail.
type linksMail struct {
	mu   sync.Mutex
	urls []string
}

func (m *linksMail) Queue(ctx context.Context, tx *sql.Tx, out compose.Outgoing) (*compose.Message, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if d, ok := out.Data.(compose.SubscriptionConfirmData); ok {
		m.urls = append(m.urls, d.URL)
	}
	return &compose.Message{ID: int64(len(m.urls))}, nil
}

type linksEnv struct {
	subs *subscription.Service
	mail *linksMail
	url  string
}

func newLinksEnv(t *testing.T) *linksEnv {
	t.Helper()
	ctx := context.Background()
	db := storetest.Open(t)
	dir := &directory.Store{DB: db}
	if _, err := dir.SyncFile(ctx, []byte(org), "groups.yaml"); err != nil {
		t.Fatal(err)
	}
	e := &linksEnv{mail: &linksMail{}}
	e.subs = &subscription.Service{DB: db, Directory: dir, Incidents: &incident.Service{DB: db, People: dir}, Mail: e.mail,
		PublicURL: "https://sitrep.test", AllowedDomains: []string{"partner.test"}}
	base := &web.Server{}
	srv := httptest.NewServer(base.Handler(&links.Server{Server: base, Subscriptions: e.subs}))
	t.Cleanup(srv.Close)
	e.url = srv.URL
	return e
}

// unsubscribeLink is a follower's link in an update about checkout, on
// the test's server.
func (e *linksEnv) unsubscribeLink(t *testing.T, email string) string {
	t.Helper()
	var link string
	err := e.subs.DB.InTx(context.Background(), func(tx *sql.Tx) error {
		f, err := e.subs.Followers(context.Background(), tx, "INC-1", []string{"checkout"})
		link = f.Unsubscribe[email]
		return err
	})
	if err != nil || link == "" {
		t.Fatalf("no link for %s: %v", email, err)
	}
	return e.url + strings.TrimPrefix(link, "https://sitrep.test")
}

// noEnglish fails when body has the English catalog's words of the pages.
func noEnglish(t *testing.T, what, body string) {
	t.Helper()
	cat, err := i18n.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range cat.Prose("subscription_page") {
		if strings.Contains(body, en) {
			t.Errorf("%s: English %q in:\n%s", what, en, body)
		}
	}
}

// A German reader of the directory gets the unsubscribe pages in German,
// whatever the browser says: the directory knows their language.
func TestUnsubscribePagesInTheDirectoryLanguage(t *testing.T) {
	t.Parallel()
	e := newLinksEnv(t)
	if _, _, err := e.subs.Subscribe(context.Background(), "hugo@x.test", subscription.Request{Email: "hugo@x.test", Kind: "system", Target: "checkout"}); err != nil {
		t.Fatal(err)
	}
	link := e.unsubscribeLink(t, "hugo@x.test")
	status, body := doIn(t, "GET", link, "", "en-US,en;q=0.9")
	if status != 200 || !strings.Contains(body, `<html lang="de">`) || !strings.Contains(body, "Nur Ihr eigenes Abonnement endet") ||
		!strings.Contains(body, `<button type="submit">Abbestellen</button>`) {
		t.Fatalf("GET: %d\n%s", status, body)
	}
	noEnglish(t, "GET", body)
	status, body = doIn(t, "POST", link, "List-Unsubscribe=One-Click", "")
	if status != 200 || !strings.Contains(body, "hugo@x.test erhält diese Störungsmeldungen nicht mehr.") {
		t.Fatalf("POST: %d\n%s", status, body)
	}
	noEnglish(t, "POST", body)
	status, body = doIn(t, "POST", link, "List-Unsubscribe=One-Click", "")
	if status != 400 || !strings.Contains(body, "Dieser Link wurde bereits verwendet. Es wurde nichts geändert.") || !strings.Contains(body, `lang="de"`) {
		t.Fatalf("the link again: %d\n%s", status, body)
	}
	noEnglish(t, "the link again", body)
}

// A Japanese reader outside the directory (an allowed domain's address)
// gets the confirmation pages in the language their browser asks for.
func TestConfirmPagesInTheBrowserLanguage(t *testing.T) {
	t.Parallel()
	e := newLinksEnv(t)
	if _, pending, err := e.subs.Subscribe(context.Background(), "page", subscription.Request{Email: "kenji@partner.test", Kind: "system", Target: "checkout"}); err != nil || !pending {
		t.Fatalf("subscribe: %v %v", pending, err)
	}
	link := e.url + strings.TrimPrefix(e.mail.urls[0], "https://sitrep.test")
	ja := "ja-JP,ja;q=0.9,en;q=0.5"
	status, body := doIn(t, "GET", link, "", ja)
	if status != 200 || !strings.Contains(body, `<html lang="ja">`) || !strings.Contains(body, "申し込まれた状況メールをこのアドレスで受け取りますか？") {
		t.Fatalf("GET: %d\n%s", status, body)
	}
	noEnglish(t, "GET", body)
	status, body = doIn(t, "POST", link, "", ja)
	if status != 200 || !strings.Contains(body, "kenji@partner.test に checkout に影響するインシデントの状況メールが届きます。") {
		t.Fatalf("POST: %d\n%s", status, body)
	}
	noEnglish(t, "POST", body)
	status, body = doIn(t, "POST", link, "", ja)
	if status != 400 || !strings.Contains(body, "このリンクはすでに使用されています。") {
		t.Fatalf("the link again: %d\n%s", status, body)
	}
	// No language of sitrep's in the browser: English.
	status, body = doIn(t, "GET", link, "", "pt-BR,pt;q=0.9")
	if status != 200 || !strings.Contains(body, `<html lang="en">`) || !strings.Contains(body, "Receive the status emails you asked for") {
		t.Fatalf("a Portuguese browser: %d\n%s", status, body)
	}
}

// A hostile Accept-Language (huge, malformed) is answered in English, at
// once, and changes nothing.
func TestHostileAcceptLanguageIsAnsweredInEnglish(t *testing.T) {
	t.Parallel()
	e := newLinksEnv(t)
	if _, _, err := e.subs.Subscribe(context.Background(), "page", subscription.Request{Email: "kenji@partner.test", Kind: "all"}); err != nil {
		t.Fatal(err)
	}
	link := e.url + strings.TrimPrefix(e.mail.urls[0], "https://sitrep.test")
	for name, h := range map[string]string{
		"huge":            "ja," + strings.Repeat("de-DE-x-abcdefgh,", 3500), // ~60 KB
		"dashes":          "ja-" + strings.Repeat("-", 5000),
		"malformed":       "ja;q=;;;,,=de;q=x",
		"non-ASCII bytes": "ja\xff\xfe;q=0.9",
		"many weights":    strings.Repeat("ja;q=0.1;q=0.2;", 60),
		"no tag, weights": ";q=1.0,;q=0.5",
	} {
		start := time.Now()
		status, body := doIn(t, "GET", link, "", h)
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: answered in %s", name, d)
		}
		if status != 200 || !strings.Contains(body, `<html lang="en">`) || !strings.Contains(body, "Confirm your subscription") {
			t.Errorf("%s: %d, want the English page\n%s", name, status, body)
		}
	}
	list, err := e.subs.List(context.Background(), "kenji@partner.test")
	if err != nil || len(list) != 1 || list[0].Confirmed {
		t.Fatalf("after the GETs: %+v %v, want one unconfirmed subscription", list, err)
	}
}
