package ui

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// switchableHealth is mail's health as a test sets it.
type switchableHealth struct {
	mu  sync.Mutex
	err error
}

func (h *switchableHealth) Health() error { h.mu.Lock(); defer h.mu.Unlock(); return h.err }
func (h *switchableHealth) set(err error) { h.mu.Lock(); h.err = err; h.mu.Unlock() }

// When mail cannot sign in, every page says so with the reason, /readyz
// answers 503 naming mail, and the pages still work; once it can, both
// turn back.
func TestMailHealthLineAndReadyz(t *testing.T) {
	t.Parallel()
	mail := &switchableHealth{}
	e := newUIEnvWith(t, func(s *Server, _ string) { s.MailHealth = mail })
	lead := e.login("lead@x.test")
	readyz := func() (int, string) {
		resp, err := http.Get(e.srv.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, body(resp)
	}
	if code, page := lead.get("/incidents"); code != 200 || strings.Contains(page, "Mail is down") {
		t.Fatalf("healthy mail: %d, health line shown: %v", code, strings.Contains(page, "Mail is down"))
	}
	if code, _ := readyz(); code != 200 {
		t.Fatalf("readyz %d", code)
	}
	mail.set(errors.New("Microsoft 365 app x in tenant y: admin consent is not granted & more"))
	code, page := lead.get("/incidents")
	if code != 200 || !strings.Contains(page, "Mail is down:</strong> Microsoft 365 app x in tenant y: admin consent is not granted &amp; more") {
		t.Fatalf("unhealthy mail: %d, page without the health line", code)
	}
	if code, text := readyz(); code != http.StatusServiceUnavailable || !strings.Contains(text, "mail: Microsoft 365 app x") {
		t.Fatalf("readyz %d %q", code, text)
	}
	mail.set(nil)
	if _, page := lead.get("/incidents"); strings.Contains(page, "Mail is down") {
		t.Fatal("the health line must go when mail recovers")
	}
}
