package github_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/backlog/github"
	"github.com/sitrep-dev/sitrep/internal/errs"
)

const secret = "s3cret"

func issues() *github.Issues {
	return &github.Issues{Owner: "acme", Repo: "ops", WebhookSecret: secret}
}

func signed(event string, body []byte) http.Header {
	h := http.Header{}
	h.Set("X-GitHub-Event", event)
	h.Set("X-Hub-Signature-256", github.Sign(secret, body))
	return h
}

const closedEvent = `{"action":"closed","issue":{"number":7,"state":"closed","body":"x\n\n<!-- sitrep:improvement:3:0a1b2c3d4e5f -->","updated_at":"2026-03-10T10:00:00Z"},` +
	`"repository":{"full_name":"acme/ops"},"sender":{"login":"olga-n"}}`

// TestParseWebhook: only a delivery signed with the secret is read; of
// those, only closed and reopened issues events of the configured
// repository are changes.
func TestParseWebhook(t *testing.T) {
	t.Parallel()
	body := []byte(closedEvent)
	got, err := issues().ParseWebhook(signed("issues", body), body)
	if err != nil || len(got) != 1 || got[0].Ref != "7" || !got[0].Closed || got[0].Marker != "sitrep:improvement:3:0a1b2c3d4e5f" || got[0].ByWhom != "olga-n" {
		t.Fatalf("closed: %+v %v", got, err)
	}
	refused := map[string]func() (http.Header, []byte){
		"unsigned": func() (http.Header, []byte) {
			h := signed("issues", body)
			h.Del("X-Hub-Signature-256")
			return h, body
		},
		"wrong secret": func() (http.Header, []byte) {
			h := signed("issues", body)
			h.Set("X-Hub-Signature-256", github.Sign("other", body))
			return h, body
		},
		"truncated signature": func() (http.Header, []byte) {
			h := signed("issues", body)
			h.Set("X-Hub-Signature-256", h.Get("X-Hub-Signature-256")[:20])
			return h, body
		},
		"body changed": func() (http.Header, []byte) {
			return signed("issues", body), []byte(strings.Replace(closedEvent, "closed", "reopened", 1))
		},
	}
	for name, f := range refused {
		h, b := f()
		if got, err := issues().ParseWebhook(h, b); errs.CodeOf(err) != errs.Unauthorized || got != nil {
			t.Errorf("%s: want unauthorized and nothing, got %+v %v", name, got, err)
		}
	}
	off := issues()
	off.WebhookSecret = ""
	if _, err := off.ParseWebhook(signed("issues", body), body); errs.CodeOf(err) != errs.Unauthorized {
		t.Errorf("no secret configured must refuse every delivery: %v", err)
	}
	none := map[string][]byte{
		"ping":       []byte(`{"zen":"Keep it logically awesome."}`),
		"edited":     []byte(strings.Replace(closedEvent, `"closed"`, `"edited"`, 1)),
		"other repo": []byte(strings.Replace(closedEvent, "acme/ops", "acme/other", 1)),
	}
	for name, b := range none {
		event := "issues"
		if name == "ping" {
			event = "ping"
		}
		if got, err := issues().ParseWebhook(signed(event, b), b); err != nil || len(got) != 0 {
			t.Errorf("%s: want no change, got %+v %v", name, got, err)
		}
	}
	bad := []byte(`{"action":"closed","issue":`)
	if _, err := issues().ParseWebhook(signed("issues", bad), bad); errs.CodeOf(err) != errs.Invalid {
		t.Errorf("signed but broken JSON: %v", err)
	}
	big := make([]byte, github.MaxWebhookBytes+1)
	if _, err := issues().ParseWebhook(signed("issues", big), big); errs.CodeOf(err) != errs.TooLarge {
		t.Errorf("over the limit: %v", err)
	}
}

// fuzzDeadline is wall-clock time for one input: reading a delivery is
// linear and takes microseconds, but on a loaded 2-core machine a trivial
// input can wait a second for a core (docs/reliability.md).
const fuzzDeadline = 3 * time.Second

// FuzzParseWebhook: whatever arrives, the parser does not panic, answers
// within the deadline, reads nothing of a delivery not signed with the
// secret, and reports at most one change, of a number it read.
func FuzzParseWebhook(f *testing.F) {
	f.Add("issues", true, []byte(closedEvent))
	f.Add("issues", false, []byte(closedEvent))
	f.Add("ping", true, []byte(`{}`))
	f.Add("issues", true, []byte(`{"action":"reopened","issue":{"number":-1,"body":null},"repository":{"full_name":"ACME/OPS"}}`))
	f.Add("issues", true, []byte(`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[`))
	f.Fuzz(func(t *testing.T, event string, sign bool, body []byte) {
		h := http.Header{}
		h.Set("X-GitHub-Event", event)
		if sign {
			h.Set("X-Hub-Signature-256", github.Sign(secret, body))
		} else {
			h.Set("X-Hub-Signature-256", github.Sign("not-"+secret, body))
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			got, err := issues().ParseWebhook(h, body)
			if !sign && (err == nil || got != nil) {
				t.Errorf("an unsigned delivery was read: %+v %v", got, err)
			}
			if len(got) > 1 || err != nil && got != nil {
				t.Errorf("changes %+v with error %v", got, err)
			}
			for _, c := range got {
				if c.Ref == "" || !strings.Contains(string(body), c.Ref) {
					t.Errorf("a change of issue %q, which the body does not name", c.Ref)
				}
			}
		}()
		select {
		case <-done:
		case <-time.After(fuzzDeadline):
			t.Fatalf("ParseWebhook took over %s", fuzzDeadline)
		}
	})
}
