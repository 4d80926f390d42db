package compose

import (
	"strings"
	"testing"
)

// A follower's copy as its reader reads it: a planned-maintenance note to
// someone who follows the checkout system (not the window, and in no
// notified group). Before, it said "Sent to MAINT-7 maintenance because
// the work touches systems you rely on", then that they follow "what it
// is about (an incident, a system, or everything)", and its To: was
// "MAINT-7 maintenance". Now the copy names what the reader follows and
// why it came, once, in the reader's language; the To: names it too.
func TestFollowerCopyNamesWhatTheyFollow(t *testing.T) {
	r := newRenderer(t)
	link := "https://sitrep.example.com/unsubscribe/abc"
	system := FollowerCopy{Unsubscribe: link, Follows: []Followed{{Kind: FollowsSystem, Target: "checkout"}}}
	all := FollowerCopy{Unsubscribe: link, Follows: []Followed{{Kind: FollowsAll}}}
	both := FollowerCopy{Unsubscribe: link, Follows: []Followed{{Kind: FollowsAll}, {Kind: FollowsSystem, Target: "checkout"}, {Kind: FollowsIncident, Target: "INC-42"}}}

	read := func(lang string, kind Kind, f FollowerCopy) string {
		t.Helper()
		d, _ := NewData(kind)
		switch v := d.(type) {
		case *MaintenanceData:
			*v = SampleData(kind).(MaintenanceData)
		case *StatusData:
			*v = SampleData(kind).(StatusData)
		}
		Address(d, Copy{Name: "Ann Arbor", To: "", Language: lang})
		out, err := r.RenderFollowerIn(lang, kind, d, f)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(strings.Fields(out.Text), " ")
	}

	note := read("en", KindMaintenance, system)
	for _, want := range []string{"Database upgrade", "You receive this because you follow the checkout system (its incidents and planned maintenance).",
		"Unsubscribe <" + link + "> (this address only)."} {
		if !strings.Contains(note, want) {
			t.Errorf("the note lacks %q:\n%s", want, note)
		}
	}
	for _, never := range []string{"MAINT-7 maintenance", "Sent to", "systems you rely on", "what it is about", "Customer service"} {
		if strings.Contains(note, never) {
			t.Errorf("the follower's note says %q:\n%s", never, note)
		}
	}
	if got := read("en", KindMaintenance, all); !strings.Contains(got, "because you follow all incidents and planned maintenance.") {
		t.Errorf("a follower of everything:\n%s", got)
	}
	if got := read("en", KindStatus, both); !strings.Contains(got, "because you follow INC-42, the checkout system (its incidents and planned maintenance) and all incidents and planned maintenance.") ||
		strings.Contains(got, "Sent to") || !strings.Contains(got, "Questions? Reply to this email") {
		t.Errorf("a status email to a follower of the incident, its system and everything:\n%s", got)
	}
	for _, c := range []struct {
		f    FollowerCopy
		want string
	}{{system, "Followers of checkout"}, {all, "Followers of all incidents and maintenance"}, {both, "Followers of INC-42"}, {FollowerCopy{}, "INC-42 stakeholders"}} {
		if got := r.FollowerTo("en", c.f.Follows, "INC-42 stakeholders"); got != c.want {
			t.Errorf("To: %q, want %q", got, c.want)
		}
	}

	// In every language: the reader's words, the system named, never the
	// English, never the old catch-all.
	for lang, want := range map[string][]string{
		"de": {"das System checkout", "Abbestellen", "Abonnenten von checkout"},
		"fr": {"le système checkout", "Se désabonner", "Abonnés de checkout"},
		"es": {"el sistema checkout", "Cancelar la suscripción", "Seguidores de checkout"},
		"ja": {"システム checkout", "配信を停止", "checkout のフォロワー"},
	} {
		got := read(lang, KindMaintenance, system) + " | " + r.FollowerTo(lang, system.Follows, "")
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: lacks %q:\n%s", lang, w, got)
			}
		}
		for _, en := range []string{"You receive", "Followers of", "Sent to", "MAINT-7 maintenance"} {
			if strings.Contains(got, en) {
				t.Errorf("%s: says %q:\n%s", lang, en, got)
			}
		}
	}

	// A group member's copy still says which group it went to.
	d := SampleData(KindMaintenance).(MaintenanceData)
	Address(&d, Copy{To: "Customer service"})
	out, err := r.RenderIn("en", KindMaintenance, &d)
	if err != nil || !strings.Contains(out.Text, "Sent to Customer service because the work touches systems you rely on.") {
		t.Errorf("a group's copy: %v\n%s", err, out.Text)
	}
}

// A customer's copy of a public email says what they subscribed to, in
// words customers use: the page's email updates, about the components
// they chose; never an incident or a system.
func TestPublicCopyNamesTheSubscription(t *testing.T) {
	r := newRenderer(t)
	link := "https://status.example.com/unsubscribe/abc"
	for _, c := range []struct {
		follows []Followed
		want    string
	}{
		{[]Followed{{Kind: FollowsPublic}}, "You receive this because you subscribed to this status page's email updates. Unsubscribe <" + link + "> (this address only)."},
		{[]Followed{{Kind: FollowsComponent, Target: "Online shop"}}, "You receive this because you subscribed to this status page's email updates about Online shop."},
		{[]Followed{{Kind: FollowsComponent, Target: "Online shop"}, {Kind: FollowsPublic}}, "subscribed to this status page's email updates. Unsubscribe"},
	} {
		for _, kind := range []Kind{KindPublicStatus, KindPublicResolved} {
			d := SampleData(kind).(PublicStatusData)
			out, err := r.RenderFollowerIn("en", kind, &d, FollowerCopy{Unsubscribe: link, Follows: c.follows})
			if err != nil {
				t.Fatal(err)
			}
			text := strings.Join(strings.Fields(out.Text), " ")
			if !strings.Contains(text, c.want) || strings.Contains(text, "system") || strings.Contains(text, "incident,") {
				t.Errorf("%s %v:\n%s\nwant %q", kind, c.follows, text, c.want)
			}
			if !strings.Contains(text, "Sent by Example Corp status.") {
				t.Errorf("%s: the site is not named:\n%s", kind, text)
			}
		}
	}
}

// The public "resolved" email: the lead's public words, else sitrep's own
// in the reader's language; the subject of the public thread; no promise.
func TestPublicResolvedReadsAsACustomerReadsIt(t *testing.T) {
	r := newRenderer(t)
	d := SampleData(KindPublicResolved).(PublicStatusData)
	out, err := r.Render(KindPublicResolved, &d)
	if err != nil {
		t.Fatal(err)
	}
	if status, _ := r.Render(KindPublicStatus, SampleData(KindPublicStatus)); out.Subject != status.Subject {
		t.Errorf("subject %q, want the public thread's %q", out.Subject, status.Subject)
	}
	text := strings.Join(strings.Fields(strings.ReplaceAll(out.Text, "*", "")), " ")
	for _, w := range []string{"Resolved: the service is working normally again", "Orders work again for every customer", "Affected: Checkout and Payments"} {
		if !strings.Contains(text, w) {
			t.Errorf("lacks %q:\n%s", w, text)
		}
	}
	if strings.Contains(text, "Next update") {
		t.Errorf("a resolution promises no update:\n%s", text)
	}
	d.Status = ""
	for lang, want := range map[string]string{"en": "This incident is resolved: the service is working normally again.",
		"de": "Diese Störung ist behoben", "fr": "Cet incident est résolu", "es": "Este incidente está resuelto", "ja": "この障害は解決しました"} {
		out, err := r.RenderIn(lang, KindPublicResolved, &d)
		if err != nil || !strings.Contains(out.Text, want) {
			t.Errorf("%s default: %v\n%s", lang, err, out.Text)
		}
	}
	d.Monitoring = true
	if out, err := r.Render(KindPublicResolved, &d); err != nil || !strings.Contains(out.Text, "A fix is in place and the service is working again") {
		t.Errorf("a fix with the cause unknown: %v\n%s", err, out.Text)
	}
}

// The public promise's reminders say it is the customers' update that is
// due, in the lead's language, apart from the stakeholders' reminder.
func TestPublicReminderSaysItIsTheCustomers(t *testing.T) {
	r := newRenderer(t)
	for lang, want := range map[string][2]string{
		"en": {"PUBLIC update for customers due in 10 minutes", "PUBLIC update OVERDUE since"},
		"de": {"ÖFFENTLICHE Meldung für Kunden fällig in 10 Minuten", "ÖFFENTLICHE Meldung ÜBERFÄLLIG seit"},
		"fr": {"Mise à jour PUBLIQUE pour les clients attendue dans 10 minutes", "Mise à jour PUBLIQUE EN RETARD depuis"},
		"es": {"Actualización PÚBLICA para los clientes pendiente en 10 minutos", "Actualización PÚBLICA ATRASADA desde"},
		"ja": {"【公開】お客様向け報告の期限まであと10分", "【公開】お客様向け報告が期限超過"},
	} {
		for i, kind := range []Kind{KindPublicReminder, KindPublicOverdue} {
			out, err := r.RenderIn(lang, kind, SampleData(kind))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.Preheader, want[i]) {
				t.Errorf("%s %s: preheader %q, want %q", lang, kind, out.Preheader, want[i])
			}
			if !strings.Contains(out.Text, "public:") {
				t.Errorf("%s %s: does not say how to send the public update:\n%s", lang, kind, out.Text)
			}
		}
	}
	stake, _ := r.Render(KindReminder, SampleData(KindReminder))
	if strings.Contains(stake.Text, "PUBLIC") || strings.Contains(stake.Text, "ustomers") {
		t.Errorf("the stakeholders' reminder speaks of customers:\n%s", stake.Text)
	}
}
