package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestPostmortemOnTheEmbeddedDefault walks the post-mortem on the
// embedded default (the example organisation, iMIP through the mail
// sandbox): propose after the resolution, book, the invitation with its
// text/calendar part in a responder's mailbox, a blaming Issue refused,
// an Issue and an owned Improvement recorded, the results published to
// the owner, and the export.
func TestPostmortemOnTheEmbeddedDefault(t *testing.T) {
	t.Parallel()
	e, h := startHub(t, testConfig(t))
	sb := h.sandbox
	const (
		responder = "lena.vogel@sitrep.example"
		product   = "faith.adeyemi@sitrep.example"
		owner     = "priya.raman@sitrep.example"
	)
	cli(t, e, "declare", "--title", "Checkout down", "--severity", "SEV1", "--systems", "checkout",
		"--lead", "will.hartmann@sitrep.example", "--comms", "grace.okafor@sitrep.example")
	if code := run(context.Background(), []string{"postmortem", "INC-1", "--propose"}, strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{}, e.environ); code == 0 {
		t.Fatal("a post-mortem before the resolution must be refused")
	}
	cli(t, e, "resolve", "INC-1", "--root-cause", "A config push disabled the payment provider's keys.", "--fix", "Rolled the config back.")

	var prop struct {
		Slots []struct {
			Start time.Time `json:"start"`
		} `json:"slots"`
		Postmortem struct {
			Attendees []struct {
				Email  string `json:"email"`
				Source string `json:"source"`
			} `json:"attendees"`
		} `json:"postmortem"`
	}
	out := cli(t, e, "postmortem", "INC-1", "--propose", "--json")
	if err := json.Unmarshal([]byte(out), &prop); err != nil || len(prop.Slots) == 0 {
		t.Fatalf("propose: %v\n%s", err, out)
	}
	sources := map[string]string{}
	for _, a := range prop.Postmortem.Attendees {
		sources[a.Email] = a.Source
	}
	if sources["grace.okafor@sitrep.example"] != "facilitator" || sources[responder] != "responder" || sources[product] != "group:product" {
		t.Fatalf("attendees %v", sources)
	}
	if text := cli(t, e, "postmortem", "INC-1", "--propose"); !strings.Contains(text, "1. ") || !strings.Contains(text, "--book N") {
		t.Fatalf("propose output:\n%s", text)
	}

	cli(t, e, "postmortem", "INC-1", "--book", "1")
	deadline := time.Now().Add(30 * time.Second)
	for {
		var pm struct {
			State, UID string
		}
		_ = json.Unmarshal([]byte(cli(t, e, "postmortem", "INC-1", "--json")), &pm)
		if pm.State == "booked" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not booked after 30s: %+v", pm)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if show := cli(t, e, "show", "INC-1"); !strings.Contains(show, "postmortem") {
		t.Fatalf("the incident must be in the postmortem state:\n%s", show)
	}
	invite := waitMail(t, sb, responder, "Post-mortem: Checkout down")
	raw := string(invite.Raw)
	if !strings.Contains(raw, "text/calendar") || !strings.Contains(raw, "method=REQUEST") && !strings.Contains(raw, `method="REQUEST"`) {
		t.Fatalf("the invitation has no text/calendar REQUEST part:\n%s", raw)
	}

	// The responder accepts from their mail client: an iCalendar REPLY
	// (RFC 5546) to the organizer, which is the hub's reply address; the
	// hub's own ingest reads it and records the answer.
	var booked struct {
		UID       string `json:"uid"`
		Attendees []struct {
			Email    string `json:"email"`
			PartStat string `json:"partstat"`
		} `json:"attendees"`
	}
	_ = json.Unmarshal([]byte(cli(t, e, "postmortem", "INC-1", "--json")), &booked)
	// ORGANIZER is the hub's reply address for the incident, the invite's
	// Reply-To (the calendar part is folded and encoded in the raw mail).
	organizer := strings.Trim(header(invite.Raw, "Reply-To"), "<>")
	if !strings.Contains(organizer, "+") {
		t.Fatalf("the invitation's ORGANIZER must be the hub's reply address, got %q", organizer)
	}
	ics := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test Mail//EN\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\nUID:" + booked.UID +
		"\r\nSEQUENCE:0\r\nDTSTAMP:" + time.Now().UTC().Format("20060102T150405Z") +
		"\r\nORGANIZER:mailto:" + organizer + "\r\nATTENDEE;PARTSTAT=ACCEPTED:mailto:" + responder + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	accept := "From: " + responder + "\r\nTo: " + organizer + "\r\nSubject: Accepted: Post-mortem\r\nMessage-ID: <accept.1@mail.test>\r\nDate: " +
		time.Now().Format(time.RFC1123Z) + "\r\nMIME-Version: 1.0\r\nContent-Type: text/calendar; method=REPLY; charset=UTF-8\r\n\r\n" + ics
	if err := sb.Deliver(context.Background(), responder, []string{organizer}, []byte(accept)); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		_ = json.Unmarshal([]byte(cli(t, e, "postmortem", "INC-1", "--json")), &booked)
		accepted := false
		for _, a := range booked.Attendees {
			if a.Email == responder && a.PartStat == "ACCEPTED" {
				accepted = true
			}
		}
		if accepted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the REPLY did not update the RSVP: %+v", booked.Attendees)
		}
	}

	// The board.
	if code := run(context.Background(), []string{"postmortem", "INC-1", "--issue", "Will Hartmann pushed a bad config."}, strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{}, e.environ); code == 0 {
		t.Fatal("a blaming Issue must be refused")
	}
	if out := cli(t, e, "postmortem", "INC-1", "--issue", "Config pushes skip the staging check."); !strings.Contains(out, "Issue I1 recorded") {
		t.Fatalf("issue: %s", out)
	}
	out = cli(t, e, "postmortem", "INC-1", "--improvement", "Gate config pushes on the staging check", "--owner", owner, "--due", "2099-01-31", "--for", "I1")
	if !strings.Contains(out, "Improvement M1 recorded; owner "+owner) {
		t.Fatalf("improvement: %s", out)
	}
	cli(t, e, "postmortem", "INC-1", "--improvement", "Alert on disabled provider keys")
	if out := cli(t, e, "postmortem", "INC-1", "--publish"); !strings.Contains(out, "results sent") || !strings.Contains(out, "1 improvement(s) have no owner") {
		t.Fatalf("publish: %s", out)
	}
	results := waitMail(t, sb, owner, "Post-mortem results")
	if body := strings.ReplaceAll(string(results.Raw), "=\r\n", ""); !strings.Contains(body, "Gate config pushes on the staging check") {
		t.Fatalf("results email:\n%s", body)
	}
	csv := cli(t, e, "improvements", "--owner", owner, "--csv")
	if lines := strings.Split(strings.TrimSpace(csv), "\n"); len(lines) != 2 || !strings.Contains(lines[1], "2099-01-31") {
		t.Fatalf("csv:\n%s", csv)
	}
	if list := cli(t, e, "improvements"); !strings.Contains(list, "NO OWNER") {
		t.Fatalf("an unowned improvement must be flagged:\n%s", list)
	}
}
