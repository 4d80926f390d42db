package trackerfake

import (
	"maps"
	"testing"
)

func TestMatchPath(t *testing.T) {
	for _, c := range []struct {
		tmpl, path string
		want       map[string]string
	}{
		{"/repos/{owner}/{repo}/issues", "/repos/acme/app/issues", map[string]string{"owner": "acme", "repo": "app"}},
		{"/repos/{owner}/{repo}/issues", "/repos/acme/app/issues/", map[string]string{"owner": "acme", "repo": "app"}},
		{"/repos/{owner}/{repo}/issues", "/repos/acme/issues", nil},
		{"/repos/{owner}/{repo}/issues", "/repos/acme//issues", nil},
		{"/rest/api/3/issue/{issueIdOrKey}", "/rest/api/3/issues/OPS-1", nil},
	} {
		got, ok := MatchPath(c.tmpl, c.path)
		if ok != (c.want != nil) || !maps.Equal(got, c.want) {
			t.Errorf("MatchPath(%q, %q) = %v, %v; want %v", c.tmpl, c.path, got, ok, c.want)
		}
	}
}

// Faults are taken in the order queued, per operation.
func TestLedgerFaults(t *testing.T) {
	var l Ledger[int, string]
	if _, ok := l.TakeFault("create"); ok {
		t.Fatal("a fault from an empty ledger")
	}
	l.Queue("create", 429)
	l.Queue("create", 502)
	l.Queue("list", 503)
	for _, want := range []int{429, 502} {
		if f, ok := l.TakeFault("create"); !ok || f != want {
			t.Fatalf("TakeFault(create) = %d, %v; want %d", f, ok, want)
		}
	}
	if _, ok := l.TakeFault("create"); ok {
		t.Fatal("a third fault for create")
	}
	at := l.Record("a")
	*l.At(at) = "a answered"
	l.Uncover("x")
	if r := l.Requests(); len(r) != 1 || r[0] != "a answered" {
		t.Errorf("Requests: %q", r)
	}
	if u := l.TakeUncovered(); len(u) != 1 || len(l.Uncovered()) != 0 {
		t.Errorf("TakeUncovered: %q, then %q", u, l.Uncovered())
	}
}
