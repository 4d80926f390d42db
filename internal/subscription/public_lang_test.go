package subscription_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/i18n"
	"github.com/sitrep-dev/sitrep/internal/incident"
)

// doIn is do from a browser whose Accept-Language is lang.
func (p *publicHarness) doIn(t *testing.T, method, path, lang string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(""))
	if method == "POST" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if lang != "" {
		req.Header.Set("Accept-Language", lang)
	}
	req.RemoteAddr = "192.0.2.10:40000"
	rec := httptest.NewRecorder()
	p.site.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

func noEnglishWords(t *testing.T, what, body string) {
	t.Helper()
	cat, err := i18n.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range append(cat.Prose("subscription_page"), "As of", "Follow in a feed reader") {
		if strings.Contains(body, en) {
			t.Errorf("%s: English %q in:\n%s", what, en, body)
		}
	}
}

// The public page's confirmation and unsubscribe pages are written in
// their reader's language: a customer whose browser asks for Japanese
// reads Japanese (lang="ja"), a person of the directory who reads German
// reads German whatever the browser says, and a hostile header gets
// English at once.
func TestPublicLinkPagesInTheReadersLanguage(t *testing.T) {
	t.Parallel()
	p := newPublicHarness(t, 0)
	ja := "ja,en-US;q=0.7,en;q=0.3"

	// A Japanese customer.
	if code, body := p.subscribe(t, "kenji@anywhere.example"); code != http.StatusOK {
		t.Fatalf("subscribe: %d %s", code, body)
	}
	p.deliver(t)
	confirm := publicLink(t, p.to(t, "kenji@anywhere.example", "Confirm")[0].env.Text, "subscriptions/confirm")
	code, body := p.doIn(t, "GET", confirm, ja)
	if code != http.StatusOK || !strings.Contains(body, `<html lang="ja">`) || !strings.Contains(body, "このアドレスでこのステータスページの更新をメールで受け取ることを確認してください。") ||
		!strings.Contains(body, `<button type="submit">確認する</button>`) || !strings.Contains(body, "ステータスページに戻る") {
		t.Fatalf("GET confirm in Japanese: %d\n%s", code, body)
	}
	noEnglishWords(t, "GET confirm", body)
	if code, body = p.doIn(t, "POST", confirm, ja); code != http.StatusOK || !strings.Contains(body, "このステータスページの更新がメールで届きます。") {
		t.Fatalf("POST confirm in Japanese: %d\n%s", code, body)
	}
	noEnglishWords(t, "POST confirm", body)
	if code, body = p.doIn(t, "POST", confirm, ja); code != http.StatusBadRequest || !strings.Contains(body, "このリンクはすでに使用されています。何も変更されていません。") {
		t.Fatalf("the link again, in Japanese: %d\n%s", code, body)
	}

	// A German reader of the directory, from an English browser.
	if code, body := p.subscribe(t, "hugo@x.test"); code != http.StatusOK {
		t.Fatalf("subscribe: %d %s", code, body)
	}
	p.deliver(t)
	mails := p.to(t, "hugo@x.test", "Abonnement")
	if len(mails) != 1 {
		t.Fatalf("%d confirmations to the German reader, want 1 (in German)", len(mails))
	}
	if code, body := p.doIn(t, "POST", publicLink(t, mails[0].env.Text, "subscriptions/confirm"), ""); code != http.StatusOK || !strings.Contains(body, `lang="de"`) {
		t.Fatalf("confirm: %d %s", code, body)
	}
	inc := p.declare(t, "Checkout DB failover", "checkout")
	p.send(t, inc, incident.UpdateInput{Status: "Failing over.", Public: "Some orders fail."})
	unsub := publicLink(t, p.to(t, "hugo@x.test", "orders")[0].env.Text, "unsubscribe")
	code, body = p.doIn(t, "GET", unsub, "en-GB,en;q=0.9")
	if code != http.StatusOK || !strings.Contains(body, `<html lang="de">`) || !strings.Contains(body, "Die E-Mails dieser Statusseite an diese Adresse abbestellen.") {
		t.Fatalf("GET unsubscribe for a German reader: %d\n%s", code, body)
	}
	noEnglishWords(t, "GET unsubscribe", body)
	if code, body = p.doIn(t, "POST", unsub, ""); code != http.StatusOK || !strings.Contains(body, "Sie erhalten keine E-Mails dieser Statusseite mehr.") {
		t.Fatalf("POST unsubscribe for a German reader: %d\n%s", code, body)
	}
	noEnglishWords(t, "POST unsubscribe", body)

	// Hostile headers: English, at once, nothing changed.
	if code, body := p.subscribe(t, "late@elsewhere.example"); code != http.StatusOK {
		t.Fatalf("subscribe: %d %s", code, body)
	}
	p.deliver(t)
	late := publicLink(t, p.to(t, "late@elsewhere.example", "Confirm")[0].env.Text, "subscriptions/confirm")
	for name, h := range map[string]string{"huge": "ja," + strings.Repeat("ja-JP-x-abcdefgh;q=0.5,", 3000), "malformed": "ja;q=;;,=,de;q=x"} {
		start := time.Now()
		code, body := p.doIn(t, "GET", late, h)
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: answered in %s", name, d)
		}
		if code != http.StatusOK || !strings.Contains(body, `<html lang="en">`) || !strings.Contains(body, "Confirm your subscription") {
			t.Errorf("%s Accept-Language: %d, want the English page\n%s", name, code, body)
		}
	}
	if list, _ := p.subs.List(t.Context(), "late@elsewhere.example"); len(list) != 1 || list[0].Confirmed {
		t.Fatalf("GETs changed %+v", list)
	}
}
