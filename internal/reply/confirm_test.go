package reply_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/jobs"
	"github.com/sitrep-dev/sitrep/internal/mailmsg"
	"github.com/sitrep-dev/sitrep/internal/outbox"
	"github.com/sitrep-dev/sitrep/internal/reply"
	"github.com/sitrep-dev/sitrep/internal/resolution"
	"github.com/sitrep-dev/sitrep/internal/storetest"
)

// confirmOrg has two reporters: Rae is also in the exec group and so has
// the stakeholder thread's mail too; Rex has only what was sent to him.
const confirmOrg = `organization: Confirm Test
people:
  - {email: lena@example.com, name: Lena Fischer, roles: [comms-lead, incident-lead]}
  - {email: rae@example.com, name: Rae One}
  - {email: rex@example.com, name: Rex Two}
groups:
  - {name: exec, display_name: Executives, members: [rae@example.com]}
audiences:
  status: [exec]
  resolved: [exec]
`

// newConfirmEnv is the reply use case with the resolution flow behind it,
// an incident with two reporters, an update sent, and the incident resolved.
func newConfirmEnv(t *testing.T) (*env, *resolution.Service) {
	t.Helper()
	ctx := context.Background()
	db := storetest.Open(t)
	dir := &directory.Store{DB: db}
	if _, err := dir.SyncFile(ctx, []byte(confirmOrg), "groups.yaml"); err != nil {
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
	incidents := &incident.Service{DB: db, People: dir}
	ob := &outbox.Outbox{DB: db, Jobs: ins, Renderer: renderer, Directory: dir, Domain: "example.test", From: "sitrep <status@example.test>", ReplyPart: "status"}
	comms := &incident.Comms{DB: db, Incidents: incidents, Directory: dir, Mail: ob}
	res := &resolution.Service{DB: db, Incidents: incidents, Mail: ob, Comms: comms, Directory: dir, WriteUpAfter: 48 * time.Hour}
	inc, err := incidents.Declare(ctx, "lena@example.com", incident.DeclareInput{Title: "Login fails", Severity: "SEV2",
		Roles:   incident.Roles{CommsLead: "lena@example.com", IncidentLead: "lena@example.com"},
		Reports: []incident.ReportInput{{Email: "rae@example.com", Observed: "Login spins"}, {Email: "rex@example.com", Observed: "Error 500"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := comms.SendUpdate(ctx, "lena@example.com", inc.Ref, incident.UpdateInput{Status: "The session store is failing over."}); err != nil {
		t.Fatal(err)
	}
	e := &env{ob: ob, inc: inc, outcomes: outcomes{}}
	e.svc = &reply.Service{DB: db, Incidents: incidents, Comms: comms, Mail: ob, Directory: dir, Inbox: e.outcomes, Resolution: res,
		LocalPart: "status", TrustedAuthServIDs: []string{"mx.example.test"}}
	return e, res
}

// sentMail is one message as a recipient has it: its Message-ID and what
// it says it answers.
type sentMail struct {
	kind, messageID, inReplyTo string
	refs                       []string
}

// mailOf lists, oldest first, what the hub queued for email.
func (e *env) mailOf(t *testing.T, email string) []sentMail {
	t.Helper()
	rows, err := e.svc.DB.Query(`SELECT m.kind, m.message_id, m.in_reply_to, m.refs FROM messages m JOIN deliveries d ON d.message_id = m.id
		WHERE d.email = $1 ORDER BY m.id`, email)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []sentMail
	for rows.Next() {
		var m sentMail
		var refs string
		if err := rows.Scan(&m.kind, &m.messageID, &m.inReplyTo, &refs); err != nil {
			t.Fatal(err)
		}
		json.Unmarshal([]byte(refs), &m.refs)
		out = append(out, m)
	}
	return out
}

func confirmsOf(ms []sentMail) []sentMail {
	var out []sentMail
	for _, m := range ms {
		if m.kind == string(compose.KindConfirm) {
			out = append(out, m)
		}
	}
	return out
}

// Each reporter's "Is it fixed for you?" threads on what that reporter was
// sent, never on another reporter's private question (issue 17: the
// second reporter's request named the first's in In-Reply-To and
// References). Asked again after a reopening, each continues their own.
// A reply to it still comes back to the incident and is filed as that
// reporter's answer.
func TestEachReporterIsAskedToConfirmInTheirOwnThread(t *testing.T) {
	t.Parallel()
	e, res := newConfirmEnv(t)
	ctx := context.Background()
	for round := 1; round <= 2; round++ {
		if round == 2 {
			if _, err := e.svc.Incidents.Transition(ctx, "lena@example.com", e.inc.Ref, incident.Investigating, "still broken for one reporter"); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := res.Resolve(ctx, "lena@example.com", e.inc.Ref, resolution.ResolveInput{RootCause: "The session store ran out of disk."}); err != nil {
			t.Fatal(err)
		}
	}
	mail := map[string][]sentMail{"rae@example.com": e.mailOf(t, "rae@example.com"), "rex@example.com": e.mailOf(t, "rex@example.com")}
	for me, other := range map[string]string{"rae@example.com": "rex@example.com", "rex@example.com": "rae@example.com"} {
		mine := confirmsOf(mail[me])
		if len(mine) != 2 {
			t.Fatalf("%s was asked %d times, want 2", me, len(mine))
		}
		theirs := map[string]bool{}
		for _, m := range mail[other] {
			theirs[m.messageID] = true
		}
		for i, c := range mine {
			for _, id := range append([]string{c.inReplyTo}, c.refs...) {
				if theirs[id] {
					t.Errorf("%s's confirmation request %d names %s, which was sent to %s", me, i+1, id, other)
				}
			}
		}
		if mine[0].inReplyTo != "" || len(mine[0].refs) != 0 {
			t.Errorf("%s's first request answers %q %v: it starts their own thread", me, mine[0].inReplyTo, mine[0].refs)
		}
		if mine[1].inReplyTo != mine[0].messageID || !slices.Contains(mine[1].refs, mine[0].messageID) {
			t.Errorf("%s's second request (%q %v) does not continue their first (%s)", me, mine[1].inReplyTo, mine[1].refs, mine[0].messageID)
		}
	}

	// Rex answers his latest request, through the incident's reply
	// address; Rae answers hers to the bare hub address, by thread alone.
	rex := confirmsOf(mail["rex@example.com"])[1]
	out := e.receive(t, 1, fmt.Sprintf(`From: Rex Two <rex@example.com>
To: status+%s@example.test
Subject: Re: [INC-1] Is it fixed for you? Login fails
Message-ID: <rex1@example.com>
In-Reply-To: %s
Date: Sun, 06 Dec 2026 09:00:00 +0000
Content-Type: text/plain

Yes, fixed. Thanks!
`, e.inc.ReplyToken, rex.messageID))
	if out.MatchedBy != mailmsg.MatchToken || out.Action != "confirmation: confirmed" {
		t.Fatalf("Rex's answer: %+v", out)
	}
	rae := confirmsOf(mail["rae@example.com"])[1]
	out = e.receive(t, 2, fmt.Sprintf(`From: Rae One <rae@example.com>
To: status@example.test
Subject: Re: Is it fixed for you?
Message-ID: <rae1@example.com>
In-Reply-To: %s
References: %s %s
Date: Sun, 06 Dec 2026 09:01:00 +0000
Content-Type: text/plain

No, still broken for me.
`, rae.messageID, confirmsOf(mail["rae@example.com"])[0].messageID, rae.messageID))
	if out.MatchedBy != mailmsg.MatchThread || out.MatchedRef != "INC-1" || out.Action != "confirmation: still_broken" {
		t.Fatalf("Rae's answer: %+v", out)
	}
	got, err := res.Confirmations(ctx, e.inc.Ref)
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, c := range got {
		states[c.Email] = c.State
	}
	if states["rex@example.com"] != resolution.AnswerConfirmed || states["rae@example.com"] != resolution.AnswerStillBroken {
		t.Fatalf("confirmations %v", states)
	}
}

// An answer that is neither yes nor no is not only a line on the
// timeline: the leads are told at once, in their thread, with the
// reporter's words, as for "still broken" (issue 17).
func TestAnUnclearAnswerIsSentToTheLeadsWithTheWords(t *testing.T) {
	t.Parallel()
	e, res := newConfirmEnv(t)
	ctx := context.Background()
	if _, err := res.Resolve(ctx, "lena@example.com", e.inc.Ref, resolution.ResolveInput{RootCause: "The session store ran out of disk."}); err != nil {
		t.Fatal(err)
	}
	words := "Works on desktop but mobile still fails"
	out := e.receive(t, 1, `From: Rex Two <rex@example.com>
To: status+`+e.inc.ReplyToken+`@example.test
Subject: Re: [INC-1] Is it fixed for you? Login fails
Message-ID: <rex2@example.com>
Date: Sun, 06 Dec 2026 09:00:00 +0000
Content-Type: text/plain

`+words+`
`)
	if out.Action != "confirmation: ambiguous" {
		t.Fatalf("outcome %+v: want an unclear answer", out)
	}
	told := e.queued(t, compose.KindUnclearAnswer)
	if len(told) != 1 || told[0]["audience"] != compose.Leads || told[0]["Answer"] != words || !strings.Contains(told[0]["From"].(string), "rex@example.com") {
		t.Fatalf("unclear-answer notices %v: want one in the leads' thread with Rex's words", told)
	}
	// A yes tells nobody.
	out = e.receive(t, 2, `From: Rae One <rae@example.com>
To: status+`+e.inc.ReplyToken+`@example.test
Subject: Re: [INC-1] Is it fixed for you? Login fails
Message-ID: <rae2@example.com>
Date: Sun, 06 Dec 2026 09:00:00 +0000
Content-Type: text/plain

Yes, works now.
`)
	if out.Action != "confirmation: confirmed" || len(e.queued(t, compose.KindUnclearAnswer))+len(e.queued(t, compose.KindStillBroken)) != 1 {
		t.Fatalf("a yes: %+v", out)
	}
}

// A lead's "resolve" by reply without the resolution flow moves the
// incident with a note that does not repeat the state: "→ resolved:
// resolved by reply: ..." said it twice, with two colons (issue 17).
func TestResolveByReplyNoteSaysItOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	out := e.receive(t, 1, `From: Lena Fischer <lena@example.com>
To: status+`+e.inc.ReplyToken+`@example.test
Subject: Re: [INC-1] Orders cannot be placed
Message-ID: <r1@example.com>
Date: Sun, 06 Dec 2026 09:00:00 +0000
Authentication-Results: mx.example.test; dmarc=pass header.from=example.com
Content-Type: text/plain

resolve: the database was restored
`)
	if out.State != mailmsg.StateProcessed || out.Err != "" {
		t.Fatalf("outcome %+v", out)
	}
	events, err := e.svc.Incidents.Timeline(context.Background(), e.inc.Ref)
	if err != nil {
		t.Fatal(err)
	}
	var got string
	for _, ev := range events {
		if ev.Kind == incident.EventStateChanged {
			got = ev.Text
		}
	}
	if got != "State investigating → resolved: by reply; the database was restored" {
		t.Errorf("state change %q", got)
	}
}

// A reporter answers in German that it is still broken, under Gmail's
// German attribution line: the leads are alerted with the words, as for
// an English "still broken" (issue 18; it used to be "ambiguous" and
// nobody was told). A French "yes" confirms.
func TestAGermanStillBrokenAlertsTheLeads(t *testing.T) {
	t.Parallel()
	e, res := newConfirmEnv(t)
	ctx := context.Background()
	if _, err := res.Resolve(ctx, "lena@example.com", e.inc.Ref, resolution.ResolveInput{RootCause: "The session store ran out of disk."}); err != nil {
		t.Fatal(err)
	}
	words := "Nein, es geht immer noch nicht. Die Bestellseite zeigt weiterhin Fehler 500."
	out := e.receive(t, 1, `From: Rex Two <rex@example.com>
To: status+`+e.inc.ReplyToken+`@example.test
Subject: AW: [INC-1] Ist es für Sie behoben? Login fails
Message-ID: <rex-de@example.com>
Date: Sun, 06 Dec 2026 09:00:00 +0000
Content-Type: text/plain; charset=utf-8

`+words+`

Am So., 6. Dez. 2026 um 09:55 Uhr schrieb sitrep <status@example.test>:
> Wir glauben, dass es seit 09:50 behoben ist.
> Ja, behoben?
`)
	if out.Action != "confirmation: still_broken" {
		t.Fatalf("outcome %+v: want still broken", out)
	}
	told := e.queued(t, compose.KindStillBroken)
	if len(told) != 1 || told[0]["audience"] != compose.Leads || !strings.Contains(told[0]["Answer"].(string), "Fehler 500") {
		t.Fatalf("still-broken notices %v: want one in the leads' thread with Rex's words", told)
	}
	out = e.receive(t, 2, `From: Rae One <rae@example.com>
To: status+`+e.inc.ReplyToken+`@example.test
Subject: RE: [INC-1] Login fails
Message-ID: <rae-fr@example.com>
Date: Sun, 06 Dec 2026 09:01:00 +0000
Content-Type: text/plain; charset=utf-8

Oui, c'est réparé, merci !

Le dim. 6 déc. 2026 à 09:55, sitrep <status@example.test> a écrit :
> Est-ce réparé pour vous ?
`)
	if out.Action != "confirmation: confirmed" {
		t.Fatalf("a French yes: %+v", out)
	}
}

// A lead's "resolve" by reply may say what customers read of the end in a
// "public:" section: for an incident customers were told of, it is the
// public page's resolution (and its subscribers' email); the root cause
// stays the stakeholders'. For one they were never told of, it is
// refused, nothing changed.
func TestResolveByReplyWithPublicWords(t *testing.T) {
	t.Parallel()
	e, _ := newConfirmEnv(t)
	ctx := context.Background()
	reply := func(id int64, body string) mailmsg.Outcome {
		return e.receive(t, id, `From: Lena Fischer <lena@example.com>
To: status+`+e.inc.ReplyToken+`@example.test
Subject: Re: [INC-1] Login fails
Message-ID: <r`+strconv.FormatInt(id, 10)+`@example.com>
Date: Sun, 06 Dec 2026 09:00:00 +0000
Authentication-Results: mx.example.test; dmarc=pass header.from=example.com
Content-Type: text/plain

`+body)
	}
	// Never public: refused, still investigating.
	out := reply(1, "resolve: the session store ran out of disk\npublic: Logins work again.")
	if !strings.Contains(out.Action, "command refused") || !strings.Contains(out.Err, "never had public wording") {
		t.Fatalf("public words for a never-public incident: %+v", out)
	}
	if inc, _ := e.svc.Incidents.Get(ctx, e.inc.Ref); inc.State != incident.Investigating {
		t.Fatalf("a refused resolve moved the incident to %s", inc.State)
	}
	if _, err := e.svc.Comms.SendUpdate(ctx, "lena@example.com", e.inc.Ref, incident.UpdateInput{Status: "Failing over.", Public: "Some logins fail."}); err != nil {
		t.Fatal(err)
	}
	out = reply(2, "resolve: the session store ran out of disk\npublic: Logins work again.")
	if out.State != mailmsg.StateProcessed || out.Err != "" {
		t.Fatalf("resolve with public words: %+v", out)
	}
	events, err := e.svc.Incidents.Timeline(ctx, e.inc.Ref)
	if err != nil {
		t.Fatal(err)
	}
	var public, root any
	for _, ev := range events {
		if ev.Kind == resolution.EventResolvedEmail {
			public, root = ev.Data["public"], ev.Data["root_cause"]
		}
	}
	if public != "Logins work again." || root != "the session store ran out of disk" {
		t.Errorf("the resolution: public %v, root cause %v", public, root)
	}
}
