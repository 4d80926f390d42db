package web_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/web"
)

// page is an error page that records what it was asked to show.
type page struct {
	status int
	e      *errs.Error
}

func (p *page) ServeError(w http.ResponseWriter, r *http.Request, status int, e *errs.Error) {
	p.status, p.e = status, e
	w.WriteHeader(status)
}

// TestErrorOneMappingTwoShapes: Error maps each error once, and answers an
// API request with the JSON shape and a UI request (one with an error
// page) with its page, at the same status; internal details reach neither.
func TestErrorOneMappingTwoShapes(t *testing.T) {
	t.Parallel()
	s := &web.Server{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, c := range []struct {
		name   string
		err    error
		status int
		code   errs.Code
		field  string
	}{
		{"invalid field", errs.InvalidField("severity", "unknown severity"), 400, errs.Invalid, "severity"},
		{"not found, wrapped", fmt.Errorf("web test: %w", errs.E(errs.NotFound, "no incident INC-9")), 404, errs.NotFound, ""},
		{"conflict", errs.E(errs.Conflict, "already resolved"), 409, errs.Conflict, ""},
		{"unauthorized", errs.E(errs.Unauthorized, "missing token"), 401, errs.Unauthorized, ""},
		{"forbidden", errs.E(errs.Forbidden, "needs lead"), 403, errs.Forbidden, ""},
		{"rate limited", errs.E(errs.RateLimited, "slow down"), 429, errs.RateLimited, ""},
		{"unavailable", errs.E(errs.Unavailable, "mail is down"), 503, errs.Unavailable, ""},
		{"body too large", &http.MaxBytesError{Limit: 10}, 413, errs.TooLarge, ""},
		{"a bug", errors.New("pq: secret detail"), 500, errs.Internal, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			s.Error(rec, httptest.NewRequest("POST", "/api/v1/incidents", nil), c.err)
			var body web.ErrorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("not JSON: %s", rec.Body)
			}
			if rec.Code != c.status || body.Error.Code != c.code || body.Error.Field != c.field || body.Error.Message == "" {
				t.Fatalf("API: %d %+v, want %d %s %q", rec.Code, body, c.status, c.code, c.field)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("API content type %q", ct)
			}
			if got := rec.Header().Get("WWW-Authenticate"); (c.code == errs.Unauthorized) != (got != "") {
				t.Fatalf("WWW-Authenticate %q for %s", got, c.code)
			}

			p := &page{}
			rec = httptest.NewRecorder()
			s.Error(rec, web.WithErrorPage(httptest.NewRequest("POST", "/incidents", nil), p), c.err)
			if rec.Code != c.status || p.status != c.status || p.e == nil || p.e.Code != c.code || p.e.Field != c.field || rec.Body.Len() != 0 {
				t.Fatalf("UI: %d, page got %d %+v, want %d %s", rec.Code, p.status, p.e, c.status, c.code)
			}
			if strings.Contains(body.Error.Message, "secret") || strings.Contains(p.e.Message, "secret") {
				t.Fatal("an internal error's details reached the caller")
			}
		})
	}
}

// TestPanicIsAnInternalError: a handler that panics answers 500 with the
// error shape, and the server goes on serving.
func TestPanicIsAnInternalError(t *testing.T) {
	t.Parallel()
	s := &web.Server{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	srv := httptest.NewServer(s.Handler(panicky{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/boom")
	if err != nil {
		t.Fatal(err)
	}
	var body web.ErrorBody
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != 500 || body.Error.Code != errs.Internal {
		t.Fatalf("panic: %d %+v", resp.StatusCode, body)
	}
	if resp, err := http.Get(srv.URL + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("after a panic /healthz: %v %v", resp, err)
	}
}

type panicky struct{}

func (panicky) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /boom", func(http.ResponseWriter, *http.Request) { panic("boom") })
}
