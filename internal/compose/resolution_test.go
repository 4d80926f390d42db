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
	d := SampleData(KindUnclearAnswer).(UnclearAnswerData)
	d.From, d.Answer = "Rex Two <rex@example.com>", "Works, *mostly*.\n# the history page is empty"
	Address(&d, Copy{Name: "Lena Fischer", Zone: time.UTC, To: "INC-42 leads"})
	out, err := r.Render(KindUnclearAnswer, &d)
	if err != nil {
		t.Fatal(err)
	}
	checkSafeHTML(t, out.HTML)
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

// The resolved email's first line has one colon and one full stop,
// whatever the title ends with (issue 17: "Resolved: INC-1: ...", and
// "certificate.." after a title with a full stop of its own).
func TestResolvedFirstLinePunctuation(t *testing.T) {
	r := newRenderer(t)
	for title, want := range map[string]string{
		"Checkout unavailable": "Resolved: INC-42, Checkout unavailable. Service was restored",
		"Login fails.":         "Resolved: INC-42, Login fails. Service was restored",
		"Is checkout down?":    "Resolved: INC-42, Is checkout down? Service was restored",
		"Payments slow!":       "Resolved: INC-42, Payments slow! Service was restored",
	} {
		d := SampleData(KindResolved).(ResolvedData)
		d.Incident.Title = title
		out, err := r.Render(KindResolved, d)
		if err != nil {
			t.Fatal(err)
		}
		first := strings.ReplaceAll(strings.SplitN(strings.TrimSpace(out.Text), "\n", 2)[0], "*", "")
		if !strings.HasPrefix(first, want) {
			t.Errorf("title %q: first line %q, want it to start %q", title, first, want)
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
