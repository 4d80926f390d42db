package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/config"
)

// The change log end to end through the hub: the deployment webhook with and
// without its secret, `sitrep change add`, a maintenance calendar file and an
// unreachable CalDAV calendar, `sitrep changes` with the suspected system
// highlighted, suspect and confirm onto the timeline; and `sitrep show`'s
// report summary with the possibly-isolated flag.
func TestChangesAndReportsThroughTheCLI(t *testing.T) {
	t.Parallel()
	firstFailure := time.Now().UTC().Add(-time.Hour).Truncate(time.Minute)
	f := func(t time.Time) string { return t.UTC().Format("20060102T150405Z") }
	ics := filepath.Join(t.TempDir(), "maintenance.ics")
	cal := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:m1@ops\r\nDTSTAMP:" + f(firstFailure) +
		"\r\nDTSTART:" + f(firstFailure.Add(-10*time.Hour)) + "\r\nDTEND:" + f(firstFailure.Add(-9*time.Hour)) +
		"\r\nSUMMARY:Core switch firmware upgrade\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	if err := os.WriteFile(ics, []byte(cal), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadDAV := "http://" + ln.Addr().String()
	ln.Close()
	const secret = "hook-secret-4711"
	cfg := testConfig(t)
	cfg.Changes.WebhookSecret = secret
	cfg.Changes.MaintenanceICS = ics
	cfg.Changes.MaintenanceCalDAV = config.MaintenanceCalDAV{URL: deadDAV, Username: "ops", Password: "x", CalendarPath: "/ops/maintenance/"}
	e, _ := startHub(t, cfg)
	server := e.getenv("SITREP_SERVER")

	cli(t, e, "declare", "--title", "Checkout down", "--severity", "SEV1", "--systems", "checkout", "--since", firstFailure.Format(time.RFC3339))

	hook := func(header map[string]string, body string) (int, string) {
		req, _ := http.NewRequest("POST", server+"/api/v1/changes/deployments", strings.NewReader(body))
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return resp.StatusCode, b.String()
	}
	deployment := fmt.Sprintf(`{"id":"ci-991","service":"acme/checkout-api","version":"v2.14.0","environment":"production",`+
		`"triggered_by":"release-bot","at":%q,"url":"https://ci.example.com/991"}`, firstFailure.Add(-3*time.Hour).Format(time.RFC3339))

	// No secret, a wrong one, the admin API token: 401 in the API's error shape, nothing stored.
	for _, h := range []map[string]string{nil, {"Authorization": "Bearer wrong"}, {"Authorization": "Bearer " + e.getenv("SITREP_TOKEN")}} {
		code, body := hook(h, deployment)
		var eb struct {
			Error struct{ Code, Message string }
		}
		if code != http.StatusUnauthorized || json.Unmarshal([]byte(body), &eb) != nil || eb.Error.Code != "unauthorized" {
			t.Fatalf("webhook with %v: %d %s", h, code, body)
		}
	}
	if out := cli(t, e, "changes", "INC-1"); strings.Contains(out, "checkout-api") {
		t.Fatalf("a refused webhook stored a change:\n%s", out)
	}

	// With the secret (bearer, then the HMAC of a redelivery): stored once.
	if code, body := hook(map[string]string{"Authorization": "Bearer " + secret}, deployment); code != http.StatusCreated {
		t.Fatalf("webhook: %d %s", code, body)
	}
	if code, body := hook(map[string]string{"X-Sitrep-Signature": webhookSignature(secret, deployment)}, deployment); code != http.StatusOK || !strings.Contains(body, `"created": false`) {
		t.Fatalf("the same deployment again: %d %s", code, body)
	}
	// A GitHub status that is not a success is acknowledged and ignored.
	if code, body := hook(map[string]string{"Authorization": "Bearer " + secret, "X-GitHub-Event": "ping"}, `{"zen":"hi"}`); code != http.StatusAccepted {
		t.Fatalf("ping: %d %s", code, body)
	}

	out := cli(t, e, "change", "add", "--service", "search", "--version", "v9", "--at", firstFailure.Add(-30*time.Hour).Format(time.RFC3339))
	if !strings.Contains(out, "recorded: search v9") {
		t.Fatalf("change add:\n%s", out)
	}

	out = cli(t, e, "changes", "INC-1")
	t.Logf("sitrep changes INC-1:\n%s", out)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !strings.HasPrefix(lines[0], "! maintenance calendar unreachable: "+deadDAV) {
		t.Errorf("the unreachable CalDAV calendar must be reported first:\n%s", out)
	}
	deployLine, maintLine := -1, -1
	for i, l := range lines {
		switch {
		case strings.Contains(l, "acme/checkout-api v2.14.0"):
			deployLine = i
		case strings.Contains(l, "Core switch firmware upgrade"):
			maintLine = i
		}
	}
	if deployLine < 0 || maintLine < 0 || deployLine > maintLine {
		t.Fatalf("want the deployment, then the maintenance window:\n%s", out)
	}
	if !strings.HasPrefix(lines[deployLine], "*") || !strings.Contains(lines[deployLine], "<< suspected system") ||
		strings.HasPrefix(lines[maintLine], "*") || !strings.Contains(lines[deployLine], " 3h ") {
		t.Errorf("the deployment, 3h before, is highlighted; the maintenance is not:\n%s", out)
	}
	if strings.Contains(out, "search v9") {
		t.Errorf("30 hours before is outside the 24h window:\n%s", out)
	}
	if wide := cli(t, e, "changes", "INC-1", "--window", "48h"); !strings.Contains(wide, "search v9") {
		t.Errorf("--window 48h reaches the 30h deployment:\n%s", wide)
	}

	id := regexp.MustCompile(`^\*\s+(\d+)`).FindStringSubmatch(lines[deployLine])
	if id == nil {
		t.Fatalf("no id on %q", lines[deployLine])
	}
	if out := cli(t, e, "change", "suspect", "INC-1", id[1]); !strings.Contains(out, "suspected on INC-1") {
		t.Errorf("suspect: %s", out)
	}
	if out := cli(t, e, "change", "confirm", "INC-1", id[1]); !strings.Contains(out, "confirmed as a cause of INC-1") {
		t.Errorf("confirm: %s", out)
	}
	if out := cli(t, e, "changes", "INC-1"); !strings.Contains(out, "[CONFIRMED CAUSE]") {
		t.Errorf("changes after confirm:\n%s", out)
	}
	show := cli(t, e, "show", "INC-1")
	if !strings.Contains(show, "change_suspected") || !strings.Contains(show, "change_confirmed") {
		t.Errorf("the timeline has the suspicion and the confirmation:\n%s", show)
	}

	// Reports: one report is possibly isolated; three people in two regions are not.
	if strings.Contains(show, "reports ") {
		t.Errorf("no reports yet, no reports line:\n%s", show)
	}
	cli(t, e, "report", "INC-1", "--from", "ana@customer.test", "--where", "EU", "--how", "web", "--saw", "card declined")
	show = cli(t, e, "show", "INC-1")
	if !strings.Contains(show, "1 report from 1 person in eu") || !strings.Contains(show, "POSSIBLY ISOLATED (a single reporter): verify before mobilising") {
		t.Errorf("one report:\n%s", show)
	}
	cli(t, e, "report", "INC-1", "--from", "bo@customer.test", "--where", "EU", "--how", "web", "--saw", "spinner forever")
	cli(t, e, "report", "INC-1", "--from", "cy@customer.test", "--where", "US", "--how", "mobile app", "--saw", "error 502")
	show = cli(t, e, "show", "INC-1")
	t.Logf("sitrep show INC-1:\n%s", show)
	if !strings.Contains(show, "3 reports from 3 people in eu, us") || strings.Contains(show, "POSSIBLY ISOLATED") {
		t.Errorf("three people in two regions:\n%s", show)
	}
}

func webhookSignature(secret, body string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}
