package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Planned maintenance through the hub's API and CLI: bad windows are
// refused with the field at fault and nothing stored; a good one is
// declared, listed, announced by hand and cancelled, and an alert on its
// system during it opens a draft marked with it.
func TestMaintenanceThroughTheAPIAndCLI(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	e, _ := startHub(t, cfg)
	e.environ = append(e.environ, "SITREP_DATA_DIR="+cfg.DataDir) // where the example's webhook secret is kept
	server, token := e.getenv("SITREP_SERVER"), e.getenv("SITREP_TOKEN")
	call := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, server+"/api/v1"+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		if err := json.Unmarshal(b.Bytes(), &out); err != nil {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b.String())
		}
		return resp.StatusCode, out
	}
	now := time.Now().UTC().Truncate(time.Second)
	ts := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339) }
	for name, c := range map[string]struct{ body, field string }{
		"end before start": {fmt.Sprintf(`{"title":"DB upgrade","systems":["checkout"],"start":%q,"end":%q}`, ts(3*time.Hour), ts(2*time.Hour)), "end"},
		"unknown system":   {fmt.Sprintf(`{"title":"DB upgrade","systems":["warp-drive"],"start":%q,"end":%q}`, ts(2*time.Hour), ts(3*time.Hour)), "systems"},
		"in the past":      {fmt.Sprintf(`{"title":"DB upgrade","systems":["checkout"],"start":%q,"end":%q}`, ts(-3*time.Hour), ts(-2*time.Hour)), "end"},
		"no title":         {fmt.Sprintf(`{"systems":["checkout"],"start":%q,"end":%q}`, ts(2*time.Hour), ts(3*time.Hour)), "title"},
	} {
		code, out := call("POST", "/maintenance", c.body)
		e, _ := out["error"].(map[string]any)
		if code != http.StatusBadRequest || e["code"] != "invalid" || e["field"] != c.field {
			t.Errorf("%s: %d %v, want 400 invalid on %s", name, code, out, c.field)
		}
	}
	code, out := call("POST", "/maintenance", `{"title":"DB upgrade","systems":["checkout"],"start":"tomorrow"}`)
	if code != http.StatusBadRequest {
		t.Errorf("a start that is no time: %d %v", code, out)
	}
	if code, out := call("GET", "/maintenance", ""); code != http.StatusOK || len(out["windows"].([]any)) != 0 {
		t.Fatalf("after refusals: %d %v, want no windows", code, out)
	}

	got := cli(t, e, "maintenance", "declare", "--systems", "checkout", "--from", ts(-time.Minute), "--to", ts(2*time.Hour), "--title", "Database upgrade")
	if !strings.HasPrefix(got, "Declared MAINT-") {
		t.Fatalf("declare: %q", got)
	}
	ref := strings.TrimSuffix(strings.Fields(got)[1], ":")
	if list := cli(t, e, "maintenance", "list"); !strings.Contains(list, ref) || !strings.Contains(list, "Database upgrade") {
		t.Errorf("list lacks the window:\n%s", list)
	}

	// An alert on checkout during the window opens a marked draft.
	cli(t, e, "alert", "--title", "Checkout 5xx", "--system", "checkout")
	drafts := cli(t, e, "drafts", "--json")
	if !strings.Contains(drafts, `"maintenance": "Database upgrade"`) && !strings.Contains(drafts, `"maintenance":"Database upgrade"`) {
		t.Errorf("the draft is not marked:\n%s", drafts)
	}

	// The incident's change log says what was told of the window.
	inc := strings.TrimSpace(cli(t, e, "declare", "--title", "Checkout 5xx", "--severity", "SEV2", "--systems", "checkout", "--quiet"))
	if got := cli(t, e, "changes", inc); !strings.Contains(got, "["+ref+": not announced yet]") {
		t.Errorf("the change log before the announcement:\n%s", got)
	}
	cli(t, e, "maintenance", "announce", ref)
	if got := cli(t, e, "changes", inc); !strings.Contains(got, "["+ref+": announced ") || !strings.Contains(got, "Database upgrade") {
		t.Errorf("the change log does not say the window was announced:\n%s", got)
	}

	if show := cli(t, e, "maintenance", "cancel", ref); !strings.Contains(show, "cancelled") {
		t.Errorf("cancel: %q", show)
	}
	code, out = call("POST", "/maintenance/"+ref+"/cancel", "{}")
	if e, _ := out["error"].(map[string]any); code != http.StatusConflict || e["code"] != "conflict" {
		t.Errorf("cancelled twice: %d %v", code, out)
	}
}
