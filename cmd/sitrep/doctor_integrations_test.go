package main

import (
	"context"
	"strings"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/chat/slackfake"
	"github.com/sitrep-dev/sitrep/internal/config"
	"github.com/sitrep-dev/sitrep/internal/doctor"
)

// runIntegration runs the doctor's check called name for cfg.
func runIntegration(t *testing.T, cfg config.Config, name string) doctor.Result {
	t.Helper()
	for _, c := range integrations(cfg) {
		if r := c.Check(context.Background()); r.Name == name {
			return r
		}
	}
	t.Fatalf("no doctor check %q for this config", name)
	return doctor.Result{}
}

// TestDoctorChecksSlackWebAPIMode: the bot token and the channel are
// tried for real (auth.test, one message of history) against the Slack
// fake, and a refusal names the fix.
func TestDoctorChecksSlackWebAPIMode(t *testing.T) {
	t.Parallel()
	slack := slackfake.New(t)
	cfg := config.Default()
	cfg.Chat.Slack = config.ChatSlack{Token: config.Secret(slackfake.Token), Channel: slackfake.Channel, APIURL: slack.URL}
	if r := runIntegration(t, cfg, "Slack"); r.Status != doctor.OK {
		t.Fatalf("a good token and channel: %+v", r)
	}
	cfg.Chat.Slack.Channel = "C0NOTJOINED"
	slack.AddChannel(slackfake.ChannelInfo{ID: "C0NOTJOINED"})
	r := runIntegration(t, cfg, "Slack")
	if r.Status != doctor.Fail || !strings.Contains(r.Detail+r.Fix, "/invite") {
		t.Fatalf("a channel the app is not in: %+v", r)
	}
	cfg.Chat.Slack.Token = "xoxb-revoked"
	if r := runIntegration(t, cfg, "Slack"); r.Status != doctor.Fail || strings.Contains(r.Detail, "xoxb-revoked") {
		t.Fatalf("a bad token must fail without printing it: %+v", r)
	}
}
