package api_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// fakeMail is the outbox as far as a status update needs it: it keeps
// what it was asked to queue.
type fakeMail struct {
	mu     sync.Mutex
	queued []compose.Outgoing
}

func (m *fakeMail) Queue(ctx context.Context, tx *sql.Tx, o compose.Outgoing) (*compose.Message, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.queued = append(m.queued, o)
	return &compose.Message{ID: int64(len(m.queued)), Total: 1, Groups: o.Groups}, nil
}

func (m *fakeMail) Preview(ctx context.Context, o compose.Outgoing, subject string) ([]compose.Preview, int, error) {
	if len(o.Groups) == 0 { // to followers alone: the public email
		return []compose.Preview{{For: compose.PreviewFollowers, Reader: "Example status", Recipients: len(o.Followers), Subject: subject,
			Headers: map[string]string{"To": "Example status:;"}, Text: o.Data.(compose.PublicStatusData).Status}}, len(o.Followers), nil
	}
	return []compose.Preview{{Group: o.Groups[0], Recipients: 1, Subject: subject}}, 1, nil
}

func (m *fakeMail) ThreadSubject(ctx context.Context, q store.Querier, t compose.Thread) (string, error) {
	return "", nil
}

func (m *fakeMail) Recipients(ctx context.Context, q store.Querier, t compose.Thread) ([]string, error) {
	return nil, nil
}

func (m *fakeMail) ReplyAddress(token string) string { return "status+" + token + "@sitrep.test" }

// Issue 18: POST /incidents/{ref}/updates takes translations by language
// tag; they reach the email's data and the timeline. A tag sitrep does not
// write in is a 400 naming the field and the languages.
func TestUpdateWithTranslations(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	mail := &fakeMail{}
	a.server.Comms = &incident.Comms{DB: a.db, Incidents: a.incidents, Directory: a.server.Directory, Mail: mail}
	status, out := a.call(t, a.lead, "POST", "/api/v1/incidents", `{"title":"Checkout down","severity":"SEV2","roles":{"comms_lead":"vp@x.test"}}`)
	if status != 201 {
		t.Fatalf("declare: %d %v", status, out)
	}
	ref, _ := out["id"].(string)
	status, out = a.call(t, a.lead, "POST", "/api/v1/incidents/"+ref+"/updates",
		`{"status":"Checkout is down.","groups":["exec"],"translations":{"de":"Der Checkout ist ausgefallen.","ja":"決済が停止しています。"}}`)
	if status != 201 {
		t.Fatalf("update with translations: %d %v", status, out)
	}
	if len(mail.queued) != 1 {
		t.Fatalf("%d messages queued, want 1", len(mail.queued))
	}
	d := mail.queued[0].Data.(compose.StatusData)
	if d.Translations["de"] != "Der Checkout ist ausgefallen." || d.Translations["ja"] != "決済が停止しています。" || len(d.Translations) != 2 {
		t.Errorf("the email's translations: %v", d.Translations)
	}
	status, out = a.call(t, a.view, "GET", "/api/v1/incidents/"+ref+"/timeline", "")
	if status != 200 || !strings.Contains(toJSON(t, out), `"translations":{"de":"Der Checkout ist ausgefallen."`) {
		t.Errorf("the timeline does not keep the translations: %d %v", status, out)
	}

	status, out = a.call(t, a.lead, "POST", "/api/v1/incidents/"+ref+"/updates",
		`{"status":"Checkout is down.","groups":["exec"],"translations":{"pt-BR":"O checkout está fora do ar."}}`)
	code, field := errCode(out)
	msg, _ := out["error"].(map[string]any)["message"].(string)
	if status != 400 || code != "invalid" || field != "translations" || !strings.Contains(msg, "en, de, es, fr, ja") {
		t.Errorf("an unsupported language: %d %v", status, out)
	}
	status, out = a.call(t, a.lead, "POST", "/api/v1/incidents/"+ref+"/updates",
		`{"status":"Checkout is down.","groups":["exec"],"translations":{"fr":""}}`)
	if code, field := errCode(out); status != 400 || code != "invalid" || field != "translations.fr" {
		t.Errorf("an empty translation: %d %v", status, out)
	}
	status, out = a.call(t, a.lead, "POST", "/api/v1/incidents/"+ref+"/updates",
		`{"status":"Checkout is down.","groups":["exec"],"translations":["de"]}`)
	if code, _ := errCode(out); status != 400 || code != "invalid" {
		t.Errorf("translations not an object: %d %v", status, out)
	}
	if len(mail.queued) != 1 {
		t.Errorf("a refused update was queued: %d messages", len(mail.queued))
	}
}

func toJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
