package reply_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/mailmsg"
	"github.com/sitrep-dev/sitrep/internal/subscription"
)

// "subscribe" and "unsubscribe" by reply act for an authenticated sender
// who may subscribe, on themselves only; anything else changes nothing
// and the outcome and timeline say why. A lead's "subscribe" is not sent
// out as a status update.
func TestSubscribeByReply(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	subs := &subscription.Service{DB: e.svc.DB, Directory: e.svc.Directory, Incidents: e.svc.Incidents}
	e.svc.Subscriptions = subs
	n := int64(0)
	send := func(from, auth, text string) mailmsg.Outcome {
		t.Helper()
		n++
		hdr := ""
		if auth != "" {
			hdr = "Authentication-Results: " + auth + "\n"
		}
		return e.receive(t, n, `From: `+from+`
To: status+`+e.inc.ReplyToken+`@example.test
Subject: Re: [INC-1] Orders cannot be placed
Message-ID: <s`+strings.Repeat("x", int(n))+`@example.com>
Date: Sun, 06 Dec 2026 09:00:00 +0000
`+hdr+`Content-Type: text/plain

`+text+`
`)
	}
	trusted := "mx.example.test; dmarc=pass header.from=example.com"
	list := func(email string) []subscription.Subscription {
		t.Helper()
		l, err := subs.List(ctx, email)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}

	out := send("Catherine Osei <ceo@example.com>", trusted, "Subscribe")
	if l := list("ceo@example.com"); len(l) != 1 || l[0].Kind != "incident" || l[0].Target != "INC-1" || !l[0].Confirmed || l[0].Source != "reply" {
		t.Fatalf("subscribe by reply: %+v (outcome %+v)", l, out)
	}
	if out.State != mailmsg.StateProcessed || !strings.Contains(out.Action, "subscribe by reply") || out.Err != "" {
		t.Errorf("outcome %+v", out)
	}

	// The lead: subscribed to everything, and no status update went out.
	out = send("Lena Fischer <lena@example.com>", trusted, "subscribe all")
	if l := list("lena@example.com"); len(l) != 1 || l[0].Kind != "all" {
		t.Fatalf("the lead's subscribe all: %+v (outcome %+v)", l, out)
	}
	if st := e.queued(t, compose.KindStatus); len(st) != 0 {
		t.Fatalf("a lead's \"subscribe all\" went out as %d status updates", len(st))
	}

	// Refused, nothing changed: a forged sender, an address outside the
	// directory, an unknown system, a subscription that is not there.
	for _, c := range []struct{ from, auth, text, why string }{
		{"Catherine Osei <ceo@example.com>", "mx.attacker.test; dmarc=pass header.from=example.com", "unsubscribe", "could not be authenticated"},
		{"Catherine Osei <ceo@example.com>", "", "unsubscribe", "could not be authenticated"},
		{"Mallory <mallory@example.com>", trusted, "subscribe all", "not in the directory"},
		{"Catherine Osei <ceo@example.com>", trusted, "subscribe system checkout", "unknown system"},
		{"Catherine Osei <ceo@example.com>", trusted, "unsubscribe all", "no subscription"},
	} {
		out := send(c.from, c.auth, c.text)
		if out.State != mailmsg.StateProcessed || !strings.Contains(out.Err, "refused") || !strings.Contains(out.Err, c.why) {
			t.Errorf("%s %q: outcome %+v, want refused (%s)", c.from, c.text, out, c.why)
		}
	}
	if l := list(""); len(l) != 2 {
		t.Fatalf("refused replies changed the subscriptions: %+v", l)
	}
	events, err := e.svc.Incidents.Timeline(ctx, e.inc.Ref)
	if err != nil {
		t.Fatal(err)
	}
	refusedOnTimeline := 0
	for _, ev := range events {
		if r, ok := ev.Data["refused"].(string); ok && strings.Contains(r, "could not be authenticated") {
			refusedOnTimeline++
		}
	}
	if refusedOnTimeline != 2 {
		t.Errorf("%d timeline events say why an unauthenticated reply changed nothing, want 2", refusedOnTimeline)
	}

	out = send("Catherine Osei <ceo@example.com>", trusted, "unsubscribe")
	if l := list("ceo@example.com"); len(l) != 0 || !strings.Contains(out.Action, "unsubscribe by reply") {
		t.Fatalf("unsubscribe by reply: %+v (outcome %+v)", l, out)
	}
}
