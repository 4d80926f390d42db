package inbox_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/mail"
	"slices"
	"strings"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/incident"
)

// The readers of one audience in five languages (issue 18): ana reads
// American English in New York, the others German in Berlin, French in
// Paris, Spanish in Madrid and Japanese in Tokyo.
var langReaders = []struct {
	user, lang, zone string
	frame            string // a phrase of sitrep's own in the reader's language
	zoneAbbr         string
}{
	{"ana", "en-US", "America/New_York", "Next update by ", "EST"},
	{"de1", "de", "Europe/Berlin", "Nächstes Update bis ", "CET"},
	{"fr1", "fr", "Europe/Paris", "Prochain point au plus tard à ", "CET"},
	{"es1", "es", "Europe/Madrid", "Próxima actualización antes de las ", "CET"},
	{"ja1", "ja", "Asia/Tokyo", "次回の報告", "JST"},
}

const langOrg = `organization: Test Org
language: en
people:
  - {email: vp@example.test, name: Vera Pike, roles: [comms-lead]}
  - {email: lead@example.test, name: Lee Adams, roles: [incident-lead], time_zone: Europe/Berlin}
  - {email: ana@example.test, name: Ana Silva, time_zone: America/New_York, language: en-US}
  - {email: de1@example.test, name: Dieter Eins, time_zone: Europe/Berlin, language: de}
  - {email: fr1@example.test, name: Françoise Un, time_zone: Europe/Paris, language: fr}
  - {email: es1@example.test, name: Esteban Uno, time_zone: Europe/Madrid, language: es}
  - {email: ja1@example.test, name: 山田 一郎, time_zone: Asia/Tokyo, language: ja}
  - {email: ben@example.test, name: Ben Okafor}
  - {email: r1@example.test, name: Raj One}
  - {email: mallory@example.test, name: Mallory}
groups:
  - {name: exec, display_name: Executives, members: [ana@example.test, de1@example.test, fr1@example.test, es1@example.test, ja1@example.test]}
escalations:
  - {system: checkout, responders: [r1@example.test]}
`

// TestStatusUpdatesInEveryReadersLanguage: over real Postfix and Dovecot,
// three status updates to one group whose members read five languages.
// Each reader gets sitrep's words in their language, the next-update time
// in their zone and their locale's clock, and one thread of their own in
// the Gmail, Thunderbird and Outlook styles that never switches language;
// readers of one language share one Message-ID per update, readers of
// different languages never do. The second update carries the comms
// lead's own German version of the status, which only the German reader
// gets.
func TestStatusUpdatesInEveryReadersLanguage(t *testing.T) {
	t.Parallel()
	h := newHub(t, "de1", "fr1", "es1", "ja1")
	if _, err := h.dir.SyncFile(t.Context(), []byte(langOrg), "groups.yaml"); err != nil {
		t.Fatal(err)
	}
	h.startWorker()
	inc := h.declare()
	statuses := []incident.UpdateInput{
		{Status: "Payments fail for EU customers.", Next: "30m"},
		{Status: "Rolling back release 2026.12.1.", Next: "30m",
			Translations: map[string]string{"de": "Wir nehmen Release 2026.12.1 zurück."}},
		{Status: "Error rates are falling.", Next: "30m"},
	}
	for _, in := range statuses {
		res, err := h.comms.SendUpdate(context.Background(), "vp@example.test", inc.Ref, in)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(res.Message.Variants) + 1; got != len(langReaders) {
			t.Fatalf("the update went out in %d languages, want %d", got, len(langReaders))
		}
		h.waitSent(res.Message.ID)
		for _, v := range res.Message.Variants {
			h.waitSent(v.ID)
		}
	}

	idsByUpdate := make([]map[string]string, len(statuses)) // update → Message-ID → reader
	for i := range idsByUpdate {
		idsByUpdate[i] = map[string]string{}
	}
	for _, r := range langReaders {
		raws := inThreadOrder(t, distinctMessages(t, h.mailOf(r.user, len(statuses))))
		if len(raws) != len(statuses) {
			t.Fatalf("%s holds %d distinct messages, want one per update (%d): subjects %q", r.user, len(raws), len(statuses), subjectsOf(raws))
		}
		var root, topic string
		var index []byte
		for i, raw := range raws {
			m, err := mail.ReadMessage(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			id := m.Header.Get("Message-Id")
			body := bodyOf(raw)
			if other, ok := idsByUpdate[i][id]; ok {
				t.Errorf("%s and %s got the same Message-ID %s in different languages", other, r.user, id)
			}
			idsByUpdate[i][id] = r.user
			// Gmail: one subject for the whole thread, in every language.
			if s := subjectOf(raw); s != "["+inc.Ref+"] "+inc.Title {
				t.Errorf("%s, update %d: subject %q", r.user, i+1, s)
			}
			if !strings.Contains(body, r.frame) {
				t.Errorf("%s (%s), update %d: no %q in\n%s", r.user, r.lang, i+1, r.frame, body)
			}
			if !strings.Contains(body, " "+r.zoneAbbr+" (") {
				t.Errorf("%s, update %d: the time is not in their zone (%s):\n%s", r.user, i+1, r.zoneAbbr, body)
			}
			if r.lang == "en-US" && !strings.Contains(strings.ToUpper(body), "M "+r.zoneAbbr) {
				t.Errorf("%s reads en-US: want a 12-hour clock (\"9:30 AM EST\"):\n%s", r.user, body)
			}
			for _, english := range []string{"Who is affected", "Questions? Reply", "so far"} {
				if r.lang != "en-US" && strings.Contains(body, english) {
					t.Errorf("%s (%s), update %d: English %q left in\n%s", r.user, r.lang, i+1, english, body)
				}
			}
			if i == 1 {
				german := strings.Contains(body, "Wir nehmen Release")
				if german != (r.lang == "de") {
					t.Errorf("%s (%s): the German translation of update 2 shown = %v", r.user, r.lang, german)
				}
			}
			// Thunderbird: every message reaches the reader's root through
			// its References; Outlook: one Thread-Topic and one
			// Thread-Index header per thread.
			if i == 0 {
				if m.Header.Get("In-Reply-To") != "" {
					t.Errorf("%s: the first update answers %s", r.user, m.Header.Get("In-Reply-To"))
				}
				root, topic = id, m.Header.Get("Thread-Topic")
			} else if !strings.HasPrefix(m.Header.Get("References"), root) {
				t.Errorf("%s, update %d: References %q do not start at their thread's root %s", r.user, i+1, m.Header.Get("References"), root)
			}
			if got := m.Header.Get("Thread-Topic"); got != topic || got == "" {
				t.Errorf("%s, update %d: Thread-Topic %q, want %q", r.user, i+1, got, topic)
			}
			ti, err := base64.StdEncoding.DecodeString(m.Header.Get("Thread-Index"))
			if err != nil || len(ti) < 22 {
				t.Fatalf("%s: Thread-Index %q: %v", r.user, m.Header.Get("Thread-Index"), err)
			}
			if index == nil {
				index = ti[:22]
			}
			if !bytes.Equal(ti[:22], index) {
				t.Errorf("%s, update %d: Thread-Index does not continue their thread", r.user, i+1)
			}
		}
	}
	// One thread per audience and language, each three messages long.
	if n := h.count(`SELECT COUNT(*) FROM threads WHERE incident_id = $1 AND audience = 'stakeholders'`, inc.ID); n != len(langReaders) {
		t.Errorf("%d stakeholder threads, want one per language (%d)", n, len(langReaders))
	}
}

// inThreadOrder puts a reader's messages in the order their thread gives
// them, as Thunderbird draws the tree: the root first, then each message by
// how many ancestors its References name. Postfix does not promise to
// deliver in the order it accepted (one CI run filed update 2 before
// update 1), and the updates go out within a second, so Date cannot tell
// them apart. A message with broken References sorts early and then fails
// the checks on its References.
// distinctMessages keeps the first copy of each Message-ID. SMTP delivers
// at least once: when the harness's short lease or send timeout runs out
// on a loaded machine, a batch Postfix had already taken is sent again
// with the same Message-ID, which every mail client shows once. Exactly
// once is asserted by the outbox's and the reliability tests; this test
// is about languages and threads.
func distinctMessages(t *testing.T, raws [][]byte) [][]byte {
	t.Helper()
	seen := map[string]bool{}
	var out [][]byte
	for _, raw := range raws {
		m, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		id := m.Header.Get("Message-Id")
		if seen[id] {
			t.Logf("a second copy of %s arrived (at-least-once after a timeout)", id)
			continue
		}
		seen[id] = true
		out = append(out, raw)
	}
	return out
}

func subjectsOf(raws [][]byte) []string {
	var out []string
	for _, raw := range raws {
		out = append(out, subjectOf(raw))
	}
	return out
}

func inThreadOrder(t *testing.T, raws [][]byte) [][]byte {
	t.Helper()
	type msg struct {
		raw   []byte
		depth int
	}
	msgs := make([]msg, len(raws))
	for i, raw := range raws {
		m, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		msgs[i] = msg{raw, len(strings.Fields(m.Header.Get("References")))}
	}
	slices.SortStableFunc(msgs, func(a, b msg) int { return a.depth - b.depth })
	sorted := make([][]byte, len(msgs))
	for i, m := range msgs {
		sorted[i] = m.raw
	}
	return sorted
}
