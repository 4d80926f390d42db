package microsoft365

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/calendar"
)

// fuzzDeadline is wall-clock time for one input (docs/reliability.md:
// on a loaded 2-core machine a trivial input can wait a second for a core).
const fuzzDeadline = 3 * time.Second

// FuzzGraphAnswer: whatever Graph answers to a booking, sitrep does not
// take an error for a booking, waits no negative time, puts no access
// token in an error, and reads it within the deadline.
func FuzzGraphAnswer(f *testing.F) {
	f.Add(201, "", []byte(`{"id":"AAMk=","webLink":"https://outlook.office365.com/x","onlineMeeting":{"joinUrl":"https://teams.microsoft.com/l/meetup-join/1"}}`))
	f.Add(429, "5", []byte(`{"error":{"code":"ApplicationThrottled","message":"slow","innerError":{"date":"2026-03-10T10:00:00","request-id":"r"}}}`))
	f.Add(403, "", []byte(`{"error":{"code":"ErrorAccessDenied","message":"Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly AccessPolicy settings."}}`))
	f.Add(503, "Wed, 21 Oct 2026 07:28:00 GMT", []byte("<html>"))
	f.Add(201, "", []byte(`{"id":""}`))
	f.Fuzz(func(t *testing.T, status int, retryAfter string, body []byte) {
		if status < 200 || status > 599 {
			return
		}
		for _, r := range retryAfter {
			if r < ' ' || r > '~' {
				return // not a header a server can send
			}
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = w.Write(body)
		}))
		defer srv.Close()
		cal, err := New(Config{BaseURL: srv.URL + "/v1.0", Organizer: organizer, Tokens: staticToken("SECRETTOKEN"), Timeout: fuzzDeadline})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			b, err := cal.Book(context.Background(), calendar.SampleEvent())
			if err == nil && (status >= 300 || b == nil || b.ID == "") {
				t.Errorf("HTTP %d %q taken for a booking: %+v", status, body, b)
			}
			var r *calendar.RetryableError
			if err != nil && strings.Contains(err.Error(), "SECRETTOKEN") {
				t.Errorf("the token in %v", err)
			}
			if errors.As(err, &r) && r.RetryAfter < 0 {
				t.Errorf("a negative wait %s", r.RetryAfter)
			}
		}()
		select {
		case <-done:
		case <-time.After(fuzzDeadline + time.Second):
			t.Fatalf("a %d-byte answer took over %s", len(body), fuzzDeadline)
		}
	})
}
