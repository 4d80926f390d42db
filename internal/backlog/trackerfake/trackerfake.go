// Package trackerfake is what the tracker fakes (githubfake, jirafake,
// linearfake) share: the queue of faults per operation, the record of
// requests as they arrive, the calls a fake could not answer faithfully
// (which fail the test at cleanup), and the two faults that give no
// answer at all: a lost answer (the work done, the connection dropped)
// and a hang (the work done, no answer until the client gives up or the
// fake closes). What a fault answers (the status, the error's shape, the
// headers) is each tracker's own and stays in its fake.
//
// A Ledger has no lock of its own: the fake holds its lock (the one that
// guards its issues too) around every call, so that a request, its fault
// and its work are seen together.
package trackerfake

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Ledger is one fake's faults, requests and uncovered calls. F is the
// fake's Fault, R its Request.
type Ledger[F, R any] struct {
	faults    map[string][]F
	requests  []R
	uncovered []string
	hang      chan struct{}
}

// Serve starts handler as the fake named name (githubfake) and, at t's
// cleanup, releases hung calls, stops it, and fails t for every call it
// could not answer faithfully; against is what requests are checked
// against (the description, the document, the schema), for the message.
// mu is the fake's lock, taken to read the ledger.
func Serve[F, R any](t testing.TB, handler http.Handler, mu *sync.Mutex, l *Ledger[F, R], name, against string) *httptest.Server {
	l.hang = make(chan struct{})
	srv := httptest.NewServer(handler)
	t.Cleanup(func() {
		close(l.hang)
		srv.Close()
		mu.Lock()
		u := slices.Clone(l.uncovered)
		mu.Unlock()
		if len(u) > 0 {
			t.Errorf("%s: %d request(s) the fake does not cover or the %s does not allow:\n  %s", name, len(u), against, strings.Join(u, "\n  "))
		}
	})
	return srv
}

// Queue queues f for the next call of operation.
func (l *Ledger[F, R]) Queue(operation string, f F) {
	if l.faults == nil {
		l.faults = map[string][]F{}
	}
	l.faults[operation] = append(l.faults[operation], f)
}

// TakeFault takes the fault queued first for operation, if any.
func (l *Ledger[F, R]) TakeFault(operation string) (F, bool) {
	q := l.faults[operation]
	if len(q) == 0 {
		var none F
		return none, false
	}
	l.faults[operation] = q[1:]
	return q[0], true
}

// Record records req as it arrives (a hung call is seen at once) and
// returns where, for At to complete it when it is answered.
func (l *Ledger[F, R]) Record(req R) int {
	l.requests = append(l.requests, req)
	return len(l.requests) - 1
}

// At is the request recorded at i.
func (l *Ledger[F, R]) At(i int) *R { return &l.requests[i] }

// Requests returns a copy of the requests seen so far.
func (l *Ledger[F, R]) Requests() []R { return slices.Clone(l.requests) }

// Uncover records a call the fake could not answer faithfully.
func (l *Ledger[F, R]) Uncover(what string) { l.uncovered = append(l.uncovered, what) }

// Uncovered returns a copy of the uncovered calls.
func (l *Ledger[F, R]) Uncovered() []string { return slices.Clone(l.uncovered) }

// TakeUncovered returns the uncovered calls and forgets them, for tests
// that make one on purpose.
func (l *Ledger[F, R]) TakeUncovered() []string {
	u := l.uncovered
	l.uncovered = nil
	return u
}

// Lose drops the connection without an answer: the work is done, the
// answer never leaves (net/http closes the connection on this panic).
func Lose() { panic(http.ErrAbortHandler) }

// Hang gives no answer until r's client gives up or the fake closes;
// it lets go of mu, the fake's lock, meanwhile, and takes it back.
func (l *Ledger[F, R]) Hang(r *http.Request, mu *sync.Mutex) {
	mu.Unlock()
	select {
	case <-r.Context().Done():
	case <-l.hang:
	}
	mu.Lock()
}

// MatchPath matches path against an OpenAPI path template
// (/repos/{owner}/{repo}/issues) segment by segment, and returns the
// template's parameters; a parameter matches one segment, never an empty
// one.
func MatchPath(tmpl, path string) (map[string]string, bool) {
	ts, ps := strings.Split(strings.Trim(tmpl, "/"), "/"), strings.Split(strings.Trim(path, "/"), "/")
	if len(ts) != len(ps) {
		return nil, false
	}
	vars := map[string]string{}
	for i, t := range ts {
		if strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}") {
			if ps[i] == "" {
				return nil, false
			}
			vars[t[1:len(t)-1]] = ps[i]
			continue
		}
		if t != ps[i] {
			return nil, false
		}
	}
	return vars, true
}
