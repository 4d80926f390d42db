package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/sitrep-dev/sitrep/internal/backlog"
	"github.com/sitrep-dev/sitrep/internal/backlog/github"
	"github.com/sitrep-dev/sitrep/internal/backlog/jira"
	"github.com/sitrep-dev/sitrep/internal/backlog/linear"
	"github.com/sitrep-dev/sitrep/internal/chat"
	"github.com/sitrep-dev/sitrep/internal/config"
	"github.com/sitrep-dev/sitrep/internal/intake"
)

// buildIntake wires the monitoring webhooks: a secret per source, the
// escalation list's systems to map alerts onto, and the note to the comms
// leads, queued in the outbox by its own job.
func (h *Main) buildIntake(workers *river.Workers) {
	c := h.cfg.Intake
	secrets := c.Secrets()
	if secrets[intake.Generic] == "" && h.cfg.SandboxEnabled() && h.directory.Current().Example {
		// The embedded default: every webhook would be off until a secret is
		// set, so "drafts from monitoring" could not be tried. The generic
		// one is turned on with a secret of its own, kept like the admin token.
		secrets[intake.Generic] = h.exampleIntakeSecret()
	}
	h.intake = &intake.Service{DB: h.db, Incidents: h.incidents, Jobs: h.inserter, Secrets: secrets,
		DefaultSeverity: c.DefaultSeverity, Logger: h.logger.With("component", "intake"),
		KnownSystems: h.directory, Notify: c.Notify, CommsLeads: h.directory,
		Maintenance: h.maint, SuppressDuringMaintenance: h.cfg.Maintenance.Alerts == "suppress"}
	// The note to the comms leads goes through the outbox, as every message does.
	river.AddWorker(workers, &intake.NoteWorker{Service: h.intake, Mail: h.outbox, PublicURL: h.cfg.Server.PublicURL})
}

// buildChat wires the chat mirror when Slack, Teams or IRC is configured, and
// returns the River queues its posts run on (one per target, beside the
// default queue, so that a chat outage never takes an email worker).
func (h *Main) buildChat(workers *river.Workers) map[string]river.QueueConfig {
	c := h.cfg.Chat
	targets := map[string]chat.Poster{}
	logger := h.logger.With("component", "chat")
	switch {
	case c.Slack.Token != "":
		targets["slack"] = &chat.SlackAPI{BaseURL: c.Slack.APIURL, Token: c.Slack.Token.Value(), Channel: c.Slack.Channel, Logger: logger}
	case c.Slack.WebhookURL != "":
		targets["slack"] = &chat.Slack{WebhookURL: c.Slack.WebhookURL.Value()}
	}
	if u := c.Teams.WebhookURL.Value(); u != "" {
		targets["teams"] = &chat.Teams{WebhookURL: u, Logger: logger}
	}
	if c.IRC.Server != "" {
		targets["irc"] = &chat.IRC{Addr: c.IRC.Server, TLS: c.IRC.TLS, Nick: c.IRC.Nick, Password: c.IRC.Password.Value(),
			Channel: c.IRC.Channel, Key: c.IRC.ChannelKey.Value(), Logger: logger}
	}
	if len(targets) == 0 {
		return nil
	}
	h.chat = &chat.Mirror{DB: h.db, Jobs: h.inserter, Incidents: h.incidents, Targets: targets,
		PublicURL: h.cfg.Server.PublicURL, Logger: logger}
	h.chat.Register(workers)
	return h.chat.Queues()
}

// startChat connects IRC and sweeps the timeline until Close.
func (h *Main) startChat() {
	if h.chat == nil {
		return
	}
	for _, t := range h.chat.Targets {
		if irc, ok := t.(*chat.IRC); ok {
			irc.Start(h.chatRun.ctx)
		}
	}
	h.chatRun.Go(func(ctx context.Context) { h.chat.Run(ctx, h.cfg.Chat.Interval) })
	h.logger.Info("chat mirror on", "targets", strings.Join(targetNames(h.chat.Targets), ", "))
}

func targetNames(m map[string]chat.Poster) []string {
	var out []string
	for name, t := range m {
		switch t := t.(type) {
		case *chat.IRC:
			host, _, _ := net.SplitHostPort(t.Addr)
			name += " " + t.Channel + "@" + host
		case *chat.SlackAPI:
			name += " " + t.Channel + " (Web API)"
		}
		out = append(out, name)
	}
	return out
}

// exampleIntakeSecret is the generic webhook's secret on the embedded
// default: the one kept in the data directory by an earlier start, else a
// new one, kept there (mode 0600) for `sitrep alert`.
func (h *Main) exampleIntakeSecret() string {
	if h.cfg.DataDir != "" {
		path := filepath.Join(h.cfg.DataDir, intakeSecretFile)
		if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) >= 16 {
			h.intakeSecret, h.intakeSecretFile = strings.TrimSpace(string(b)), path
			return h.intakeSecret
		}
	}
	raw := make([]byte, 24)
	_, _ = rand.Read(raw) // crypto/rand.Read does not fail (Go 1.24)
	h.intakeSecret, h.intakeSecretNew = hex.EncodeToString(raw), true
	h.intakeSecretFile = h.keepSecret(intakeSecretFile, h.intakeSecret+"\n")
	return h.intakeSecret
}

// githubIssues is the backlog's GitHub repository of the config; people
// maps owners to logins (nil for the doctor, which files nothing).
func githubIssues(c config.BacklogGitHub, people github.People) *github.Issues {
	return &github.Issues{BaseURL: c.APIURL, Token: c.Token.Value(), Owner: c.Owner, Repo: c.Repo, Labels: c.Labels,
		WebhookSecret: c.WebhookSecret.Value(), People: people}
}

// jiraIssues is the backlog's Jira Cloud project of the config.
func jiraIssues(c config.BacklogJira) *jira.Issues {
	return &jira.Issues{BaseURL: c.BaseURL, Email: c.Email, Token: c.APIToken.Value(), Project: c.Project, IssueType: c.IssueType,
		Labels: c.Labels, WebhookSecret: c.WebhookSecret.Value()}
}

// linearIssues is the backlog's Linear team of the config.
func linearIssues(c config.BacklogLinear) *linear.Issues {
	return &linear.Issues{URL: c.APIURL, APIKey: c.APIKey.Value(), Team: c.Team, Labels: c.Labels, WebhookSecret: c.WebhookSecret.Value()}
}

// backlogTracker is the configured tracker (nil: none), and whether its
// webhook is on; people maps owners to GitHub logins (nil for the doctor).
func backlogTracker(c config.Backlog, people github.People) (backlog.Tracker, bool) {
	switch c.Tracker {
	case "github":
		return githubIssues(c.GitHub, people), c.GitHub.WebhookSecret != ""
	case "jira":
		return jiraIssues(c.Jira), c.Jira.WebhookSecret != ""
	case "linear":
		return linearIssues(c.Linear), c.Linear.WebhookSecret != ""
	}
	return nil, false
}

// buildBacklog wires the backlog sync when backlog.tracker is set: the
// post-mortem files its improvements through it, and hears back from it
// when an issue is closed or reopened. It returns the queue its jobs run on.
func (h *Main) buildBacklog(workers *river.Workers) map[string]river.QueueConfig {
	c := h.cfg.Backlog
	tracker, webhook := backlogTracker(c, h.directory)
	if tracker == nil {
		return nil
	}
	logger := h.logger.With("component", "backlog")
	switch t := tracker.(type) {
	case *jira.Issues:
		t.Logger = logger
	case *linear.Issues:
		t.Logger = logger
	case *github.Issues:
		t.Logger = logger
	}
	h.backlog = &backlog.Service{DB: h.db, Jobs: h.inserter, Tracker: tracker, Items: h.postmortem, Logger: logger, CallTimeout: c.CallTimeout}
	h.postmortem.Tracker = h.backlog
	h.backlog.Register(workers)
	h.logger.Info("backlog sync on", "tracker", tracker.Name(), "webhook", webhook, "poll_every", c.PollEvery)
	return h.backlog.Queues()
}

// pollBacklog asks the tracker what changed every interval (every replica:
// a change applied twice changes nothing the second time).
func (h *Main) pollBacklog(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := h.backlog.Poll(ctx); err != nil && ctx.Err() == nil {
			h.logger.Error("backlog poll failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
