package subscription_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/subscription"
	"github.com/sitrep-dev/sitrep/internal/web/statuspage"
)

// publicHarness is newHarness with the public page's subscriptions on, as
// serve wires them: the public site on its own handler, the links to it.
type publicHarness struct {
	*harness
	site http.Handler
}

func newPublicHarness(t *testing.T, perHour int) *publicHarness {
	t.Helper()
	h := newHarness(t)
	h.subs.PublicOpen, h.subs.PublicSiteURL = true, "https://status.test"
	h.comms.PublicFollowers = h.subs
	h.comms.PublicSite = incident.PublicSite{Title: "Example status", URL: "https://status.test",
		Components: []incident.PublicComponent{{Name: "Online shop", Systems: []string{"checkout"}}, {Name: "Search", Systems: []string{"search"}}}}
	h.subs.PublicComponents = h.comms.PublicSite.Components
	site := &statuspage.PublicSite{Reader: &statuspage.Reader{Incidents: h.incidents}, Title: "Example status", URL: "https://status.test",
		Components:    []statuspage.Component{{Name: "Online shop", Systems: []string{"checkout"}}, {Name: "Search", Systems: []string{"search"}}},
		Subscriptions: h.subs, SubscribesPerHour: perHour}
	handler, err := site.Handler()
	if err != nil {
		t.Fatal(err)
	}
	return &publicHarness{harness: h, site: handler}
}

// do sends one request to the public listener from client (an address).
func (p *publicHarness) do(t *testing.T, method, path, client string, form url.Values) (int, string) {
	t.Helper()
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req := httptest.NewRequest(method, path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.RemoteAddr = client + ":40000"
	rec := httptest.NewRecorder()
	p.site.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

func (p *publicHarness) subscribe(t *testing.T, email string) (int, string) {
	t.Helper()
	return p.do(t, "POST", "/subscribe", "192.0.2.10", url.Values{"email": {email}})
}

var publicLinkRE = regexp.MustCompile(`https://status\.test/(subscriptions/confirm|unsubscribe)/([A-Za-z0-9_-]+)`)

func publicLink(t *testing.T, text, kind string) string {
	t.Helper()
	for _, m := range publicLinkRE.FindAllStringSubmatch(text, -1) {
		if m[1] == kind {
			return "/" + m[1] + "/" + m[2]
		}
	}
	t.Fatalf("no public %s link in:\n%s", kind, text)
	return ""
}

// confirmed subscribes email through the form and follows its link.
func (p *publicHarness) confirmed(t *testing.T, email string) {
	t.Helper()
	if code, body := p.subscribe(t, email); code != http.StatusOK {
		t.Fatalf("subscribe %s: %d %s", email, code, body)
	}
	p.deliver(t)
	mails := p.to(t, email, "Confirm")
	if len(mails) == 0 {
		t.Fatalf("no confirmation to %s", email)
	}
	if code, body := p.do(t, "POST", publicLink(t, mails[len(mails)-1].env.Text, "subscriptions/confirm"), "192.0.2.10", url.Values{}); code != http.StatusOK {
		t.Fatalf("confirm %s: %d %s", email, code, body)
	}
}

func (p *publicHarness) send(t *testing.T, inc *incident.Incident, in incident.UpdateInput) {
	t.Helper()
	if _, err := p.comms.SendUpdate(context.Background(), "vp@x.test", inc.Ref, in); err != nil {
		t.Fatal(err)
	}
	p.deliver(t)
}

// Any address may subscribe on the public page, by double opt-in only: the
// form mails a link to the public listener, an unconfirmed address gets
// no update, a GET of the link changes nothing, the POST confirms once,
// and a reused or expired link is refused with nothing changed. The form's
// answer is the same for a new and a subscribed address.
func TestPublicDoubleOptIn(t *testing.T) {
	t.Parallel()
	p := newPublicHarness(t, 0)
	ctx := context.Background()
	_, index := p.do(t, "GET", "/", "192.0.2.10", nil)
	if !strings.Contains(index, `action="subscribe"`) || !strings.Contains(index, `name="email"`) {
		t.Fatalf("the public page has no subscription form:\n%s", index)
	}
	code, first := p.subscribe(t, "Cust@Anywhere.example")
	if code != http.StatusOK || !strings.Contains(first, "confirmation link") {
		t.Fatalf("subscribe: %d %s", code, first)
	}
	list, _ := p.subs.List(ctx, "cust@anywhere.example")
	if len(list) != 1 || list[0].Confirmed || list[0].Kind != subscription.Public {
		t.Fatalf("after the form: %+v, want one unconfirmed public subscription", list)
	}
	p.deliver(t)
	mails := p.to(t, "cust@anywhere.example", "Confirm")
	if len(mails) != 1 || strings.Contains(mails[0].env.Text, "https://sitrep.test") {
		t.Fatalf("%d confirmations, want 1 with a link to the public page:\n%v", len(mails), mails)
	}
	link := publicLink(t, mails[0].env.Text, "subscriptions/confirm")

	inc := p.declare(t, "Checkout DB failover", "checkout")
	p.send(t, inc, incident.UpdateInput{Status: "Failing over.", Public: "Some orders fail."})
	if got := p.to(t, "cust@anywhere.example", "orders"); len(got) != 0 {
		t.Fatal("an unconfirmed address received the public update")
	}

	if code, body := p.do(t, "GET", link, "192.0.2.10", nil); code != http.StatusOK || !strings.Contains(body, `method="post"`) {
		t.Fatalf("GET of the link: %d %s", code, body)
	}
	if list, _ := p.subs.List(ctx, "cust@anywhere.example"); list[0].Confirmed {
		t.Fatal("a GET of the link (a mail scanner) confirmed")
	}
	if code, body := p.do(t, "POST", link, "192.0.2.10", url.Values{}); code != http.StatusOK || !strings.Contains(body, "Subscribed") {
		t.Fatalf("POST of the link: %d %s", code, body)
	}
	if code, body := p.do(t, "POST", link, "192.0.2.10", url.Values{}); code != http.StatusBadRequest || !strings.Contains(body, "already used") {
		t.Fatalf("the link again: %d %s, want 400 already used", code, body)
	}
	if list, _ := p.subs.List(ctx, "cust@anywhere.example"); len(list) != 1 || !list[0].Confirmed {
		t.Fatalf("after confirming: %+v", list)
	}

	// Subscribed already: the same answer, and no mail.
	if code, again := p.subscribe(t, "cust@anywhere.example"); code != http.StatusOK || again != first {
		t.Fatalf("the answer for a subscribed address differs:\n%s\n---\n%s", first, again)
	}
	if n := p.queued(); n != 0 {
		t.Fatalf("subscribing a subscribed address queued %d emails", n)
	}

	// Expired: nothing confirmed.
	p.subscribe(t, "late@elsewhere.example")
	p.deliver(t)
	late := publicLink(t, p.to(t, "late@elsewhere.example", "Confirm")[0].env.Text, "subscriptions/confirm")
	p.clock.add(48*time.Hour + time.Second)
	if code, body := p.do(t, "POST", late, "192.0.2.10", url.Values{}); code != http.StatusBadRequest || !strings.Contains(body, "expired") {
		t.Fatalf("an expired link: %d %s", code, body)
	}
	if list, _ := p.subs.List(ctx, "late@elsewhere.example"); len(list) != 1 || list[0].Confirmed {
		t.Fatalf("an expired link changed %+v", list)
	}
	// The internal API cannot make a public subscription (no double opt-in there).
	if _, _, err := p.subs.Subscribe(ctx, "api", subscription.Request{Email: "x@anywhere.example", Kind: "public"}); !errs.Is(err, errs.Invalid) {
		t.Fatalf("a public subscription through the API: %v, want invalid", err)
	}
}

// The public update is its own message: the public wording, the public
// components and the public promise, to the public subscribers only, in
// a thread of its own; the internal update to the groups and internal
// followers only. Neither carries the other's text.
func TestPublicUpdateIsItsOwnMessage(t *testing.T) {
	t.Parallel()
	p := newPublicHarness(t, 0)
	ctx := context.Background()
	if _, _, err := p.subs.Subscribe(ctx, "api", subscription.Request{Email: "ann@x.test", Kind: "all"}); err != nil {
		t.Fatal(err)
	}
	p.confirmed(t, "cust@anywhere.example")
	inc := p.declare(t, "Primary DB failover in eu-west", "checkout")
	const internal = "Replica lag 40s after failover; Ann is restarting pgbouncer."
	const public = "Some customers cannot complete orders. We are working on it."
	p.send(t, inc, incident.UpdateInput{Status: internal, Public: public, PublicNext: "2h"})

	got := p.to(t, "cust@anywhere.example", "")
	var mails []mailCopy
	for _, m := range got {
		if !strings.Contains(m.env.GetHeader("Subject"), "Confirm") {
			mails = append(mails, m)
		}
	}
	if len(mails) != 1 {
		t.Fatalf("the customer got %d update emails, want 1", len(mails))
	}
	m := mails[0]
	text := m.env.GetHeader("Subject") + "\n" + m.env.Text + "\n" + m.env.HTML
	for _, want := range []string{"Some customers cannot complete orders", "Online shop", "Example status", "16:00"} {
		if !strings.Contains(text, want) {
			t.Errorf("the public email lacks %q:\n%s", want, text)
		}
	}
	for _, never := range []string{"Replica lag", "pgbouncer", "DB failover", "eu-west", "SEV2", "checkout", "x.test", "Vera", "Ann"} {
		if strings.Contains(m.raw, never) {
			t.Errorf("the public email shows %q (internal)", never)
		}
	}
	if u := m.env.GetHeader("List-Unsubscribe"); !strings.Contains(u, "https://status.test/unsubscribe/") {
		t.Errorf("List-Unsubscribe %q, want the public page's link", u)
	}
	for _, addr := range []string{"exec@x.test", "ann@x.test"} {
		if got := p.to(t, addr, "Replica lag"); len(got) != 1 {
			t.Errorf("%s got %d internal updates, want 1", addr, len(got))
		}
		if got := p.to(t, addr, "Some customers cannot"); len(got) != 0 {
			t.Errorf("%s got the public email", addr)
		}
	}
	if got := p.to(t, "cust@anywhere.example", "Replica lag"); len(got) != 0 {
		t.Error("the customer got the internal update")
	}
	// The page shows the public promise (2 h), not the internal one (30 min).
	_, page := p.do(t, "GET", "/incidents/"+inc.Ref+".html", "192.0.2.10", nil)
	if !strings.Contains(page, `data-promise="2026-11-24T16:00:00Z"`) {
		t.Errorf("the public page does not show the public promise:\n%s", page)
	}

	// An update without public wording sends no public email.
	p.send(t, inc, incident.UpdateInput{Status: "Lag down to 5s."})
	if got := p.to(t, "exec@x.test", "Lag down"); len(got) != 1 {
		t.Fatalf("the internal update went to exec %d times", len(got))
	}
	if n := len(p.to(t, "cust@anywhere.example", "")); n != len(got) {
		t.Fatalf("an update without public wording mailed the customer (%d emails, had %d)", n, len(got))
	}
	// A public promise without public wording is refused, nothing sent.
	if _, err := p.comms.SendUpdate(ctx, "vp@x.test", inc.Ref, incident.UpdateInput{Status: "x", PublicNext: "1h"}); !errs.Is(err, errs.Invalid) {
		t.Fatalf("public_next without public: %v, want invalid", err)
	}
	if n := p.queued(); n != 0 {
		t.Fatalf("a refused update queued %d emails", n)
	}
}

// Unsubscribing from a public email stops the next one for that person
// only; a GET of the link changes nothing.
func TestPublicUnsubscribeIsThatPersonOnly(t *testing.T) {
	t.Parallel()
	p := newPublicHarness(t, 0)
	p.confirmed(t, "one@a.example")
	p.confirmed(t, "two@b.example")
	inc := p.declare(t, "Checkout fails", "checkout")
	p.send(t, inc, incident.UpdateInput{Status: "internal", Public: "First public note."})
	mails := p.to(t, "one@a.example", "First public note")
	if len(mails) != 1 {
		t.Fatalf("one got %d", len(mails))
	}
	link := publicLink(t, mails[0].env.Text, "unsubscribe")
	if code, _ := p.do(t, "GET", link, "192.0.2.10", nil); code != http.StatusOK {
		t.Fatal(code)
	}
	p.send(t, inc, incident.UpdateInput{Status: "internal", Public: "Second public note."})
	if got := p.to(t, "one@a.example", "Second public note"); len(got) != 1 {
		t.Fatal("a GET of the unsubscribe link (a mail scanner) unsubscribed")
	}
	if code, body := p.do(t, "POST", link, "192.0.2.10", url.Values{}); code != http.StatusOK || !strings.Contains(body, "Unsubscribed") {
		t.Fatalf("unsubscribe: %d %s", code, body)
	}
	p.send(t, inc, incident.UpdateInput{Status: "internal", Public: "Third public note."})
	if got := p.to(t, "one@a.example", "Third public note"); len(got) != 0 {
		t.Error("the unsubscribed customer got the next update")
	}
	if got := p.to(t, "two@b.example", "Third public note"); len(got) != 1 {
		t.Error("the other customer lost the update")
	}
}

// The form is limited per client network: past the limit a clear refusal,
// and nothing stored or mailed; another client is not affected. A
// malformed address is refused with nothing stored.
func TestPublicFormLimitPerClient(t *testing.T) {
	t.Parallel()
	p := newPublicHarness(t, 2)
	ctx := context.Background()
	for _, e := range []string{"a@c.example", "b@c.example"} {
		if code, body := p.do(t, "POST", "/subscribe", "198.51.100.7", url.Values{"email": {e}}); code != http.StatusOK {
			t.Fatalf("%s: %d %s", e, code, body)
		}
	}
	p.deliver(t)
	code, body := p.do(t, "POST", "/subscribe", "198.51.100.7", url.Values{"email": {"c@c.example"}})
	if code != http.StatusTooManyRequests || !strings.Contains(body, "Too many") || !strings.Contains(body, "nothing was done") {
		t.Fatalf("past the limit: %d %s", code, body)
	}
	if list, _ := p.subs.List(ctx, "c@c.example"); len(list) != 0 || p.queued() != 0 {
		t.Fatalf("a refused request stored %+v or queued %d", list, p.queued())
	}
	if code, _ := p.do(t, "POST", "/subscribe", "203.0.113.9", url.Values{"email": {"c@c.example"}}); code != http.StatusOK {
		t.Fatalf("another client: %d", code)
	}
	for i, bad := range []string{"not-an-address", "A <a@b.example>", strings.Repeat("a", 300) + "@b.example", ""} {
		client := fmt.Sprintf("203.0.113.%d", 20+i)
		if code, body := p.do(t, "POST", "/subscribe", client, url.Values{"email": {bad}}); code != http.StatusBadRequest || !strings.Contains(body, "Nothing was changed") {
			t.Errorf("%q: %d %s", bad, code, body)
		}
	}
	if list, _ := p.subs.List(ctx, ""); len(list) != 3 {
		t.Fatalf("stored %d subscriptions, want 3: %+v", len(list), list)
	}
}

// Both or neither: when the public email cannot be queued (here a site
// title its subject refuses), the internal update is not sent either, and
// the timeline has no update.
func TestPublicAndInternalUpdateBothOrNeither(t *testing.T) {
	t.Parallel()
	p := newPublicHarness(t, 0)
	ctx := context.Background()
	p.confirmed(t, "cust@anywhere.example")
	inc := p.declare(t, "Checkout fails", "checkout")
	p.comms.PublicSite.Title = "Example\r\nBcc: everyone@example.com"
	_, err := p.comms.SendUpdate(ctx, "vp@x.test", inc.Ref, incident.UpdateInput{Status: "Internal words.", Public: "Public words."})
	if err == nil || !strings.Contains(err.Error(), "subject") {
		t.Fatalf("an update whose public email cannot be written: %v, want refused for its subject", err)
	}
	p.deliver(t)
	if got := p.to(t, "exec@x.test", "Internal words"); len(got) != 0 {
		t.Fatal("the internal update went out without the public one")
	}
	if got := p.to(t, "cust@anywhere.example", "Public words"); len(got) != 0 {
		t.Fatal("the public email went out")
	}
	events, err := p.incidents.Timeline(ctx, inc.Ref)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range events {
		if ev.Kind == incident.EventUpdateQueued {
			t.Fatalf("the timeline records an update that was not sent: %+v", ev)
		}
	}
}

// A customer may follow one component: the public updates of incidents
// that affect its systems, and nothing of the others. An unknown component
// is refused with nothing stored.
func TestPublicComponentSubscriber(t *testing.T) {
	t.Parallel()
	p := newPublicHarness(t, 0)
	ctx := context.Background()
	_, index := p.do(t, "GET", "/", "192.0.2.10", nil)
	if !strings.Contains(index, `<select id="component" name="component">`) || !strings.Contains(index, "<option>Search</option>") {
		t.Fatalf("the form offers no component:\n%s", index)
	}
	if code, body := p.do(t, "POST", "/subscribe", "192.0.2.11", url.Values{"email": {"x@y.example"}, "component": {"Billing"}}); code != http.StatusBadRequest || !strings.Contains(body, "no component") {
		t.Fatalf("an unknown component: %d %s", code, body)
	}
	if list, _ := p.subs.List(ctx, "x@y.example"); len(list) != 0 || p.queued() != 0 {
		t.Fatalf("an unknown component stored %+v", list)
	}
	if code, body := p.do(t, "POST", "/subscribe", "192.0.2.10", url.Values{"email": {"shop@y.example"}, "component": {"online SHOP"}}); code != http.StatusOK {
		t.Fatalf("subscribe to a component: %d %s", code, body)
	}
	p.deliver(t)
	mails := p.to(t, "shop@y.example", "Confirm")
	if len(mails) != 1 || !strings.Contains(mails[0].env.Text, "Online shop") {
		t.Fatalf("the confirmation does not name the component: %v", mails)
	}
	if code, body := p.do(t, "POST", publicLink(t, mails[0].env.Text, "subscriptions/confirm"), "192.0.2.10", url.Values{}); code != http.StatusOK {
		t.Fatalf("confirm: %d %s", code, body)
	}
	p.confirmed(t, "all@y.example")
	shop := p.declare(t, "Checkout fails", "checkout")
	search := p.declare(t, "Search slow", "search")
	p.send(t, shop, incident.UpdateInput{Status: "internal", Public: "Orders fail for some."})
	p.send(t, search, incident.UpdateInput{Status: "internal", Public: "Search is slow for some."})
	if got := p.to(t, "shop@y.example", "Orders fail"); len(got) != 1 {
		t.Errorf("the component's subscriber got %d of its updates, want 1", len(got))
	}
	if got := p.to(t, "shop@y.example", "Search is slow"); len(got) != 0 {
		t.Error("the component's subscriber got another component's update")
	}
	if len(p.to(t, "all@y.example", "Orders fail")) != 1 || len(p.to(t, "all@y.example", "Search is slow")) != 1 {
		t.Error("the subscriber to every component lost an update")
	}
}
