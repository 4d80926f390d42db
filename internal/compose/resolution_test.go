package compose

import (
	"strings"
	"testing"
	"time"
)

// The leads' copy of an unclear answer names who answered, quotes their
// words literally, and is addressed to the lead reading it, not to the
// reporter it is about.
func TestUnclearAnswerQuotesTheReporterToTheLeads(t *testing.T) {
	r := newRenderer(t)
	d := SampleData(KindUnclearAnswer).(AnswerData)
	d.From, d.Answer = "Rex Two <rex@example.com>", "Works, *mostly*.\n# the history page is empty"
	Address(&d, Copy{Name: "Lena Fischer", Zone: time.UTC, To: "INC-42 leads"})
	out, err := r.Render(KindUnclearAnswer, &d)
	if err != nil {
		t.Fatal(err)
	}
	checkSafeHTML(t, out.HTML)
	if first, _, _ := strings.Cut(out.Text, "\n"); first != "*Unclear answer from Rex Two: is it fixed for them?*" {
		t.Errorf("first line %q", first)
	}
	for _, want := range []string{"Rex Two", "not clearly yes or no", "> Works, *mostly*.\n> # the history page is empty", "sitrep state INC-42 investigating"} {
		if !strings.Contains(out.Text, want) {
			t.Errorf("the unclear-answer notice lacks %q:\n%s", want, out.Text)
		}
	}
	if strings.Contains(out.Text, "Lena") || !strings.HasPrefix(out.Subject, "[INC-42] Unclear answer") {
		t.Errorf("subject %q; text:\n%s", out.Subject, out.Text)
	}
}

// The notices to the leads tell them only what they can do: there is no
// "reopen" command by reply (a reply "reopen" would be sent as a status
// update and refused).
func TestLeadNoticesOfferNoReopenReply(t *testing.T) {
	r := newRenderer(t)
	for _, k := range []Kind{KindStillBroken, KindUnclearAnswer} {
		out, err := r.Render(k, SampleData(k))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out.Text, "reply `reopen`") || strings.Contains(out.Text, "reply reopen") || !strings.Contains(out.Text, "sitrep state INC-42 investigating") {
			t.Errorf("%s:\n%s", k, out.Text)
		}
	}
}

// The resolved email reads without doubled punctuation whatever the
// title ends with (issue 17: "Resolved: INC-1: ...", "certificate..").
func TestResolvedPunctuation(t *testing.T) {
	r := newRenderer(t)
	for _, title := range []string{"Checkout unavailable", "Login fails.", "Is checkout down?"} {
		d := SampleData(KindResolved).(ResolvedData)
		d.Incident.Title, d.RootCause = title, "An expired certificate."
		out, err := r.Render(KindResolved, d)
		if err != nil {
			t.Fatal(err)
		}
		for _, slip := range []string{"..", "?.", ": INC-42:", "Resolved: INC-42:"} {
			if strings.Contains(out.Text, slip) {
				t.Errorf("title %q: the resolved email says %q:\n%s", title, slip, out.Text)
			}
		}
	}
}

// Someone on the confirmers list, who did not report the problem, is not
// told "You reported ..."; a reporter still is.
func TestConfirmTellsOnlyReportersTheyReportedIt(t *testing.T) {
	r := newRenderer(t)
	d := SampleData(KindConfirm).(ConfirmData)
	d.Reporter, d.ReportedAt = false, time.Time{}
	Address(&d, Copy{Name: "Carla Service", Zone: time.UTC})
	out, err := r.Render(KindConfirm, &d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.Text, "You reported") || !strings.Contains(out.Text, "You check fixes for us: this one is for *Checkout unavailable*.") {
		t.Errorf("a confirmer's request:\n%s", out.Text)
	}
	d = SampleData(KindConfirm).(ConfirmData)
	out, err = r.Render(KindConfirm, d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.Text, "You reported *Checkout unavailable* at") {
		t.Errorf("a reporter's request:\n%s", out.Text)
	}
}
