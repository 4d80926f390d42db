package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/calendar/graphfake"
	"github.com/sitrep-dev/sitrep/internal/config"
	"github.com/sitrep-dev/sitrep/internal/doctor"
	"github.com/sitrep-dev/sitrep/internal/mailauth/oauthfake"
)

// graph365 is Microsoft 365 as the example organisation would have it:
// an Entra app with a certificate, Graph with the organiser's mailbox, two
// rooms, and every person of the directory.
func graph365(t *testing.T, cfg *config.Config) *graphfake.Server {
	t.Helper()
	entra := oauthfake.New(t, time.Hour)
	certPEM, keyPEM, cert := oauthfake.NewCertificate(t, "sitrep")
	entra.AddApp(oauthfake.App{Tenant: "sitrep.example", ClientID: "11111111-2222-3333-4444-555555555555", Cert: cert, Consent: true})
	graph := graphfake.New(t, graphfake.Options{Verify: graphfake.JWT(entra.PublicKeyPEM(), entra.Issuer)})
	graph.AddUser("incidents@sitrep.example", "Incidents")
	graph.AddRoom(graphfake.Room{Email: "atlas@rooms.sitrep.example", DisplayName: "Atlas", Building: "HQ", FloorNumber: graphfake.Floor(3), Capacity: 30, Tags: []string{"Whiteboard"}})
	graph.AddRoom(graphfake.Room{Email: "hall@rooms.sitrep.example", DisplayName: "Hall", Building: "HQ", FloorNumber: graphfake.Floor(0), Capacity: 80})

	certFile := filepath.Join(t.TempDir(), "graph-cert.pem")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.Postmortem.Backend = "microsoft365"
	cfg.Postmortem.Microsoft365 = config.Microsoft365{Tenant: "sitrep.example", ClientID: "11111111-2222-3333-4444-555555555555",
		Certificate: certFile, PrivateKey: config.Secret(keyPEM), Organizer: "incidents@sitrep.example", TeamsMeeting: true,
		GraphURL: graph.BaseURL(), TokenURL: entra.MicrosoftTokenURL("sitrep.example")}
	return graph
}

// TestPostmortemInOutlookThroughServe: `sitrep serve` on the microsoft365
// backend (an Entra app with a certificate, Graph checked against
// Microsoft's CSDL) books the post-mortem in the whiteboard room with a
// Teams meeting, shows the join link on the CLI and the incident, reads a
// decline back from Outlook, and `sitrep doctor` proves the app and then
// names the application access policy when the organiser is outside it.
func TestPostmortemInOutlookThroughServe(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	graph := graph365(t, &cfg)
	cfg.Postmortem.AnswersEvery = time.Second // the config's floor is a minute; a test cannot wait that long
	e, h := startHub(t, cfg)

	cli(t, e, "declare", "--title", "Checkout down", "--severity", "SEV1", "--systems", "checkout",
		"--lead", "will.hartmann@sitrep.example", "--comms", "grace.okafor@sitrep.example")
	cli(t, e, "resolve", "INC-1", "--root-cause", "A config push disabled the payment provider's keys.", "--fix", "Rolled the config back.")
	if out := cli(t, e, "postmortem", "INC-1", "--propose"); !strings.Contains(out, "Atlas") || strings.Contains(out, "Hall") {
		t.Fatalf("the slots must be in Atlas, the room with the whiteboard:\n%s", out)
	}
	cli(t, e, "postmortem", "INC-1", "--book", "1")
	var pm struct {
		State   string `json:"state"`
		Booking struct {
			ID       string `json:"id"`
			MeetLink string `json:"meet_link"`
		} `json:"booking"`
		Attendees []struct {
			Email    string `json:"email"`
			PartStat string `json:"partstat"`
		} `json:"attendees"`
	}
	waitPM := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			_ = json.Unmarshal([]byte(cli(t, e, "postmortem", "INC-1", "--json")), &pm)
			if ok() {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %+v", what, pm)
			}
		}
	}
	waitPM("booked", func() bool { return pm.State == "booked" })
	if !strings.HasPrefix(pm.Booking.MeetLink, "https://teams.microsoft.com/") {
		t.Fatalf("no Teams link on the booking: %+v", pm.Booking)
	}
	if out := cli(t, e, "postmortem", "INC-1"); !strings.Contains(out, "join:  "+pm.Booking.MeetLink) {
		t.Errorf("the CLI does not show the Teams link:\n%s", out)
	}
	if show := cli(t, e, "show", "INC-1"); !strings.Contains(show, "join: "+pm.Booking.MeetLink) {
		t.Errorf("the incident's timeline does not carry the Teams link:\n%s", show)
	}
	ev, ok := graph.Event(pm.Booking.ID)
	if !ok {
		t.Fatalf("no event %s in Outlook", pm.Booking.ID)
	}
	if body, _ := json.Marshal(ev.JSON); !strings.Contains(string(body), "atlas@rooms.sitrep.example") || !strings.Contains(string(body), "lena.vogel@sitrep.example") {
		t.Errorf("the event lacks the room or a responder: %s", body)
	}

	// Lena declines in Outlook; the hub reads it back.
	graph.SetResponse(pm.Booking.ID, "lena.vogel@sitrep.example", "declined")
	waitPM("the decline read back", func() bool {
		for _, a := range pm.Attendees {
			if a.Email == "lena.vogel@sitrep.example" {
				return a.PartStat == "DECLINED"
			}
		}
		return false
	})
	if show := cli(t, e, "show", "INC-1"); strings.Count(show, "lena.vogel@sitrep.example declined the post-mortem invitation") != 1 {
		t.Errorf("the decline must be on the timeline once:\n%s", show)
	}

	if r := runIntegration(t, h.cfg, "Microsoft 365 calendar"); r.Status != doctor.OK {
		t.Errorf("doctor with the app in the policy: %+v", r)
	}
	graph.DenyMailbox("incidents@sitrep.example")
	r := runIntegration(t, h.cfg, "Microsoft 365 calendar")
	if r.Status != doctor.Fail || !strings.Contains(r.Detail, "outside the app's application access policy") {
		t.Errorf("doctor with the organiser outside the policy must name it: %+v", r)
	}
}
