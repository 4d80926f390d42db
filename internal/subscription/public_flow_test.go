package subscription_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/resolution"
	"github.com/sitrep-dev/sitrep/internal/subscription"
)

// The customers' side of an incident beyond one update: the public
// promise kept like the stakeholders', the end told to customers, and the
// dry run that shows every reader's email.

func (p *publicHarness) resolver() *resolution.Service {
	return &resolution.Service{DB: p.incidents.DB, Incidents: p.incidents, Mail: p.mail, Comms: p.comms, Directory: p.dir, Now: p.clock.now}
}

// set moves the harness's clock to at.
func (h *harness) set(at time.Time) {
	h.clock.mu.Lock()
	h.clock.t = at
	h.clock.mu.Unlock()
}

func (h *harness) events(t *testing.T, inc *incident.Incident, kind string) []incident.Event {
	t.Helper()
	tl, err := h.incidents.Timeline(context.Background(), inc.Ref)
	if err != nil {
		t.Fatal(err)
	}
	var out []incident.Event
	for _, ev := range tl {
		if ev.Kind == kind {
			out = append(out, ev)
		}
	}
	return out
}

func (h *harness) publicPromise(t *testing.T, inc *incident.Incident) incident.PublicPromise {
	t.Helper()
	ctx := context.Background()
	fresh, err := h.incidents.Get(ctx, inc.Ref)
	if err != nil {
		t.Fatal(err)
	}
	p, err := h.incidents.PublicPromiseOf(ctx, h.incidents.DB, fresh)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPublicPromiseIsKept drives the clock through the public promise of
// an incident whose comms lead (Hugo) reads German: a reminder to him ten
// minutes before it is due and another when due, then five minutes later
// the overdue alert to the incident lead and him, each once however often
// the checker runs, and on two replicas at once; each says it is the
// customers' update, in the reader's language. The stakeholders' promise
// (six hours off) sends nothing meanwhile. The second and the tenth public
// update each move the promise, an update without public wording does
// not, and after the resolution nothing is reminded.
func TestPublicPromiseIsKept(t *testing.T) {
	t.Parallel()
	p := newPublicHarness(t, 0)
	p.comms.PublicPage = true
	ctx := context.Background()
	start := p.clock.now()
	inc, err := p.incidents.Declare(ctx, "vp@x.test", incident.DeclareInput{Title: "Checkout fails", Severity: "SEV2",
		Scope: incident.Scope{Systems: []string{"checkout"}}, Roles: incident.Roles{CommsLead: "hugo@x.test", IncidentLead: "vp@x.test"}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.comms.SendUpdate(ctx, "hugo@x.test", inc.Ref, incident.UpdateInput{Status: "Failing over.", Next: "6h",
		Public: "Some orders fail; we are on it.", PublicNext: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	due := start.Add(time.Hour)
	if res.PublicNextUpdateAt == nil || !res.PublicNextUpdateAt.Equal(due) {
		t.Fatalf("the update's public promise: %v, want %s", res.PublicNextUpdateAt, due)
	}
	if got := p.publicPromise(t, inc); got.NextUpdateAt == nil || !got.NextUpdateAt.Equal(due) || got.Status != "on_time" {
		t.Fatalf("the incident keeps the public promise %+v, want %s on time", got, due)
	}
	p.deliver(t)

	check := func(at time.Time, want int) {
		t.Helper()
		p.set(at)
		for i := range 2 { // a second run at the same moment sends nothing more
			n, err := p.comms.CheckPromises(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 && n != want || i == 1 && n != 0 {
				t.Fatalf("at due%+v, run %d: %d reminders", at.Sub(due), i+1, n)
			}
		}
	}
	check(due.Add(-11*time.Minute), 0)
	check(due.Add(-9*time.Minute), 1) // the reminder
	check(due.Add(-time.Minute), 0)
	check(due, 1) // due
	check(due.Add(4*time.Minute), 0)
	// Overdue, on two replicas at once: one alert.
	p.set(due.Add(5 * time.Minute))
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := p.comms.CheckPromises(ctx)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			total += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	if total != 1 {
		for _, ev := range p.events(t, inc, incident.EventPublicOverdue) {
			t.Logf("%+v", ev)
		}
		for _, ev := range p.events(t, inc, incident.EventPublicReminder) {
			t.Logf("%+v", ev)
		}
		t.Fatalf("two replicas sent %d overdue alerts, want 1", total)
	}
	check(due.Add(time.Hour), 0)
	p.deliver(t)

	if got := p.publicPromise(t, inc); got.Status != "overdue" {
		t.Errorf("the public promise is %q, want overdue", got.Status)
	}
	reminders := p.to(t, "hugo@x.test", "ÖFFENTLICHE Meldung für Kunden")
	if len(reminders) != 2 {
		t.Fatalf("Hugo got %d public reminders, want 2 (before and when due)", len(reminders))
	}
	for _, m := range reminders {
		if !strings.Contains(m.env.GetHeader("Subject"), "Für die Leitung") || strings.Contains(m.env.Text, "PUBLIC update") {
			t.Errorf("Hugo's reminder is not in his language:\n%s\n%s", m.env.GetHeader("Subject"), m.env.Text)
		}
		if !strings.Contains(m.env.Text, "Kunden") || !strings.Contains(m.env.Text, "public:") {
			t.Errorf("the reminder does not say it is the customers' update, or how to send it:\n%s", m.env.Text)
		}
	}
	if got := p.to(t, "vp@x.test", "PUBLIC update OVERDUE"); len(got) != 1 || !strings.Contains(got[0].env.Text, "public status page says it is overdue") {
		t.Fatalf("the incident lead got %d overdue alerts, want 1 saying the public page shows it", len(got))
	}
	if got := p.to(t, "hugo@x.test", "ÖFFENTLICHE Meldung ÜBERFÄLLIG"); len(got) != 1 {
		t.Errorf("Hugo got %d overdue alerts, want 1", len(got))
	}
	if n := len(p.events(t, inc, incident.EventReminder)) + len(p.events(t, inc, incident.EventOverdue)); n != 0 {
		t.Errorf("%d stakeholder-promise reminders went out; that promise is six hours off", n)
	}
	if n, m := len(p.events(t, inc, incident.EventPublicReminder)), len(p.events(t, inc, incident.EventPublicOverdue)); n != 2 || m != 1 {
		t.Errorf("the timeline has %d public reminders and %d public overdue alerts, want 2 and 1", n, m)
	}
	// The public page says so, honestly.
	if _, page := p.do(t, "GET", "/incidents/"+inc.Ref+".html", "192.0.2.10", nil); !strings.Contains(page, `<strong class="overdue" data-overdue >Update overdue since`) {
		t.Errorf("the public page does not say the public update is overdue:\n%s", page)
	}

	// The second public update moves the promise and starts its reminders
	// over; an update without public wording moves nothing of it.
	p.set(due.Add(time.Hour))
	p.send(t, inc, incident.UpdateInput{Status: "Failover done.", Next: "6h", Public: "Orders work again for most.", PublicNext: "30m"})
	second := p.clock.now().Add(30 * time.Minute)
	if got := p.publicPromise(t, inc); got.NextUpdateAt == nil || !got.NextUpdateAt.Equal(second) || got.Status != "on_time" {
		t.Fatalf("after the second public update: %+v, want %s", got, second)
	}
	p.set(second.Add(-20 * time.Minute))
	p.send(t, inc, incident.UpdateInput{Status: "Internal only.", Next: "6h"})
	if got := p.publicPromise(t, inc); !got.NextUpdateAt.Equal(second) {
		t.Fatalf("an update without public wording moved the public promise to %s", got.NextUpdateAt)
	}
	due = second
	check(second.Add(-9*time.Minute), 1)

	// Up to the tenth: each moves it; only the last one's is reminded.
	for i := 3; i <= 10; i++ {
		p.set(p.clock.now().Add(2 * time.Minute))
		p.send(t, inc, incident.UpdateInput{Status: "Still watching.", Next: "6h", Public: "Still watching, update " + string(rune('0'+i%10)), PublicNext: "45m"})
	}
	tenth := p.clock.now().Add(45 * time.Minute)
	if got := p.publicPromise(t, inc); !got.NextUpdateAt.Equal(tenth) || got.Stage != incident.StageNone {
		t.Fatalf("after the tenth public update: %+v, want %s at stage 0", got, tenth)
	}
	due = tenth
	check(tenth.Add(-11*time.Minute), 0)
	check(tenth.Add(-9*time.Minute), 1)
	p.deliver(t)
	last := p.to(t, "hugo@x.test", "ÖFFENTLICHE Meldung für Kunden fällig")
	if len(last) == 0 || !strings.Contains(last[len(last)-1].env.Text, tenth.Format("15:04")) {
		t.Errorf("the last reminder does not name the tenth update's promise (%s)", tenth.Format("15:04"))
	}

	// Resolved: the public promise ends; nothing more is reminded.
	if _, err := p.resolver().Resolve(ctx, "hugo@x.test", inc.Ref, resolution.ResolveInput{RootCause: "A full disk."}); err != nil {
		t.Fatal(err)
	}
	if got := p.publicPromise(t, inc); got.NextUpdateAt != nil || got.Status != "none" {
		t.Fatalf("after the resolution the public promise is %+v", got)
	}
	check(tenth, 0)
	check(tenth.Add(time.Hour), 0)

	// With the public page off, no customer reads the promise: nobody is
	// reminded of it.
	p.comms.PublicPage = false
	other := p.declare(t, "Search slow", "search")
	p.send(t, other, incident.UpdateInput{Status: "Slow.", Next: "6h", Public: "Search is slow.", PublicNext: "10m"})
	check(p.clock.now().Add(20*time.Minute), 0)
}

// TestResolveTellsCustomers: resolving an incident that had public
// wording mails its public subscribers the end, in the public thread,
// queued with the resolution, in the lead's public words or sitrep's
// own; the public page shows it resolved with the same words. The
// internal root cause and impact are provably absent. An incident never
// told to customers tells them nothing, and public words for it are
// refused with nothing changed.
func TestResolveTellsCustomers(t *testing.T) {
	t.Parallel()
	p := newPublicHarness(t, 0)
	ctx := context.Background()
	if _, _, err := p.subs.Subscribe(ctx, "api", subscription.Request{Email: "ann@x.test", Kind: "all"}); err != nil {
		t.Fatal(err)
	}
	p.confirmed(t, "cust@anywhere.example")
	inc := p.declare(t, "INTERNAL-TITLE pgbouncer pool exhausted", "checkout")
	p.send(t, inc, incident.UpdateInput{Status: "INTERNAL-STATUS restarting pgbouncer.", Public: "Some orders fail; we are on it."})
	first := p.to(t, "cust@anywhere.example", "Some orders fail")
	if len(first) != 1 {
		t.Fatalf("the customer got %d public updates", len(first))
	}

	const public = "Orders work again. Orders that failed were not charged."
	res, err := p.resolver().Resolve(ctx, "vp@x.test", inc.Ref, resolution.ResolveInput{RootCause: "INTERNAL-ROOT a pgbouncer pool of 20 on pg-eu-3.",
		Impact: "INTERNAL-IMPACT 4% of EU orders.", Public: public})
	if err != nil {
		t.Fatal(err)
	}
	if !res.PublicTold || len(res.Messages) != 3 || res.Messages[2].Audience != compose.Public || res.Messages[2].Kind != string(compose.KindPublicResolved) {
		t.Fatalf("resolved: told %v, messages %+v; want the stakeholders', the responders' and the public one", res.PublicTold, res.Messages)
	}
	p.deliver(t)
	ends := p.to(t, "cust@anywhere.example", public)
	if len(ends) != 1 {
		t.Fatalf("the customer got %d resolved emails, want 1", len(ends))
	}
	end := ends[0]
	if end.env.GetHeader("Subject") != first[0].env.GetHeader("Subject") || end.env.GetHeader("In-Reply-To") != first[0].env.GetHeader("Message-ID") {
		t.Errorf("the resolved email is not in the public thread: %q in reply to %q; the thread is %q %q", end.env.GetHeader("Subject"),
			end.env.GetHeader("In-Reply-To"), first[0].env.GetHeader("Subject"), first[0].env.GetHeader("Message-ID"))
	}
	for _, never := range []string{"INTERNAL", "pgbouncer", "pg-eu-3", "4%", "SEV2", "checkout", "x.test", "Vera"} {
		if strings.Contains(end.raw, never) {
			t.Errorf("the customer's resolved email shows %q", never)
		}
	}
	text := strings.Join(strings.Fields(end.env.Text), " ")
	for _, want := range []string{"Resolved: the service is working normally again", "Online shop", "subscribed to this status page's email updates"} {
		if !strings.Contains(text, want) {
			t.Errorf("the resolved email lacks %q:\n%s", want, text)
		}
	}
	if to := end.env.GetHeader("To"); to != "Example status:;" {
		t.Errorf("the customer's To: %q, want the page's name", to)
	}
	if u := end.env.GetHeader("List-Unsubscribe"); !strings.Contains(u, "https://status.test/unsubscribe/") {
		t.Errorf("List-Unsubscribe %q", u)
	}
	// The stakeholders and followers read the internal end, never the public one.
	for _, addr := range []string{"exec@x.test", "ann@x.test"} {
		if len(p.to(t, addr, "INTERNAL-ROOT")) == 0 || len(p.to(t, addr, public)) != 0 {
			t.Errorf("%s: the internal resolved email, never the public one", addr)
		}
	}
	// The public page shows it resolved, in the same words.
	_, page := p.do(t, "GET", "/incidents/"+inc.Ref+".html", "192.0.2.10", nil)
	if !strings.Contains(page, "Resolved") || !strings.Contains(page, public) || strings.Contains(page, "INTERNAL") || strings.Contains(page, "Next update by") {
		t.Errorf("the public page does not show the end as told:\n%s", page)
	}
	if _, err := p.resolver().Resolve(ctx, "vp@x.test", inc.Ref, resolution.ResolveInput{RootCause: "again", Public: "again"}); !errs.Is(err, errs.Conflict) {
		t.Fatalf("resolving twice: %v, want a conflict", err)
	}
	p.deliver(t)
	if n := len(p.to(t, "cust@anywhere.example", "Resolved")); n != 1 {
		t.Fatalf("the customer was told %d times", n)
	}

	// Without public words: sitrep's own, on the page and in the email.
	quiet := p.declare(t, "Checkout slow", "checkout")
	p.send(t, quiet, incident.UpdateInput{Status: "Slow.", Public: "Checkout is slow."})
	if _, err := p.resolver().Resolve(ctx, "vp@x.test", quiet.Ref, resolution.ResolveInput{RootCause: "INTERNAL-ROOT cache"}); err != nil {
		t.Fatal(err)
	}
	p.deliver(t)
	const ours = "This incident is resolved: the service is working normally again."
	if got := p.to(t, "cust@anywhere.example", ours); len(got) != 1 || strings.Contains(got[0].raw, "INTERNAL") {
		t.Errorf("the default resolved email: %d", len(got))
	}
	if _, page := p.do(t, "GET", "/incidents/"+quiet.Ref+".html", "192.0.2.10", nil); !strings.Contains(page, ours) {
		t.Errorf("the public page does not show sitrep's own words:\n%s", page)
	}

	// Never public: customers hear nothing; public words are refused.
	hidden := p.declare(t, "Internal tooling down", "checkout")
	p.send(t, hidden, incident.UpdateInput{Status: "Internal only."})
	before := len(p.to(t, "cust@anywhere.example", ""))
	_, err = p.resolver().Resolve(ctx, "vp@x.test", hidden.Ref, resolution.ResolveInput{RootCause: "x", Public: "All good now."})
	var e *errs.Error
	if !asErr(err, &e) || e.Code != errs.Invalid || e.Field != "public" {
		t.Fatalf("public words for a never-public incident: %v, want invalid field public", err)
	}
	p.deliver(t) // what a rolled-back transaction queued is not there to send
	if fresh, _ := p.incidents.Get(ctx, hidden.Ref); fresh.State != incident.Investigating || len(p.to(t, "exec@x.test", "Internal tooling down")) != 1 {
		t.Fatalf("a refused resolution changed %s (%s) or mailed the executives", hidden.Ref, fresh.State)
	}
	res, err = p.resolver().Resolve(ctx, "vp@x.test", hidden.Ref, resolution.ResolveInput{RootCause: "x"})
	if err != nil || res.PublicTold {
		t.Fatalf("resolving a never-public incident: %v, told %v", err, res.PublicTold)
	}
	p.deliver(t)
	if after := len(p.to(t, "cust@anywhere.example", "")); after != before {
		t.Errorf("a never-public incident mailed the customer %d times", after-before)
	}
	if code, _ := p.do(t, "GET", "/incidents/"+hidden.Ref+".html", "192.0.2.10", nil); code != http.StatusNotFound {
		t.Errorf("a never-public incident is on the public page: %d", code)
	}

	// A fix with the cause unknown: customers read that a fix is in place.
	watched := p.declare(t, "Checkout errors", "checkout")
	p.send(t, watched, incident.UpdateInput{Status: "Errors.", Public: "Some payments fail."})
	if _, err := p.resolver().Resolve(ctx, "vp@x.test", watched.Ref, resolution.ResolveInput{RootCauseUnknown: true}); err != nil {
		t.Fatal(err)
	}
	p.deliver(t)
	if got := p.to(t, "cust@anywhere.example", "A fix is in place and the service is working again"); len(got) != 1 {
		t.Errorf("the customer got %d fix-in-place emails", len(got))
	}
}

// TestDryRunShowsEveryReadersEmail: the dry run of an update with public
// wording shows the groups' emails, a follower's own copy and the public
// email, each as it is then sent (the delivered copies read the same but
// for the follower's own link), and stores nothing: no link, no message.
// The follower follows a system (checkout), not the incident, and is in
// no group.
func TestDryRunShowsEveryReadersEmail(t *testing.T) {
	t.Parallel()
	p := newPublicHarness(t, 0)
	ctx := context.Background()
	if _, _, err := p.subs.Subscribe(ctx, "api", subscription.Request{Email: "ann@x.test", Kind: "system", Target: "checkout"}); err != nil {
		t.Fatal(err)
	}
	p.confirmed(t, "cust@anywhere.example")
	inc := p.declare(t, "Checkout fails", "checkout")
	links := func() int {
		var n int
		if err := p.incidents.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM subscription_confirmations WHERE purpose = 'unsubscribe'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	const internal, public = "INTERNAL-STATUS pgbouncer restarted.", "Some orders fail; we are on it."
	in := incident.UpdateInput{Status: internal, Public: public, PublicNext: "1h", DryRun: true}
	res, err := p.comms.SendUpdate(ctx, "vp@x.test", inc.Ref, in)
	if err != nil {
		t.Fatal(err)
	}
	if links() != 0 || p.queued() != 0 {
		t.Fatalf("the dry run stored %d links or queued %d emails", links(), p.queued())
	}
	byFor := map[string][]compose.Preview{}
	for _, pv := range res.Previews {
		byFor[pv.For] = append(byFor[pv.For], pv)
	}
	if len(byFor[""]) != 1 || len(byFor[compose.PreviewFollowers]) != 1 || len(byFor[compose.PreviewPublic]) != 1 {
		t.Fatalf("previews %+v, want the exec group's, the followers' and the public one", res.Previews)
	}
	follower, customer := byFor[compose.PreviewFollowers][0], byFor[compose.PreviewPublic][0]
	if res.Recipients != 3 || follower.Recipients != 1 || customer.Recipients != 1 || res.PublicRecipients != 1 {
		t.Errorf("recipients %d (follower %d, public %d/%d), want 3 inside (2 executives, Ann) and 1 customer", res.Recipients,
			follower.Recipients, customer.Recipients, res.PublicRecipients)
	}
	placeholder := "https://sitrep.test/unsubscribe/" + subscription.PreviewLink
	if follower.Headers["To"] != "Followers of checkout:;" || follower.Headers["List-Unsubscribe"] != "<"+placeholder+">" ||
		!strings.Contains(follower.Text, internal) || !strings.Contains(follower.Text, "You receive this because you follow the checkout system") ||
		strings.Contains(follower.Text, "Sent to") {
		t.Errorf("the follower's preview:\n%v\n%s", follower.Headers, follower.Text)
	}
	if customer.Headers["To"] != "Example status:;" || !strings.Contains(customer.Text, public) || strings.Contains(customer.Text, "INTERNAL") ||
		!strings.Contains(customer.Headers["List-Unsubscribe"], "https://status.test/unsubscribe/"+subscription.PreviewLink) {
		t.Errorf("the public preview:\n%v\n%s", customer.Headers, customer.Text)
	}
	if strings.Contains(byFor[""][0].Text, "You receive this because") || byFor[""][0].Headers["List-Unsubscribe"] != "" {
		t.Errorf("a group's preview carries a follower's footer:\n%s", byFor[""][0].Text)
	}

	// Sent: each delivered copy is its preview, the link its own.
	in.DryRun = false
	if _, err := p.comms.SendUpdate(ctx, "vp@x.test", inc.Ref, in); err != nil {
		t.Fatal(err)
	}
	p.deliver(t)
	same := func(who string, pv compose.Preview, got []mailCopy) {
		t.Helper()
		if len(got) != 1 {
			t.Fatalf("%s got %d copies", who, len(got))
		}
		link := strings.Trim(got[0].env.GetHeader("List-Unsubscribe"), "<>")
		if strings.Contains(link, subscription.PreviewLink) || !strings.Contains(link, "/unsubscribe/") {
			t.Errorf("%s's copy carries %q, not a link of their own", who, link)
		}
		// The same text but for the link, and the wire's line ends.
		text := strings.ReplaceAll(got[0].env.Text, link, pv.Headers["List-Unsubscribe"][1:len(pv.Headers["List-Unsubscribe"])-1])
		text = strings.ReplaceAll(text, "\r\n", "\n")
		if strings.TrimSpace(text) != strings.TrimSpace(pv.Text) {
			t.Errorf("%s's copy is not its preview:\n%q\n--- preview:\n%q", who, text, pv.Text)
		}
		if got[0].env.GetHeader("To") != pv.Headers["To"] || got[0].env.GetHeader("Subject") != pv.Subject {
			t.Errorf("%s's copy is To: %q, Subject: %q; the preview's %q, %q", who, got[0].env.GetHeader("To"), got[0].env.GetHeader("Subject"), pv.Headers["To"], pv.Subject)
		}
	}
	same("Ann", follower, p.to(t, "ann@x.test", internal))
	same("the customer", customer, p.to(t, "cust@anywhere.example", public))

	// Nobody subscribed on the public page: the public preview says so.
	q := newPublicHarness(t, 0)
	other := q.declare(t, "Search slow", "search")
	res, err = q.comms.SendUpdate(ctx, "vp@x.test", other.Ref, incident.UpdateInput{Status: "Slow.", Public: "Search is slow.", DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	last := res.Previews[len(res.Previews)-1]
	if last.For != compose.PreviewPublic || last.Recipients != 0 || len(last.Headers) != 0 {
		t.Errorf("with no public subscriber: %+v", last)
	}
}
