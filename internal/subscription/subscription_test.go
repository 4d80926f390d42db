package subscription_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jhillyerd/enmime/v2"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/jobs"
	"github.com/sitrep-dev/sitrep/internal/outbox"
	"github.com/sitrep-dev/sitrep/internal/store"
	"github.com/sitrep-dev/sitrep/internal/storetest"
	"github.com/sitrep-dev/sitrep/internal/subscription"
)

// org: the exec group is the status audience; Ann (SRE) is in no status
// group; Eve is an executive who also subscribes; Hugo reads German.
const org = `organization: Subscription Test
people:
  - email: vp@x.test
    name: Vera Price
    roles: [comms-lead]
  - email: ann@x.test
    name: Ann Responder
  - email: exec@x.test
    name: Ed Exec
  - email: eve@x.test
    name: Eve Exec
  - email: hugo@x.test
    name: Hugo Berg
    language: de
groups:
  - name: exec
    display_name: Executives
    members: [exec@x.test, eve@x.test]
  - name: sre
    members: [ann@x.test]
escalations:
  - system: checkout
    team: sre
    responders: [ann@x.test]
  - system: search
    team: sre
    responders: [ann@x.test]
audiences:
  status: [exec]
  resolved: [exec]
`

type captureSender struct {
	mu   sync.Mutex
	msgs []captured
}

type captured struct {
	to  []string
	raw []byte
}

func (c *captureSender) Send(ctx context.Context, from string, to []string, msg []byte) ([]error, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = append(c.msgs, captured{to: append([]string{}, to...), raw: append([]byte{}, msg...)})
	return make([]error, len(to)), nil
}

func (c *captureSender) Concurrency() int { return 2 }

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// recordingMail is the outbox, noting each message it queues so that the
// test delivers them at once (the sweep would wait for them to go stale).
type recordingMail struct {
	*outbox.Outbox
	mu  sync.Mutex
	ids []int64
}

func (r *recordingMail) Queue(ctx context.Context, tx *sql.Tx, req compose.Outgoing) (*compose.Message, error) {
	msg, err := r.Outbox.Queue(ctx, tx, req)
	if err == nil {
		r.mu.Lock()
		r.ids = append(r.ids, msg.ID)
		for _, v := range msg.Variants {
			r.ids = append(r.ids, v.ID)
		}
		r.mu.Unlock()
	}
	return msg, err
}

type harness struct {
	db        *store.DB
	dir       *directory.Store
	mail      *recordingMail
	subs      *subscription.Service
	incidents *incident.Service
	comms     *incident.Comms
	outbox    *outbox.Outbox
	sent      *captureSender
	clock     *clock
}

// newHarness wires subscriptions as serve does: the real directory,
// templates, outbox and incident service on the test's database, with a
// capturing sender in place of SMTP.
func newHarness(t *testing.T, allowed ...string) *harness {
	t.Helper()
	ctx := context.Background()
	db := storetest.Open(t)
	dir := &directory.Store{DB: db}
	if _, err := dir.SyncFile(ctx, []byte(org), "groups.yaml"); err != nil {
		t.Fatal(err)
	}
	renderer, err := compose.New("")
	if err != nil {
		t.Fatal(err)
	}
	ins, err := jobs.NewInserter(db)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{db: db, dir: dir, sent: &captureSender{}, clock: &clock{t: time.Date(2026, 11, 24, 14, 0, 0, 0, time.UTC)}}
	h.incidents = &incident.Service{DB: db, People: dir, KnownSystems: dir, CommsLeads: dir, Now: h.clock.now, DueSoon: 10 * time.Minute}
	h.outbox = &outbox.Outbox{DB: db, Jobs: ins, Renderer: renderer, Directory: dir, Now: h.clock.now,
		Domain: "sitrep.test", From: "sitrep <status@sitrep.test>", ReplyPart: "status",
		Sender: h.sent, BatchSize: 10, Lease: 30 * time.Second, MaxAttempts: 3}
	h.mail = &recordingMail{Outbox: h.outbox}
	h.subs = &subscription.Service{DB: db, Directory: dir, Incidents: h.incidents, Mail: h.mail, Now: h.clock.now,
		PublicURL: "https://sitrep.test", AllowedDomains: allowed}
	h.comms = &incident.Comms{DB: db, Incidents: h.incidents, Directory: dir, Mail: h.mail, Now: h.clock.now,
		ReminderBefore: 10 * time.Minute, OverdueAfter: 5 * time.Minute, Followers: h.subs}
	return h
}

// deliver sends everything queued (a message queued in a transaction
// that rolled back is not there to send).
func (h *harness) deliver(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	h.mail.mu.Lock()
	ids := h.mail.ids
	h.mail.ids = nil
	h.mail.mu.Unlock()
	for _, id := range ids {
		for {
			n, err := h.outbox.DeliverBatch(ctx, id)
			if errors.Is(err, sql.ErrNoRows) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
		}
	}
}

// queued is the number of messages queued and not yet delivered.
func (h *harness) queued() int {
	h.mail.mu.Lock()
	defer h.mail.mu.Unlock()
	return len(h.mail.ids)
}

type mailCopy struct {
	env *enmime.Envelope
	raw string
}

// to is every copy addr received whose subject or text holds what, and
// forgets nothing: call it after deliver.
func (h *harness) to(t *testing.T, addr, what string) []mailCopy {
	t.Helper()
	h.sent.mu.Lock()
	defer h.sent.mu.Unlock()
	var out []mailCopy
	for _, m := range h.sent.msgs {
		if !slices.Contains(m.to, addr) {
			continue
		}
		env, err := enmime.ReadEnvelope(bytes.NewReader(m.raw))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(env.GetHeader("Subject")+"\n"+env.Text, what) {
			out = append(out, mailCopy{env: env, raw: string(m.raw)})
		}
	}
	return out
}

func (h *harness) declare(t *testing.T, title string, systems ...string) *incident.Incident {
	t.Helper()
	inc, err := h.incidents.Declare(context.Background(), "vp@x.test", incident.DeclareInput{Title: title, Severity: "SEV2",
		Scope: incident.Scope{Systems: systems}, Roles: incident.Roles{CommsLead: "vp@x.test"}})
	if err != nil {
		t.Fatal(err)
	}
	return inc
}

func (h *harness) update(t *testing.T, inc *incident.Incident, status string) {
	t.Helper()
	if _, err := h.comms.SendUpdate(context.Background(), "vp@x.test", inc.Ref, incident.UpdateInput{Status: status}); err != nil {
		t.Fatal(err)
	}
	h.deliver(t)
}

var linkRE = regexp.MustCompile(`https://sitrep\.test/(subscriptions/confirm|unsubscribe)/([A-Za-z0-9_-]+)`)

func token(t *testing.T, text, kind string) string {
	t.Helper()
	for _, m := range linkRE.FindAllStringSubmatch(text, -1) {
		if m[1] == kind {
			return m[2]
		}
	}
	t.Fatalf("no %s link in:\n%s", kind, text)
	return ""
}

func TestDirectoryPersonSubscribesAtOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	sub, pending, err := h.subs.Subscribe(ctx, "ann@x.test", subscription.Request{Email: " Ann@X.test", Kind: "system", Target: "Checkout", Source: "api"})
	if err != nil || pending || !sub.Confirmed || sub.Email != "ann@x.test" || sub.Target != "checkout" {
		t.Fatalf("subscribe: %+v pending=%v err=%v", sub, pending, err)
	}
	again, pending, err := h.subs.Subscribe(ctx, "ann@x.test", subscription.Request{Email: "ann@x.test", Kind: "system", Target: "checkout"})
	if err != nil || pending || again.ID != sub.ID {
		t.Fatalf("the same subscription twice: %+v pending=%v err=%v, want the first (%d)", again, pending, err, sub.ID)
	}
	list, err := h.subs.List(ctx, "ann@x.test")
	if err != nil || len(list) != 1 {
		t.Fatalf("list: %v %v", list, err)
	}
	if len(h.sent.msgs) != 0 || h.queued() != 0 {
		t.Fatal("a directory person was sent a confirmation")
	}
}

// Bad input: a clear errs.Invalid, and nothing stored or mailed.
func TestBadInputChangesNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "partner.test")
	ctx := context.Background()
	inc := h.declare(t, "Checkout fails", "checkout")
	for _, tc := range []struct {
		name  string
		req   subscription.Request
		field string
	}{
		{"outside the allowed domains", subscription.Request{Email: "mallory@evil.test", Kind: "all"}, "email"},
		{"outside, verified", subscription.Request{Email: "mallory@evil.test", Kind: "all", Verified: true}, "email"},
		{"a subdomain is another domain", subscription.Request{Email: "x@a.partner.test", Kind: "all"}, "email"},
		{"not an address", subscription.Request{Email: "ann", Kind: "all"}, "email"},
		{"a name and an address", subscription.Request{Email: "Ann <ann@x.test>", Kind: "all"}, "email"},
		{"too long", subscription.Request{Email: strings.Repeat("a", 250) + "@x.test", Kind: "all"}, "email"},
		{"unknown system", subscription.Request{Email: "ann@x.test", Kind: "system", Target: "billing"}, "target"},
		{"no system", subscription.Request{Email: "ann@x.test", Kind: "system"}, "target"},
		{"unknown incident", subscription.Request{Email: "ann@x.test", Kind: "incident", Target: "INC-999"}, "target"},
		{"not an incident", subscription.Request{Email: "ann@x.test", Kind: "incident", Target: "'; DROP TABLE x"}, "target"},
		{"unknown kind", subscription.Request{Email: "ann@x.test", Kind: "everything"}, "kind"},
		{"no kind", subscription.Request{Email: "ann@x.test"}, "kind"},
		{"all with a target", subscription.Request{Email: "ann@x.test", Kind: "all", Target: "checkout"}, "target"},
	} {
		_, _, err := h.subs.Subscribe(ctx, "api", tc.req)
		var e *errs.Error
		if !errs.Is(err, errs.Invalid) || !asErr(err, &e) || e.Field != tc.field {
			t.Errorf("%s: err %v, want invalid %s", tc.name, err, tc.field)
		}
	}
	if list, err := h.subs.List(ctx, ""); err != nil || len(list) != 0 {
		t.Fatalf("bad requests stored %v (%v)", list, err)
	}
	if n := h.queued(); n != 0 {
		t.Fatalf("bad requests queued %d emails", n)
	}
	// The incident subscription that is valid names the incident as it is named.
	sub, _, err := h.subs.Subscribe(ctx, "api", subscription.Request{Email: "ann@x.test", Kind: "incident", Target: strings.ToLower(inc.Ref)})
	if err != nil || sub.Target != inc.Ref {
		t.Fatalf("subscribe to %s: %+v %v", inc.Ref, sub, err)
	}
}

func asErr(err error, target **errs.Error) bool {
	e, ok := err.(*errs.Error)
	if ok {
		*target = e
	}
	return ok
}

// Double opt-in: an address of an allowed domain gets a link, which
// confirms once; until then nothing is sent to it; a reused, expired or
// made-up link changes nothing.
func TestDoubleOptIn(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "partner.test")
	ctx := context.Background()
	sub, pending, err := h.subs.Subscribe(ctx, "page", subscription.Request{Email: "dana@partner.test", Kind: "system", Target: "checkout", Source: "page"})
	if err != nil || !pending || sub.Confirmed {
		t.Fatalf("subscribe: %+v pending=%v err=%v", sub, pending, err)
	}
	h.deliver(t)
	mails := h.to(t, "dana@partner.test", "Confirm")
	if len(mails) != 1 {
		t.Fatalf("%d confirmation emails, want 1", len(mails))
	}
	if !strings.Contains(mails[0].env.Text, "checkout") {
		t.Errorf("the confirmation does not say what it subscribes to:\n%s", mails[0].env.Text)
	}
	tok := token(t, mails[0].env.Text, "subscriptions/confirm")

	// Unconfirmed: the update does not reach Dana.
	inc := h.declare(t, "Checkout fails", "checkout")
	h.update(t, inc, "We are rolling back.")
	if got := h.to(t, "dana@partner.test", "rolling back"); len(got) != 0 {
		t.Fatal("an unconfirmed subscriber received a status email")
	}

	if _, err := h.subs.Confirm(ctx, tok+"x"); !errs.Is(err, errs.Invalid) {
		t.Fatalf("a made-up link: %v, want invalid", err)
	}
	got, err := h.subs.Confirm(ctx, tok)
	if err != nil || !got.Confirmed || got.ID != sub.ID {
		t.Fatalf("confirm: %+v %v", got, err)
	}
	if _, err := h.subs.Confirm(ctx, tok); !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), "already used") {
		t.Fatalf("a reused link: %v, want invalid (already used)", err)
	}
	h.update(t, inc, "Rollback done.")
	if got := h.to(t, "dana@partner.test", "Rollback done"); len(got) != 1 {
		t.Fatalf("the confirmed subscriber received %d copies, want 1", len(got))
	}

	// An expired link confirms nothing.
	if _, pending, err := h.subs.Subscribe(ctx, "page", subscription.Request{Email: "eric@partner.test", Kind: "all"}); err != nil || !pending {
		t.Fatal(pending, err)
	}
	h.deliver(t)
	late := token(t, h.to(t, "eric@partner.test", "Confirm")[0].env.Text, "subscriptions/confirm")
	h.clock.add(48*time.Hour + time.Second)
	if _, err := h.subs.Confirm(ctx, late); !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("an expired link: %v, want invalid (expired)", err)
	}
	list, _ := h.subs.List(ctx, "eric@partner.test")
	if len(list) != 1 || list[0].Confirmed {
		t.Fatalf("an expired link changed the subscription: %+v", list)
	}
}

// The form cannot mail-bomb an address: three confirmations a day, then
// a refusal that sends nothing and stores nothing.
func TestConfirmationsAreRateLimited(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "partner.test")
	ctx := context.Background()
	for i, kind := range []string{"all", "system", "system"} {
		target := []string{"", "checkout", "search"}[i]
		if _, pending, err := h.subs.Subscribe(ctx, "page", subscription.Request{Email: "victim@partner.test", Kind: kind, Target: target}); err != nil || !pending {
			t.Fatalf("request %d: %v %v", i+1, pending, err)
		}
	}
	_, _, err := h.subs.Subscribe(ctx, "page", subscription.Request{Email: "victim@partner.test", Kind: "all"})
	if !errs.Is(err, errs.RateLimited) {
		t.Fatalf("a fourth confirmation in a day: %v, want rate_limited", err)
	}
	h.deliver(t)
	if got := h.to(t, "victim@partner.test", "Confirm"); len(got) != 3 {
		t.Fatalf("%d confirmation emails, want 3", len(got))
	}
	h.clock.add(25 * time.Hour)
	if _, pending, err := h.subs.Subscribe(ctx, "page", subscription.Request{Email: "victim@partner.test", Kind: "all"}); err != nil || !pending {
		t.Fatalf("a day later: %v %v", pending, err)
	}
}

// A subscriber to a system gets that system's incidents' status emails
// in the stakeholders' thread and nothing of other systems; their copy
// has its own one-click unsubscribe, a group member's copy none; the
// link stops the next update for them only.
func TestFollowersGetTheStatusEmailsAndLeaveWithOneClick(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	for _, req := range []subscription.Request{
		{Email: "ann@x.test", Kind: "system", Target: "checkout"},
		{Email: "hugo@x.test", Kind: "system", Target: "checkout"},
		{Email: "eve@x.test", Kind: "all"}, // in the exec group too
	} {
		if _, _, err := h.subs.Subscribe(ctx, "api", req); err != nil {
			t.Fatal(err)
		}
	}
	checkout := h.declare(t, "Checkout fails", "checkout")
	search := h.declare(t, "Search is slow", "search")
	h.update(t, checkout, "Checkout update one.")
	h.update(t, search, "Search update one.")

	if got := h.to(t, "ann@x.test", "Search update one"); len(got) != 0 {
		t.Fatal("a checkout subscriber received a search update")
	}
	annCopies := h.to(t, "ann@x.test", "Checkout update one")
	execCopies := h.to(t, "exec@x.test", "Checkout update one")
	if len(annCopies) != 1 || len(execCopies) != 1 {
		t.Fatalf("copies: ann %d, exec %d; want 1 each", len(annCopies), len(execCopies))
	}
	ann, exec := annCopies[0].env, execCopies[0].env
	if ann.GetHeader("Message-Id") != exec.GetHeader("Message-Id") || ann.GetHeader("Subject") != exec.GetHeader("Subject") {
		t.Errorf("the follower's copy is not the stakeholders' message: %q %q vs %q %q",
			ann.GetHeader("Message-Id"), ann.GetHeader("Subject"), exec.GetHeader("Message-Id"), exec.GetHeader("Subject"))
	}
	lu := ann.GetHeader("List-Unsubscribe")
	if !strings.HasPrefix(lu, "<https://sitrep.test/unsubscribe/") || ann.GetHeader("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
		t.Errorf("the follower's copy lacks the one-click headers: %q %q", lu, ann.GetHeader("List-Unsubscribe-Post"))
	}
	if !strings.Contains(ann.Text, "Unsubscribe") || !strings.Contains(ann.Text, strings.Trim(lu, "<>")) {
		t.Errorf("the follower's copy lacks the footer with their link:\n%s", ann.Text)
	}
	if exec.GetHeader("List-Unsubscribe") != "" || strings.Contains(exec.Text, "/unsubscribe/") {
		t.Error("a group member's copy carries an unsubscribe link")
	}
	// Eve is in the group and follows everything: one copy, the group's.
	eve := h.to(t, "eve@x.test", "Checkout update one")
	if len(eve) != 1 || eve[0].env.GetHeader("List-Unsubscribe") != "" {
		t.Fatalf("Eve (member and follower): %d copies, or one with an unsubscribe link", len(eve))
	}
	// Hugo reads German: his own language's message, with the German footer.
	hugo := h.to(t, "hugo@x.test", "Checkout update one")
	if len(hugo) != 1 || hugo[0].env.GetHeader("Content-Language") != "de" || !strings.Contains(hugo[0].env.Text, "Abbestellen") {
		t.Fatalf("Hugo's copy is not his German one: %d copies", len(hugo))
	}
	// Per-recipient links: Ann's and Hugo's differ, and Ann's is only in Ann's copy.
	if hugo[0].env.GetHeader("List-Unsubscribe") == lu {
		t.Fatal("two followers share one unsubscribe link")
	}

	// One click (the List-Unsubscribe POST's token): Ann leaves.
	tok := token(t, lu, "unsubscribe")
	got, err := h.subs.UnsubscribeToken(ctx, tok)
	if err != nil || got.Email != "ann@x.test" {
		t.Fatalf("unsubscribe: %+v %v", got, err)
	}
	if _, err := h.subs.UnsubscribeToken(ctx, tok); !errs.Is(err, errs.Invalid) {
		t.Fatalf("the link a second time: %v, want invalid", err)
	}
	h.update(t, checkout, "Checkout update two.")
	if got := h.to(t, "ann@x.test", "Checkout update two"); len(got) != 0 {
		t.Fatal("Ann received the next update after unsubscribing")
	}
	for _, addr := range []string{"exec@x.test", "eve@x.test", "hugo@x.test"} {
		if got := h.to(t, addr, "Checkout update two"); len(got) != 1 {
			t.Errorf("%s received %d copies of the next update, want 1", addr, len(got))
		}
	}
	// The references keep the thread: update two answers update one.
	two := h.to(t, "hugo@x.test", "Checkout update two")[0].env
	if !strings.Contains(two.GetHeader("References"), hugo[0].env.GetHeader("Message-Id")) {
		t.Errorf("the follower's second update is not in their thread: References %q", two.GetHeader("References"))
	}
}

// Unsubscribe by id: one's own only; someone else's is not found and stays.
func TestUnsubscribeOwnOnly(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	sub, _, err := h.subs.Subscribe(ctx, "api", subscription.Request{Email: "ann@x.test", Kind: "all"})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.subs.Unsubscribe(ctx, "exec@x.test", "exec@x.test", sub.ID); !errs.Is(err, errs.NotFound) {
		t.Fatalf("someone else's: %v, want not_found", err)
	}
	if list, _ := h.subs.List(ctx, ""); len(list) != 1 {
		t.Fatal("someone else's unsubscribe removed it")
	}
	if err := h.subs.Unsubscribe(ctx, "ann@x.test", "ann@x.test", sub.ID); err != nil {
		t.Fatal(err)
	}
	if list, _ := h.subs.List(ctx, ""); len(list) != 0 {
		t.Fatal("still subscribed")
	}
}

// Someone who leaves the directory stops receiving at once, though their
// subscription was confirmed.
func TestFollowersWhoLeftTheDirectoryReceiveNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	if _, _, err := h.subs.Subscribe(ctx, "api", subscription.Request{Email: "ann@x.test", Kind: "all"}); err != nil {
		t.Fatal(err)
	}
	inc := h.declare(t, "Checkout fails", "checkout")
	h.update(t, inc, "Update while Ann works here.")
	if got := h.to(t, "ann@x.test", "Update while Ann works here."); len(got) != 1 {
		t.Fatalf("Ann received %d copies, want 1", len(got))
	}
	left := strings.Replace(org, "  - email: ann@x.test\n    name: Ann Responder\n", "", 1)
	left = strings.Replace(left, "members: [ann@x.test]", "members: [exec@x.test]", 1)
	left = strings.Replace(left, "responders: [ann@x.test]", "responders: [exec@x.test]", -1)
	if _, err := h.dir.SyncFile(ctx, []byte(left), "groups.yaml"); err != nil {
		t.Fatal(err)
	}
	h.update(t, inc, "Update after Ann left.")
	if got := h.to(t, "ann@x.test", "Update after Ann left."); len(got) != 0 {
		t.Fatal("someone who left the directory still receives the status emails")
	}
	if got := h.to(t, "exec@x.test", "Update after Ann left."); len(got) != 1 {
		t.Fatal("the group did not get the update")
	}
}
