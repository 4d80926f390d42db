package teamsfake

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

const goodCard = `{"$schema":"http://adaptivecards.io/schemas/adaptive-card.json","type":"AdaptiveCard","version":"1.4",
	"body":[{"type":"TextBlock","text":"hi","wrap":true},{"type":"FactSet","facts":[{"title":"a","value":"b"}]}],
	"actions":[{"type":"Action.OpenUrl","title":"Open","url":"https://example.com"}]}`

func envelope(card string) string {
	return `{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive","contentUrl":null,"content":` + card + `}]}`
}

func TestTheFakeFlowHoldsCardsToTeamsContract(t *testing.T) {
	for _, c := range []struct {
		name, contentType, body, want string
		status                        int
	}{
		{"a good card", "application/json", envelope(goodCard), "", http.StatusAccepted},
		{"not JSON", "application/json", "hello", "not a JSON object", http.StatusBadRequest},
		{"form data", "application/x-www-form-urlencoded", "a=b", "Content-Type", http.StatusBadRequest},
		{"an old connector's MessageCard", "application/json", `{"@type":"MessageCard","text":"hi"}`, `"message"`, http.StatusAccepted},
		{"a hero card", "application/json", strings.Replace(envelope(goodCard), "card.adaptive", "card.hero", 1), "card.hero", http.StatusAccepted},
		{"no version", "application/json", envelope(strings.Replace(goodCard, `"version":"1.4",`, "", 1)), "needs one", http.StatusAccepted},
		{"a version Teams does not render", "application/json", envelope(strings.Replace(goodCard, `"1.4"`, `"1.6"`, 1)), "at most 1.5", http.StatusAccepted},
		{"an unknown element", "application/json", envelope(strings.Replace(goodCard, `"FactSet"`, `"KeyValueList"`, 1)), "not an Adaptive Card element", http.StatusAccepted},
		{"a fact without a value", "application/json", envelope(strings.Replace(goodCard, `,"value":"b"`, "", 1)), "no value", http.StatusAccepted},
		{"a button without a link", "application/json", envelope(strings.Replace(goodCard, `,"url":"https://example.com"`, "", 1)), `required "url"`, http.StatusAccepted},
		{"an element newer than the card", "application/json", envelope(strings.Replace(strings.Replace(goodCard, `"version":"1.4"`, `"version":"1.1"`, 1),
			`{"type":"TextBlock","text":"hi","wrap":true}`, `{"type":"ActionSet","actions":[]}`, 1)), "needs version 1.2", http.StatusAccepted},
		{"over 28 KB", "application/json", envelope(strings.Replace(goodCard, `"hi"`, `"`+strings.Repeat("x", 29<<10)+`"`, 1)), "at most 28672", http.StatusAccepted},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := &recorder{TB: t}
			s := New(rec)
			resp, err := http.Post(s.URL, c.contentType, strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.status {
				t.Errorf("answered %d; want %d", resp.StatusCode, c.status)
			}
			v := s.Violations()
			if c.want == "" && len(v) != 0 || c.want != "" && !strings.Contains(strings.Join(v, "\n"), c.want) {
				t.Errorf("violations %q; want one saying %q", v, c.want)
			}
		})
	}
}
