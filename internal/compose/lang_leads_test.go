package compose

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/i18n"
)

// leadsCase is one message of the leads' thread, with words sitrep itself
// writes in its English rendering (never words of the data, nor the reply
// commands, which stay as they are typed) and the time it shows.
type leadsCase struct {
	name    string
	kind    Kind
	data    func() any
	english []string
	at      func(d any) time.Time // the time the message shows; nil: none
}

func leadsCases() []leadsCase {
	reminderAt := func(d any) time.Time { return d.(*ReminderData).DueAt }
	answerAt := func(d any) time.Time { return d.(*AnswerData).ReceivedAt }
	return []leadsCase{
		{"reminder", KindReminder, func() any { return SampleData(KindReminder) },
			[]string{"Update due", "were promised", "Reply to this email", "the update text", "push the next update back", "For the leads", "Incident page"}, reminderAt},
		{"overdue", KindOverdue, func() any { return SampleData(KindOverdue) },
			[]string{"OVERDUE", "was due at", "nothing has gone out", "the comms lead, was reminded", "Reply to this email", "For the leads"}, reminderAt},
		{"reminder of the first update", KindReminder, func() any {
			d := SampleData(KindReminder).(ReminderData)
			d.FirstUpdate, d.Within, d.DueAt = true, 5*time.Minute, d.Now.Add(2*time.Minute)
			return d
		}, []string{"First update due", "Nothing has been sent", "policy wants the first status update", "after the declaration", "Reply to this email"}, reminderAt},
		{"overdue first update", KindOverdue, func() any {
			d := SampleData(KindOverdue).(ReminderData)
			d.FirstUpdate, d.Within = true, 5*time.Minute
			return d
		}, []string{"OVERDUE", "no first update sent", "first status update", "after the declaration", "nothing has gone out", "have heard nothing", "the comms lead, was reminded"}, reminderAt},
		{"question_due", KindQuestionDue, func() any { return SampleData(KindQuestionDue) },
			[]string{"Unanswered for", "question from", "has waited more than", "time to answer", "marked it answered", "asked at", "Answer the person directly", "reminded once", "For the leads"},
			func(d any) time.Time { return d.(*QuestionDueData).Questions[0].ReceivedAt }},
		{"question_due two questions", KindQuestionDue, func() any {
			d := SampleData(KindQuestionDue).(QuestionDueData)
			q := d.Questions[0]
			q.From, q.Audience, q.ReceivedAt = "Omar Haddad <omar@example.com>", "", q.ReceivedAt.Add(time.Minute)
			d.Questions = append(d.Questions, q)
			return d
		}, []string{"2 questions unanswered for", "These questions", "have waited", "marked them answered"},
			func(d any) time.Time { return d.(*QuestionDueData).Questions[0].ReceivedAt }},
		{"command_refused", KindCommandRefused, func() any {
			d := SampleData(KindCommandRefused).(CommandRefusedData)
			d.Reason = "" // the reason is English from Go (a domain error): not this test's to check
			return d
		}, []string{"Refused", "A reply about", "asked for", "carry it out", "A lead can reply", "the text of the next update"}, nil},
		{"command_refused failing the checks", KindCommandRefused, func() any {
			d := SampleData(KindCommandRefused).(CommandRefusedData)
			d.Reason, d.AuthDetail = "", "dmarc=fail; spf=fail"
			d.Refusals = []string{RefusedNotLead, RefusedNotReplyAddress, RefusedUnauthenticated}
			return d
		}, []string{"Refused", "is not a lead of", "was not sent to", "reply address", "could not be authenticated", "carry it out"}, nil},
		{"bounce_notice", KindBounceNotice, func() any { return SampleData(KindBounceNotice) },
			[]string{"Bounce", "did not reach", "Not delivered", "This looks temporary", "tell them another way"},
			func(d any) time.Time { return d.(*BounceNoticeData).At }},
		{"bounce_notice permanent heads-up", KindBounceNotice, func() any {
			d := SampleData(KindBounceNotice).(BounceNoticeData)
			d.Permanent, d.BouncedKind, d.Position = true, KindHeadsUp, 1
			return d
		}, []string{"Bounce", "the heads-up", "did not reach", "permanently broken", "fix their address"},
			func(d any) time.Time { return d.(*BounceNoticeData).At }},
		{"unverified_bounce", KindUnverifiedBounce, func() any { return SampleData(KindUnverifiedBounce) },
			[]string{"Unverified bounce", "nothing changed", "delivery failed", "did not come back", "changed no delivery", "colleague"},
			func(d any) time.Time { return d.(*UnverifiedBounceData).At }},
		{"unverified_bounce two addresses", KindUnverifiedBounce, func() any {
			d := SampleData(KindUnverifiedBounce).(UnverifiedBounceData)
			d.Recipients, d.Cause = []string{"ceo@example.com", "cfo@example.com"}, UnverifiedOtherTransaction
			return d
		}, []string{"Unverified bounce", "and others", "1 more", "came back to the address of a transaction", "these addresses"},
			func(d any) time.Time { return d.(*UnverifiedBounceData).At }},
		{"stakeholder_reply", KindStakeholderReply, func() any { return SampleData(KindStakeholderReply) },
			[]string{"Question from", "replied to", "kept away from the responders", "Answer directly", "For the leads"},
			func(d any) time.Time { return d.(*StakeholderReplyData).Questions[0].ReceivedAt }},
		{"stakeholder_reply two questions", KindStakeholderReply, func() any {
			d := SampleData(KindStakeholderReply).(StakeholderReplyData)
			q := d.Questions[0]
			q.From, q.Audience = "Omar Haddad <omar@example.com>", ""
			d.Questions = append(d.Questions, q)
			return d
		}, []string{"2 questions, the first from", "replied to", "These were kept away", "cover them"},
			func(d any) time.Time { return d.(*StakeholderReplyData).Questions[0].ReceivedAt }},
		{"draft_alert", KindDraftAlert, func() any { return SampleData(KindDraftAlert) },
			[]string{"Draft update waiting", "drafted a status update", "It has not been sent", "The next update is due", "goes to", "to send it as it is"},
			func(d any) time.Time { return d.(*DraftAlertData).DueAt }},
		{"draft_alert from a monitor", KindDraftAlert, func() any {
			d := SampleData(KindDraftAlert).(DraftAlertData)
			d.Alert, d.DraftedBy, d.Incident.ID = true, "Grafana", "DRAFT-12"
			return d
		}, []string{"Alert:", "declare or dismiss", "opened draft", "Nothing has been sent", "First failure", "Suspected systems", "Open it in the monitor", "false alarm", "Suggested severity", "Fired 3 times", "with the reports filed so far", "from the command line"},
			func(d any) time.Time { return d.(*DraftAlertData).Incident.FirstFailureAt }},
		{"still_broken", KindStillBroken, func() any { return SampleData(KindStillBroken) },
			[]string{"STILL BROKEN", "who reported it", "is not fixed for them", "answered at", "isolated case", "reopen the incident"}, answerAt},
		{"unclear_answer", KindUnclearAnswer, func() any { return SampleData(KindUnclearAnswer) },
			[]string{"Unclear answer", "is it fixed for them", "not clearly yes or no", "Read it", "reopen the incident"}, answerAt},
		{"writeup_due", KindWriteUpDue, func() any { return SampleData(KindWriteUpDue) },
			[]string{"Write-up due", "write-up due", "blameless write-up", "was promised", "Start from the draft", "edit it"}, reminderAt},
		{"writeup_due overdue", KindWriteUpDue, func() any {
			d := SampleData(KindWriteUpDue).(ReminderData)
			d.Overdue, d.DueAt = true, d.Now.Add(-3*time.Hour)
			return d
		}, []string{"Write-up OVERDUE", "write-up overdue", "blameless write-up", "overdue", "Start from the draft"}, reminderAt},
		{"rootcause_due", KindRootCauseDue, func() any { return SampleData(KindRootCauseDue) },
			[]string{"Root cause still unknown", "after the fix", "without a known root cause", "watching closely", "record it", "once a day", "For the leads"},
			func(d any) time.Time { return d.(*RootCauseDueData).Incident.ResolvedAt }},
	}
}

// readerZones are where each test reader lives.
var readerZones = map[string]string{"en": "Europe/Berlin", "de": "Europe/Berlin", "fr": "Europe/Paris", "es": "Europe/Madrid", "ja": "Asia/Tokyo"}

// Every message of the leads' thread reads in the reader's language: no
// sentence of sitrep's English is left, the first line (what the message
// is) is translated, and the times are written as the reader writes them.
// Each is addressed to a lead who is not the person it is about.
func TestLeadsMessagesInEveryLanguage(t *testing.T) {
	r := newRenderer(t)
	cat, err := i18n.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	render := func(t *testing.T, c leadsCase, lang string) (any, *Rendered) {
		t.Helper()
		data, err := NewData(c.kind)
		if err != nil {
			t.Fatal(err)
		}
		reflect.ValueOf(data).Elem().Set(reflect.ValueOf(c.data()))
		Address(data, Copy{Name: "Lena Fischer", Zone: mustZone(t, readerZones[lang]), To: "INC-42 leads", Language: lang})
		out, err := r.RenderIn(lang, c.kind, data)
		if err != nil {
			t.Fatalf("%s in %s: %v", c.name, lang, err)
		}
		return data, out
	}
	for _, c := range leadsCases() {
		_, en := render(t, c, "en")
		enAll := en.Subject + "\n" + en.Text
		for _, w := range c.english {
			if !strings.Contains(enAll, w) {
				t.Fatalf("%s: the English rendering lacks %q, so the test checks nothing:\n%s", c.name, w, enAll)
			}
		}
		enFirst, _, _ := strings.Cut(en.Text, "\n")
		for _, lang := range []string{"de", "fr", "es", "ja"} {
			data, out := render(t, c, lang)
			all := out.Subject + "\n" + out.Text
			if strings.TrimSpace(out.Text) == "" || out.Subject == "" {
				t.Errorf("%s in %s: empty subject or body", c.name, lang)
				continue
			}
			for _, w := range c.english {
				if strings.Contains(all, w) {
					t.Errorf("%s in %s: English %q remains:\n%s", c.name, lang, w, all)
				}
			}
			first, _, _ := strings.Cut(out.Text, "\n")
			if first == enFirst {
				t.Errorf("%s in %s: the first line is the English one: %q", c.name, lang, first)
			}
			if out.Preheader != "" && first != "*"+out.Preheader+"*" {
				t.Errorf("%s in %s: the first line %q is not the preheader %q", c.name, lang, first, out.Preheader)
			}
			if (out.Preheader == "") != (en.Preheader == "") {
				t.Errorf("%s in %s: preheader %q, English %q", c.name, lang, out.Preheader, en.Preheader)
			}
			if out.Subject == en.Subject && c.kind != KindCommandRefused {
				t.Errorf("%s in %s: the subject is the English one: %q", c.name, lang, out.Subject)
			}
			for _, bad := range []string{"<no value>", "**", string(c.kind) + "."} {
				if strings.Contains(all, bad) || strings.Contains(out.HTML, bad) {
					t.Errorf("%s in %s: %q in the output (a broken placeholder, bold or missing key):\n%s", c.name, lang, bad, all)
				}
			}
			if strings.Contains(all, "Lena") {
				t.Errorf("%s in %s names its reader as if it were about them:\n%s", c.name, lang, all)
			}
			if c.at != nil {
				l := cat.Localizer(lang)
				at := c.at(data)
				want := l.Clock(at, mustZone(t, readerZones[lang]), reflect.ValueOf(data).Elem().FieldByName("Now").Interface().(time.Time))
				if !strings.Contains(all, want) {
					t.Errorf("%s in %s: the time is not written %q, as the reader writes it:\n%s", c.name, lang, want, all)
				}
			}
		}
	}
}

// The root-cause reminder names a time on another day: each reader reads
// the day in their own language.
func TestLeadsDatesInTheReadersFormat(t *testing.T) {
	r := newRenderer(t)
	for lang, want := range map[string]string{
		"de": "Mo., 2. März, 13:05 CET (12:05 UTC)",
		"fr": "lun. 2 mars à 13:05 CET (12:05 UTC)",
		"es": "lun., 2 mar., 13:05 CET (12:05 UTC)",
		"ja": "3月2日(月) 21:05 JST (12:05 UTC)",
	} {
		d := SampleData(KindRootCauseDue).(RootCauseDueData)
		Address(&d, Copy{Name: "Lena Fischer", Zone: mustZone(t, readerZones[lang]), Language: lang})
		out, err := r.RenderIn(lang, KindRootCauseDue, &d)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(strings.ToLower(out.Text), strings.ToLower(want)) {
			t.Errorf("%s: the fix time is not %q:\n%s", lang, want, out.Text)
		}
	}
}

// A bounce notice queued before BouncedKind (What in English) still
// names what bounced; one with BouncedKind names it in the reader's
// language.
func TestBounceNoticeNamesWhatBouncedPerLanguage(t *testing.T) {
	r := newRenderer(t)
	d := SampleData(KindBounceNotice).(BounceNoticeData)
	for lang, want := range map[string]string{"en": "update 2", "de": "Update 2", "fr": "le point 2", "es": "la actualización 2", "ja": "第2報"} {
		out, err := r.RenderIn(lang, KindBounceNotice, d)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.Preheader, want) {
			t.Errorf("%s: preheader %q lacks %q", lang, out.Preheader, want)
		}
	}
	d.BouncedKind, d.Position, d.What = "", 0, "the heads-up"
	out, err := r.Render(KindBounceNotice, d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.Preheader, "Bounce: the heads-up did not reach") {
		t.Errorf("old snapshot: preheader %q", out.Preheader)
	}
	d.What = ""
	d.BouncedKind = KindTimeline // a kind the notice does not name
	if out, err = r.Render(KindBounceNotice, d); err != nil || !strings.HasPrefix(out.Preheader, "Bounce: an email did not reach") {
		t.Errorf("unnamed kind: preheader %q, %v", out.Preheader, err)
	}
}
