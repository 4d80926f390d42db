package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"time"

	"github.com/sitrep-dev/sitrep/internal/backlog"
	"github.com/sitrep-dev/sitrep/internal/calendar/caldav"
	"github.com/sitrep-dev/sitrep/internal/calendar/google"
	"github.com/sitrep-dev/sitrep/internal/changes"
	"github.com/sitrep-dev/sitrep/internal/chat"
	"github.com/sitrep-dev/sitrep/internal/config"
	"github.com/sitrep-dev/sitrep/internal/doctor"
	"github.com/sitrep-dev/sitrep/internal/outbox"
	"github.com/sitrep-dev/sitrep/internal/sandbox"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// errChecksFailed makes "sitrep doctor" exit 1 after printing its report.
var errChecksFailed = errors.New("checks failed")

// cmdDoctor checks the configured route part by part (internal/doctor)
// and prints one line per check; the exit status is 1 when any failed.
func cmdDoctor(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "doctor", "doctor [--config FILE] [--json] [--probe-timeout 60s] [--no-probe]")
	path := configFlag(fs, e)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	probeTimeout := fs.Duration("probe-timeout", 0, "how long the loop check waits for its probe (default: doctor.probe_timeout, 60s)")
	noProbe := fs.Bool("no-probe", false, "skip the loop check (sends no probe email)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := config.Load(*path, e.environ)
	var problems []string
	if err != nil {
		var p *config.Problems
		if !errors.As(err, &p) {
			// The file could not be read: nothing else can be checked
			// without guessing at what it says.
			report := &doctor.Report{Started: time.Now().UTC(), Results: []doctor.Result{{Area: "config", Name: "configuration", Status: doctor.Fail,
				Detail: err.Error(), Fix: "give --config (or SITREP_CONFIG) a readable file; every {file: ...} secret must exist"}}}
			return printAndStatus(e, *asJSON, *path, report)
		} else {
			problems = p.List
		}
	}
	source := *path
	if source == "" {
		source = "embedded default"
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))

	db, dbErr := store.Open(ctx, cfg.DatabaseURL())
	if db != nil {
		defer db.Close()
	}
	var sandboxSMTP, sandboxIMAP string
	if cfg.SandboxEnabled() {
		// The sandbox lives inside sitrep serve: check that one when it
		// runs, else a temporary one, so that the rest of the route is
		// still checked.
		sandboxSMTP, sandboxIMAP = cfg.Mail.Sandbox.SMTPListen, cfg.Mail.Sandbox.IMAPListen
		if c, err := net.DialTimeout("tcp", sandboxSMTP, time.Second); err == nil {
			c.Close()
		} else {
			sb, err := sandbox.New(sandbox.Config{SMTPAddr: "127.0.0.1:0", IMAPAddr: "127.0.0.1:0", Domain: cfg.Mail.Domain,
				Password: cfg.Mail.Sandbox.Password.Value(), Logger: logger})
			if err == nil {
				err = sb.EnsureMailbox(cfg.Mail.ReplyLocalPart+"@"+cfg.Mail.Domain, "sitrep inbox")
			}
			if err == nil {
				err = sb.Start(ctx)
			}
			if err != nil {
				return fmt.Errorf("temporary mail sandbox: %w", err)
			}
			defer sb.Close()
			sandboxSMTP, sandboxIMAP = sb.SMTPAddr(), sb.IMAPAddr()
			fmt.Fprintln(e.stderr, "sitrep doctor: sitrep serve is not running; a temporary mail sandbox plays its built-in one")
		}
	}
	var database doctor.Database
	if db != nil {
		database = db
	}
	// The OAuth2 tokens mail signs in with, built as sitrep serve builds them.
	var tokens doctor.TokenSource
	th := &Main{cfg: cfg, logger: logger}
	if err := th.buildMailTokens(ctx); err != nil {
		problems = append(problems, err.Error())
	} else if th.mailTokens != nil {
		tokens = th.mailTokens
	}
	d := newDoctor(cfg, logger, database, dbErr, sandboxSMTP, sandboxIMAP, tokens)
	d.ConfigProblems, d.ConfigSource, d.NoProbe = problems, source, *noProbe
	if *probeTimeout > 0 {
		d.ProbeTimeout = *probeTimeout
	}
	return printAndStatus(e, *asJSON, source, d.Run(ctx))
}

// printAndStatus prints the report and turns a failed check into exit 1.
func printAndStatus(e env, asJSON bool, source string, report *doctor.Report) error {
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(report); err != nil {
			return err
		}
	} else {
		printReport(e.stdout, source, report)
	}
	if report.Failed() {
		return fmt.Errorf("%w: %d of %d", errChecksFailed, report.Count(doctor.Fail), len(report.Results))
	}
	return nil
}

func printReport(w io.Writer, source string, r *doctor.Report) {
	fmt.Fprintf(w, "sitrep doctor: %s\n\n", source)
	width := 0
	for _, c := range r.Results {
		width = max(width, len(c.Name))
	}
	marks := map[doctor.Status]string{doctor.OK: "ok", doctor.Warn: "WARN", doctor.Fail: "FAIL", doctor.Skip: "skip"}
	for _, c := range r.Results {
		fmt.Fprintf(w, "  %-4s  %-*s  %s\n", marks[c.Status], width, c.Name, c.Detail)
		if c.Fix != "" && c.Status != doctor.OK {
			fmt.Fprintf(w, "        %-*s  fix: %s\n", width, "", c.Fix)
		}
	}
	fmt.Fprintf(w, "\n%d ok, %d warnings, %d failed, %d skipped\n", r.Count(doctor.OK), r.Count(doctor.Warn), r.Count(doctor.Fail), r.Count(doctor.Skip))
}

// newDoctor builds the checks from the configuration. sandboxSMTP and
// sandboxIMAP are the sandbox's addresses when it plays the mail servers.
func newDoctor(cfg config.Config, logger *slog.Logger, db doctor.Database, dbErr error, sandboxSMTP, sandboxIMAP string, tokens doctor.TokenSource) *doctor.Doctor {
	m := cfg.Mail
	from := m.From
	if a, err := mail.ParseAddress(m.From); err == nil {
		from = a.Address
	}
	// The outbox sends every transaction from a bounce address
	// (outbox.BounceTag); the envelope check tries one of that form.
	envelope := m.ReplyLocalPart + "+" + outbox.BounceTag + "0-doctorcheck@" + m.Domain
	dm := doctor.Mail{Domain: m.Domain, From: from, EnvelopeFrom: envelope, ReplyLocalPart: m.ReplyLocalPart, HELO: m.Domain, Mailbox: m.IMAP.Mailbox, MoveTo: m.IMAP.MoveTo,
		SMTP: doctor.Server{Host: m.SMTP.Host, Port: m.SMTP.Port, TLS: m.SMTP.TLS, InsecureSkipVerify: m.SMTP.InsecureSkipVerify,
			Username: m.SMTP.Username, Password: m.SMTP.Password.Value()},
		IMAP: doctor.Server{Host: m.IMAP.Host, Port: m.IMAP.Port, TLS: m.IMAP.TLS, Username: m.IMAP.Username, Password: m.IMAP.Password.Value()},
	}
	// OAuth2 sign-in (mail.oauth), as the outbox and the ingester do.
	if tokens != nil && m.SMTPAuth() == config.MailAuthOAuth2 {
		dm.SMTP.OAuth, dm.SMTP.Password = tokens, ""
		dm.SMTP.Username = m.OAuthMailbox()
	}
	if tokens != nil && m.IMAPAuth() == config.MailAuthOAuth2 {
		dm.IMAP.OAuth, dm.IMAP.Password = tokens, ""
		dm.IMAP.Username = m.OAuthMailbox()
	}
	if sandboxSMTP != "" {
		host, port, _ := net.SplitHostPort(sandboxSMTP)
		dm.SMTP = doctor.Server{Host: host, TLS: "none", Sandbox: true}
		dm.SMTP.Port, _ = strconv.Atoi(port)
		if m.IMAP.Host == "" {
			host, port, _ := net.SplitHostPort(sandboxIMAP)
			dm.IMAP = doctor.Server{Host: host, TLS: "none", Sandbox: true, Username: m.ReplyLocalPart + "@" + m.Domain, Password: m.Sandbox.Password.Value()}
			dm.IMAP.Port, _ = strconv.Atoi(port)
		}
	}
	if k := m.DKIM; k.Enabled() {
		if key, err := config.ParseDKIMKey(k.PrivateKey.Value()); err == nil {
			dm.DKIM = doctor.DKIM{Domain: cfg.DKIMDomain(), Selector: k.Selector, Key: key}
		}
	}
	d := &doctor.Doctor{Mail: dm, DB: db, DBError: dbErr, Resolver: resolver(cfg.Doctor.Resolver), ProbeTimeout: cfg.Doctor.ProbeTimeout,
		Logger: logger, Integrations: integrations(cfg)}
	return d
}

// resolver is the system's, or one that asks only the server at addr.
func resolver(addr string) *net.Resolver {
	if addr == "" {
		return net.DefaultResolver
	}
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
}

const googleDelegationFix = "Google Admin console → Security → Access and data control → API controls → Manage Domain Wide Delegation: " +
	"add the service account's client ID with the scopes named (internal/calendar/GOOGLE.md)"

// integrations are the calendar and chat checks of what is configured.
func integrations(cfg config.Config) []doctor.Integration {
	var out []doctor.Integration
	pm := cfg.Postmortem
	switch pm.Backend {
	case "caldav":
		if dav, err := caldav.New(pm.CalDAV.URL, pm.CalDAV.Username, pm.CalDAV.Password.Value(), pm.CalDAV.Calendar); err == nil {
			out = append(out, doctor.CredentialCheck{Area: "calendar", Name: "CalDAV login", What: "post-mortem calendar at " + pm.CalDAV.URL, Verifier: dav,
				Fix: "check postmortem.caldav.url, username, password and calendar"})
		}
	case "google":
		out = append(out, doctor.CredentialCheck{Area: "calendar", Name: "Google delegation", What: "Google Calendar as " + pm.Google.Organizer,
			Verifier: google.Delegation{KeyFile: pm.Google.CredentialsFile, Subject: pm.Google.Organizer, Scopes: []string{google.CalendarScope}},
			Fix:      googleDelegationFix + "; postmortem.google.credentials_file is the key, organizer the user acted as"})
		if pm.Google.RoomsAdmin != "" {
			out = append(out, doctor.CredentialCheck{Area: "calendar", Name: "Google rooms delegation", What: "Google rooms as " + pm.Google.RoomsAdmin,
				Verifier: google.Delegation{KeyFile: pm.Google.CredentialsFile, Subject: pm.Google.RoomsAdmin, Scopes: []string{google.RoomsScope}},
				Fix:      googleDelegationFix + "; postmortem.google.rooms_admin must be an administrator"})
		}
	}
	if pm.Backend == "microsoft365" {
		m := pm.Microsoft365
		check := doctor.CredentialCheck{Area: "calendar", Name: "Microsoft 365 calendar", What: "Outlook calendar of " + m.Organizer + " through Microsoft Graph",
			Fix: "docs/microsoft-365-calendar.md: the app's Calendars.ReadWrite and Place.Read.All (application) with admin consent, and the organizer and rooms inside the application access policy"}
		if cal, err := graphCalendar(m, slog.New(slog.DiscardHandler)); err == nil {
			check.Verifier = cal
		} else {
			check.Verifier = refused{err}
		}
		out = append(out, check)
	}
	if d := cfg.Changes.MaintenanceCalDAV; d.URL != "" {
		if dav, err := caldav.New(d.URL, d.Username, d.Password.Value(), d.CalendarPath); err == nil {
			out = append(out, doctor.CredentialCheck{Area: "calendar", Name: "maintenance CalDAV", What: "maintenance calendar at " + d.URL, Verifier: dav,
				Fix: "check changes.maintenance_caldav.url, username, password and calendar_path"})
		}
	}
	if g := cfg.Changes.MaintenanceGoogle; g.CalendarID != "" {
		key, subject := g.CredentialsFile, g.Subject
		if key == "" {
			key = pm.Google.CredentialsFile
		}
		if subject == "" {
			subject = pm.Google.Organizer
		}
		out = append(out, doctor.CredentialCheck{Area: "calendar", Name: "maintenance Google", What: "Google maintenance calendar as " + subject,
			Verifier: google.Delegation{KeyFile: key, Subject: subject, Scopes: []string{changes.GoogleReadScope}},
			Fix:      googleDelegationFix + " (the read-only calendar scope)"})
	}
	if sl := cfg.Chat.Slack; sl.Token != "" {
		out = append(out, doctor.CredentialCheck{Area: "chat", Name: "Slack", What: "Slack channel " + sl.Channel + " through the Web API",
			Verifier: &chat.SlackAPI{BaseURL: sl.APIURL, Token: sl.Token.Value(), Channel: sl.Channel},
			Fix:      "chat.slack.token is the app's Bot User OAuth Token (xoxb-...), with chat:write and channels:history (groups:history for a private channel); invite the app to chat.slack.channel (docs/chat.md)"})
	}
	if hook := cfg.Chat.Teams.WebhookURL.Value(); hook != "" {
		if u, err := url.Parse(hook); err == nil {
			out = append(out, doctor.Reachability{Area: "chat", Name: "Teams", What: "Teams Workflows webhook host", Addr: net.JoinHostPort(u.Hostname(), cmp.Or(u.Port(), "443")), TLS: u.Scheme == "https",
				Fix: "this machine must reach " + u.Hostname() + " over HTTPS (a proxy or firewall may block it); the flow itself is tried at the first post, since a test card would show in the channel"})
		}
	}
	if hook := cfg.Chat.Slack.WebhookURL.Value(); hook != "" {
		if u, err := url.Parse(hook); err == nil {
			port := u.Port()
			if port == "" {
				port = map[string]string{"http": "80"}[u.Scheme]
				if port == "" {
					port = "443"
				}
			}
			out = append(out, doctor.Reachability{Area: "chat", Name: "Slack", What: "Slack webhook host", Addr: net.JoinHostPort(u.Hostname(), port), TLS: u.Scheme == "https",
				Fix: "this machine must reach " + u.Hostname() + " over HTTPS (a proxy or firewall may block it); the webhook itself is tried at the first post"})
		}
	}
	switch b := cfg.Backlog; b.Tracker {
	case "github":
		out = append(out, doctor.CredentialCheck{Area: "backlog", Name: "GitHub Issues", What: "issues of " + b.GitHub.Owner + "/" + b.GitHub.Repo,
			Verifier: backlog.Check{Tracker: githubIssues(b.GitHub, nil)},
			Fix: "backlog.github.token must be a fine-grained token (or an app's installation token) with Issues: read and write on " +
				b.GitHub.Owner + "/" + b.GitHub.Repo + ", not expired; backlog.github.owner and repo name the repository (docs/backlog.md)"})
	case "jira":
		out = append(out, doctor.CredentialCheck{Area: "backlog", Name: "Jira Cloud", What: "project " + b.Jira.Project + " at " + b.Jira.BaseURL,
			Verifier: backlog.Check{Tracker: jiraIssues(b.Jira)},
			Fix: "backlog.jira.api_token must be a live API token of backlog.jira.email (id.atlassian.com → Security → API tokens); that account needs " +
				"Browse projects and Create issues in " + b.Jira.Project + "; backlog.jira.project is the project's key and issue_type one of its issue types (docs/backlog.md)"})
	case "linear":
		out = append(out, doctor.CredentialCheck{Area: "backlog", Name: "Linear", What: "team " + b.Linear.Team + " in Linear",
			Verifier: backlog.Check{Tracker: linearIssues(b.Linear)},
			Fix: "backlog.linear.api_key must be a live personal API key (Settings → Security & access) of a member of team " + b.Linear.Team +
				"; backlog.linear.team is the team's key (ENG in ENG-123) and every name in labels a label of the team or the workspace (docs/backlog.md)"})
	}
	if irc := cfg.Chat.IRC; irc.Server != "" {
		out = append(out, doctor.Reachability{Area: "chat", Name: "IRC", What: "IRC server for " + irc.Channel, Addr: irc.Server, TLS: irc.TLS,
			Fix: "check chat.irc.server (host:port) and chat.irc.tls (6697 with TLS, 6667 without)"})
	}
	return out
}

// doctorFor is the hub's doctor for the admin page: the running sandbox,
// the open database.
func (h *Main) doctorFor() *doctor.Doctor {
	var smtpAddr, imapAddr string
	if h.sandbox != nil {
		smtpAddr, imapAddr = h.sandbox.SMTPAddr(), h.sandbox.IMAPAddr()
	}
	var tokens doctor.TokenSource
	if h.mailTokens != nil {
		tokens = h.mailTokens
	}
	d := newDoctor(h.cfg, h.logger.With("component", "doctor"), h.db, nil, smtpAddr, imapAddr, tokens)
	d.ConfigSource = "the running hub's configuration"
	return d
}

// refused is a check that fails with why it could not be made (a key file
// that is missing, a certificate that does not match its key).
type refused struct{ err error }

func (r refused) Verify(context.Context) error { return r.err }
