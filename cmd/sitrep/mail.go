package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/riverqueue/river"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/config"
	"github.com/sitrep-dev/sitrep/internal/inbox"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/mailauth"
	"github.com/sitrep-dev/sitrep/internal/mailmsg"
	"github.com/sitrep-dev/sitrep/internal/outbox"
	"github.com/sitrep-dev/sitrep/internal/reply"
	"github.com/sitrep-dev/sitrep/internal/sandbox"
	"github.com/sitrep-dev/sitrep/internal/subscription"
)

// startMail starts the mail sandbox when no SMTP server is configured,
// and returns the pool that sends through the configured server or the
// sandbox.
func (h *Main) startMail(ctx context.Context) (outbox.Sender, func(), error) {
	cfg := h.cfg
	smtpCfg := outbox.SMTPConfig{
		Host: cfg.Mail.SMTP.Host, Port: cfg.Mail.SMTP.Port, TLS: cfg.Mail.SMTP.TLS,
		Username: cfg.Mail.SMTP.Username, Password: cfg.Mail.SMTP.Password.Value(),
		Concurrency: cfg.Mail.SMTP.Concurrency, RatePerSecond: cfg.Mail.SMTP.RatePerSecond,
		Timeout: cfg.Mail.SMTP.Timeout, MaxIdle: cfg.Mail.SMTP.MaxIdle, InsecureSkipVerify: cfg.Mail.SMTP.InsecureSkipVerify,
		NoPipelining: cfg.Mail.SMTP.NoPipelining, HELO: cfg.Mail.Domain, Logger: h.logger,
	}
	closeAll := func() {}
	if cfg.SandboxEnabled() {
		dataDir := ""
		if cfg.DataDir != "" {
			dataDir = filepath.Join(cfg.DataDir, "sandbox")
		}
		sb, err := sandbox.New(sandbox.Config{
			SMTPAddr: cfg.Mail.Sandbox.SMTPListen, IMAPAddr: cfg.Mail.Sandbox.IMAPListen, Domain: cfg.Mail.Domain,
			Password: cfg.Mail.Sandbox.Password.Value(), DataDir: dataDir, Logger: h.logger.With("component", "sandbox"),
		})
		if err != nil {
			return nil, nil, fmt.Errorf("mail sandbox: %w", err)
		}
		if err := h.ensureSandboxMailboxes(sb); err != nil {
			return nil, nil, err
		}
		if err := sb.Start(ctx); err != nil {
			return nil, nil, fmt.Errorf("mail sandbox: %w", err)
		}
		h.sandbox = sb
		closeAll = func() { sb.Close() }
		host, port, _ := net.SplitHostPort(sb.SMTPAddr())
		smtpCfg.Host, smtpCfg.TLS, smtpCfg.Username, smtpCfg.Password = host, "none", "", ""
		smtpCfg.Port, _ = strconv.Atoi(port)
	}
	if err := h.buildMailTokens(ctx); err != nil {
		closeAll()
		return nil, nil, err
	}
	if h.mailTokens != nil && cfg.Mail.SMTPAuth() == config.MailAuthOAuth2 && !cfg.SandboxEnabled() {
		smtpCfg.OAuth, smtpCfg.Password = h.mailTokens, ""
	}
	if r := cfg.Mail.SMTP.RatePerSecond; r > 0 {
		// The account's limit, whatever the number of replicas.
		smtpCfg.Limiter = &outbox.SharedLimiter{DB: h.db, Rate: r, Size: max(1, int(r))}
	}
	pool, err := outbox.NewPool(smtpCfg)
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	closer := func() { pool.Close(); closeAll() }
	if d := cfg.Mail.DKIM; d.Enabled() {
		// config.Load has refused a missing or malformed key already.
		key, err := config.ParseDKIMKey(d.PrivateKey.Value())
		if err != nil {
			closer()
			return nil, nil, fmt.Errorf("mail.dkim.private_key: %w", err)
		}
		signer, err := outbox.NewDKIMSender(pool, cfg.DKIMDomain(), d.Selector, key)
		if err != nil {
			closer()
			return nil, nil, fmt.Errorf("mail.dkim: %w", err)
		}
		h.logger.Info("DKIM signing on", "domain", cfg.DKIMDomain(), "selector", d.Selector)
		return signer, closer, nil
	}
	return pool, closer, nil
}

// buildMailTokens prepares the OAuth2 tokens SMTP and IMAP sign in with,
// when either is configured to. A key or secret that cannot be read stops
// the start; a token endpoint that refuses does not: mail turns unhealthy
// with the reason, and the rest of the hub runs.
func (h *Main) buildMailTokens(ctx context.Context) error {
	m := h.cfg.Mail
	if !(m.SMTP.Host != "" && m.SMTPAuth() == config.MailAuthOAuth2) && !(m.IMAP.Host != "" && m.IMAPAuth() == config.MailAuthOAuth2) {
		return nil
	}
	o := m.OAuth
	c := mailauth.Config{
		Provider: o.Provider, Grant: o.Grant, Mailbox: m.OAuthMailbox(), ServiceAccountKey: []byte(o.ServiceAccountKey.Value()),
		Tenant: o.Tenant, ClientID: o.ClientID, ClientSecret: o.ClientSecret.Value(), PrivateKeyPEM: []byte(o.PrivateKey.Value()),
		RefreshToken: o.RefreshToken.Value(), TokenURL: o.TokenURL, Scopes: o.Scopes, BasicAuth: o.ClientAuth == "basic",
	}
	if o.Certificate != "" {
		pemBytes, err := os.ReadFile(o.Certificate)
		if err != nil {
			return fmt.Errorf("mail.oauth.certificate: %w", err)
		}
		c.CertificatePEM = pemBytes
	}
	fetcher, err := mailauth.NewFetcher(c)
	if err != nil {
		return fmt.Errorf("mail.oauth: %w", err)
	}
	h.mailTokens = mailauth.NewTokens(fetcher, mailauth.TokensOptions{Logger: h.logger.With("component", "mailauth")})
	// The first token now, so that a refusal shows at start in the log and
	// on /readyz rather than at the first update.
	go func() {
		if _, err := h.mailTokens.Token(ctx); err != nil && ctx.Err() == nil {
			h.logger.Error("mail sign-in: no OAuth2 token; mail is down until this is fixed", "grant", h.mailTokens.Describe(), "err", err)
		}
	}()
	return nil
}

// ensureSandboxMailboxes gives every person of the directory, and the
// hub's own reply address, a sandbox mailbox.
func (h *Main) ensureSandboxMailboxes(sb *sandbox.Sandbox) error {
	for _, p := range h.directory.Current().People {
		if err := sb.EnsureMailbox(p.Email, p.Name); err != nil {
			return fmt.Errorf("mail sandbox: %w", err)
		}
	}
	if err := sb.EnsureMailbox(h.cfg.Mail.ReplyLocalPart+"@"+h.cfg.Mail.Domain, "sitrep inbox"); err != nil {
		return fmt.Errorf("mail sandbox: %w", err)
	}
	return nil
}

func (h *Main) buildOutbox(sender outbox.Sender) error {
	renderer, err := compose.New(h.cfg.Templates.Dir)
	if err != nil {
		return fmt.Errorf("templates: %w", err)
	}
	cfg := h.cfg
	h.outbox = &outbox.Outbox{
		DB: h.db, Jobs: h.inserter, Renderer: renderer, Directory: h.directory, Logger: h.logger,
		Domain: cfg.Mail.Domain, From: cfg.Mail.From, ReplyPart: cfg.Mail.ReplyLocalPart,
		Sender: sender, BatchSize: cfg.Mail.SMTP.BatchSize, Lease: cfg.Mail.SMTP.ClaimLease, MaxAttempts: cfg.Mail.SMTP.MaxAttempts,
	}
	h.comms = &incident.Comms{
		DB: h.db, Incidents: h.incidents, Directory: h.directory, Mail: h.outbox, Logger: h.logger,
		PublicURL: cfg.Server.PublicURL, Bridge: cfg.Bridge.Text(), Backup: cfg.Cadence.Backup, FallbackGroup: cfg.Escalation.FallbackGroup,
		Policy:         map[incident.Severity]incident.Policy{},
		ReminderBefore: cfg.Cadence.ReminderBefore, OverdueAfter: cfg.Cadence.OverdueAfter,
	}
	for _, sev := range incident.Severities {
		p := cfg.PolicyFor(string(sev))
		h.comms.Policy[sev] = incident.Policy{FirstUpdateWithin: p.FirstUpdateWithin, Every: p.Every, For: p.For, ThenEvery: p.ThenEvery, AnswerWithin: p.AnswerWithin}
	}
	h.questions = &reply.QuestionBook{DB: h.db}
	h.comms.Questions = h.questions
	sc := cfg.Subscriptions
	h.subscriptions = &subscription.Service{DB: h.db, Directory: h.directory, Incidents: h.incidents, Mail: h.outbox, Logger: h.logger,
		PublicURL: cfg.Server.PublicURL, AllowedDomains: sc.AllowedDomains, ConfirmFor: sc.ConfirmFor, ConfirmationsPerDay: sc.ConfirmationsPerDay}
	h.comms.Followers = h.subscriptions
	// With the public page on, the public promise is kept as the
	// stakeholders' is (reminders, overdue).
	h.comms.PublicPage = cfg.StatusPage.Public.Enabled
	if pub := cfg.StatusPage.Public; pub.Enabled && pub.Subscriptions {
		h.subscriptions.PublicOpen, h.subscriptions.PublicSiteURL = true, pub.URL
		h.comms.PublicFollowers = h.subscriptions
		h.comms.PublicSite = incident.PublicSite{Title: pub.Title, URL: pub.URL}
		for _, comp := range pub.Components {
			h.comms.PublicSite.Components = append(h.comms.PublicSite.Components, incident.PublicComponent{Name: comp.Name, Systems: comp.Systems})
		}
		h.subscriptions.PublicComponents = h.comms.PublicSite.Components
	}
	if err := h.comms.CheckConfig(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	h.incidents.OnDeclare = append(h.incidents.OnDeclare, h.comms)
	incident.RegisterMetrics(h.registry, h.db)
	h.outbox.Metrics = outbox.NewMetrics(h.registry, h.outbox)
	// The scorecard reads who was sent what from the outbox, and observes
	// its figures in histograms as they happen.
	h.comms.Messages = h.outbox
	h.incidents.Metrics = incident.NewCommsMetrics(h.registry)
	// A lead's mark observes the time to answer as an update that answers
	// the questions does: one histogram, one meaning of answered.
	h.questions.Metrics = h.incidents.Metrics
	return nil
}

// buildInbox wires what reads replies: the store the API reads, the act
// worker, and the ingester of the configured mailbox, or of the hub's own
// sandbox inbox when the sandbox runs and no IMAP host is configured.
func (h *Main) buildInbox(workers *river.Workers) {
	cfg := h.cfg.Mail
	h.inbox = &inbox.Store{DB: h.db}
	actor := &inbox.Actor{DB: h.db, Logger: h.logger.With("component", "inbox")}
	// One use case acts on every reply: a lead's "resolve" runs the
	// resolution flow, answers to "is it fixed for you?" are confirmations,
	// leads declare or dismiss monitoring drafts, and answers to
	// post-mortem invitations update the RSVPs.
	h.replies = &reply.Service{DB: h.db, Incidents: h.incidents, Comms: h.comms, Mail: h.outbox, Directory: h.directory,
		Inbox: actor, Triage: h.inbox, Resolution: h.resolution, Drafts: h.intake, Invitations: h.postmortem,
		Questions: reply.Questions{Jobs: h.inserter, Window: h.cfg.Cadence.QuestionWindow},
		Logger:    h.logger.With("component", "reply"), LocalPart: cfg.ReplyLocalPart, TrustedAuthServIDs: cfg.IMAP.TrustedAuthServIDs}
	h.replies.Subscriptions = h.subscriptions
	h.comms.QuestionLog = h.replies // the scorecard counts the questions and their answers
	actor.Handler = h.replies
	h.replies.Register(workers)
	l := cfg.IMAP.Limits
	actor.Limits = mailmsg.Limits{MaxDepth: l.MaxDepth, MaxNestingWork: l.MaxNestingWork, MaxParts: l.MaxParts,
		MaxHeaderFields: l.MaxHeaderFields, MaxHeaderBytes: l.MaxHeaderBytes, MaxDecodedBytes: l.MaxDecodedBytes}
	actor.MessageTimeout, actor.MaxAttempts = cfg.IMAP.ActTimeoutWithin(h.cfg.Jobs.RescueAfter), cfg.IMAP.ActAttempts
	actor.Metrics = inbox.NewMetrics(h.registry, h.db)
	actor.Register(workers)
	imapCfg := inbox.IMAPConfig{
		Addr: net.JoinHostPort(cfg.IMAP.Host, strconv.Itoa(cfg.IMAP.Port)), TLS: cfg.IMAP.TLS,
		Username: cfg.IMAP.Username, Password: cfg.IMAP.Password.Value(), Mailbox: cfg.IMAP.Mailbox, MoveTo: cfg.IMAP.MoveTo,
		MaxMessageBytes: cfg.IMAP.MaxMessageBytes, Horizon: cfg.IMAP.Horizon,
	}
	switch {
	case cfg.IMAP.Host != "":
		if h.mailTokens != nil && cfg.IMAPAuth() == config.MailAuthOAuth2 {
			imapCfg.OAuth, imapCfg.Password = h.mailTokens, ""
		}
	case h.sandbox != nil:
		imapCfg.Addr, imapCfg.TLS = h.sandbox.IMAPAddr(), "none"
		imapCfg.Username, imapCfg.Password = cfg.ReplyLocalPart+"@"+cfg.Domain, cfg.Sandbox.Password.Value()
	default:
		return // nothing to read
	}
	h.ingester = &inbox.Ingester{IMAP: imapCfg, DB: h.db, Jobs: h.inserter, Logger: h.logger.With("component", "ingest")}
	actor.Wake = h.ingester
}
