package main

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/riverqueue/river"

	exampleconfig "github.com/sitrep-dev/sitrep/config"
	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/blameless"
	"github.com/sitrep-dev/sitrep/internal/calendar"
	"github.com/sitrep-dev/sitrep/internal/calendar/caldav"
	"github.com/sitrep-dev/sitrep/internal/calendar/google"
	"github.com/sitrep-dev/sitrep/internal/changes"
	"github.com/sitrep-dev/sitrep/internal/chat"
	"github.com/sitrep-dev/sitrep/internal/config"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/inbox"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/intake"
	"github.com/sitrep-dev/sitrep/internal/jobs"
	"github.com/sitrep-dev/sitrep/internal/mailauth"
	"github.com/sitrep-dev/sitrep/internal/outbox"
	"github.com/sitrep-dev/sitrep/internal/postmortem"
	"github.com/sitrep-dev/sitrep/internal/reply"
	"github.com/sitrep-dev/sitrep/internal/resolution"
	"github.com/sitrep-dev/sitrep/internal/sandbox"
	"github.com/sitrep-dev/sitrep/internal/store"
	"github.com/sitrep-dev/sitrep/internal/web"
	"github.com/sitrep-dev/sitrep/internal/web/api"
	"github.com/sitrep-dev/sitrep/internal/web/ui"
)

var errUsage = errors.New("usage")

func loadConfig(e env, name string, args []string) (config.Config, *flag.FlagSet, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	path := fs.String("config", e.getenv("SITREP_CONFIG"), "configuration file (YAML); none = the embedded default")
	if err := fs.Parse(args); err != nil {
		return config.Config{}, fs, errUsage
	}
	cfg, err := config.Load(*path, e.environ)
	return cfg, fs, err
}

func newLogger(cfg config.Config, e env) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(e.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(e.stderr, opts))
}

func cmdMigrate(ctx context.Context, e env, args []string) error {
	cfg, _, err := loadConfig(e, "migrate", args)
	if err != nil {
		return err
	}
	start := time.Now()
	db, err := store.Open(ctx, cfg.DatabaseURL())
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "migrated %s database in %s\n", db.Dialect, time.Since(start).Round(time.Millisecond))
	return nil
}

func cmdServe(ctx context.Context, e env, args []string) error {
	cfg, _, err := loadConfig(e, "serve", args)
	if err != nil {
		return err
	}
	return serve(ctx, cfg, e)
}

// hub is everything serve wires together.
type hub struct {
	cfg        config.Config
	logger     *slog.Logger
	db         *store.DB
	directory  *directory.Store
	incidents  *incident.Service
	tokens     *auth.Tokens
	inserter   *river.Client[*sql.Tx]
	worker     *river.Client[*sql.Tx]
	registry   *prometheus.Registry
	web        *web.Server
	outbox     *outbox.Outbox
	comms      *incident.Comms
	resolution *resolution.Service
	changes    *changes.Service
	postmortem *postmortem.Service
	intake     *intake.Service
	chat       *chat.Mirror // nil: no chat mirror configured
	sandbox    *sandbox.Sandbox
	inbox      *inbox.Store
	replies    *reply.Service
	ingester   *inbox.Ingester  // nil when there is no mailbox to read
	mailTokens *mailauth.Tokens // nil unless mail signs in with OAuth2
	accounts   *auth.Accounts
	// firstAdmin and firstPassword: the web UI account made on first start, shown once.
	firstAdmin, firstPassword string
	// adminTokenFile and adminPasswordFile: where the first start kept them
	// (mode 0600); "" when there is no data directory or the write failed.
	adminTokenFile, adminPasswordFile string
}

// serve runs the hub until ctx ends.
func serve(ctx context.Context, cfg config.Config, e env) error { return serveWith(ctx, cfg, e, nil) }

// serveWith is serve with a hook: ready gets the HTTP address once the
// server listens (tests listen on port 0) and the wired hub.
func serveWith(ctx context.Context, cfg config.Config, e env, ready func(addr string, h *hub)) error {
	started := time.Now()
	logger := newLogger(cfg, e)
	h := &hub{cfg: cfg, logger: logger, registry: prometheus.NewRegistry()}
	h.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	db, err := store.Open(ctx, cfg.DatabaseURL())
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	h.db = db

	h.directory = &directory.Store{DB: db}
	if err := h.directory.Load(ctx); err != nil {
		return err
	}
	if _, err := h.syncDirectory(ctx); err != nil {
		// A bad groups.yaml at start: keep what the database has, if anything.
		if len(h.directory.Current().People) == 0 {
			return err
		}
		logger.Error("groups.yaml refused; the previous directory stays in force", "err", err)
	}

	if h.inserter, err = jobs.NewInserter(db); err != nil {
		return err
	}
	h.incidents = &incident.Service{DB: db, People: h.directory, DueSoon: cfg.Cadence.ReminderBefore, DefaultRoles: h.defaultRoles}
	h.tokens = &auth.Tokens{DB: db}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	sender, closeMail, err := h.startMail(runCtx)
	if err != nil {
		return err
	}
	defer closeMail()
	if err := h.buildOutbox(sender); err != nil {
		return err
	}
	if err := h.buildResolution(); err != nil {
		return err
	}
	if err := h.buildChanges(ctx); err != nil {
		return err
	}
	h.resolution.Changes = h.changes
	if err := h.buildPostmortem(ctx); err != nil {
		return err
	}

	workers := river.NewWorkers()
	h.outbox.Register(workers)
	h.postmortem.Register(workers)
	h.buildIntake(workers)
	h.buildInbox(workers)
	chatQueues := h.buildChat(workers)
	if h.worker, err = jobs.NewWorker(db, jobs.Config{Workers: workers, Logger: logger,
		PollInterval: cfg.Jobs.PollInterval, RescueAfter: cfg.Jobs.RescueAfter, Queues: chatQueues}); err != nil {
		return err
	}

	adminToken, err := h.ensureAdminToken(ctx)
	if err != nil {
		return err
	}
	h.accounts = &auth.Accounts{DB: db}
	if err := h.ensureAdminAccount(ctx); err != nil {
		return err
	}

	srv := &web.Server{Tokens: h.tokens, Sessions: &auth.Sessions{DB: db}, Logger: logger, Registry: h.registry,
		MaxBodyBytes: cfg.Server.MaxBodyBytes, Storage: db, PublicURL: cfg.Server.PublicURL, TrustedProxies: cfg.Server.TrustedProxyPrefixes()}
	jsonAPI := &api.Server{Server: srv, Incidents: h.incidents, Directory: h.directory, Outbox: h.outbox, Comms: h.comms, Resolution: h.resolution,
		Changes: h.changes, Postmortem: h.postmortem, Inbox: h.inbox, Replies: h.replies, Intake: h.intake, SyncDirectory: h.syncDirectory}
	pages := &ui.Server{Server: srv, Incidents: h.incidents, Directory: h.directory, Outbox: h.outbox, Comms: h.comms, Resolution: h.resolution,
		Changes: h.changes, Postmortem: h.postmortem, Inbox: h.inbox, Replies: h.replies, Intake: h.intake,
		Accounts: h.accounts, Sandbox: h.sandbox, SSO: singleSignOn(cfg), Doctor: h.doctorFor()}
	if h.mailTokens != nil {
		srv.MailHealth = h.mailTokens
	}
	if pages.SSO != nil {
		logger.Info("single sign-on configured; the provider is contacted at the first sign-in", "issuer", cfg.Auth.OIDC.Issuer, "redirect_url", pages.SSO.OIDC.RedirectURL)
	}
	h.web = srv
	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("serve: listen on %s: %w", cfg.Server.Listen, err)
	}
	httpServer := &http.Server{Handler: srv.Handler(jsonAPI, pages), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}

	if err := h.worker.Start(runCtx); err != nil {
		return fmt.Errorf("serve: start jobs: %w", err)
	}
	go h.reloadOnSIGHUP(runCtx)
	go h.runChecks(runCtx, cfg.Jobs.CheckInterval)
	h.startChat(runCtx)
	if h.ingester != nil {
		go h.ingester.Run(runCtx)
	}

	errc := make(chan error, 1)
	go func() { errc <- httpServer.Serve(ln) }()

	url := "http://" + ln.Addr().String()
	if cfg.Server.PublicURL != "" {
		url = cfg.Server.PublicURL
	}
	h.printBanner(e, url, adminToken, time.Since(started))
	logger.Info("sitrep started", "version", version, "url", url, "database", db.Dialect, "startup", time.Since(started).Round(time.Millisecond))
	if ready != nil {
		ready(ln.Addr().String(), h)
	}

	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve: http: %w", err)
		}
	}
	logger.Info("shutting down")
	shutdownCtx, stop := context.WithTimeout(context.Background(), 15*time.Second)
	defer stop()
	_ = httpServer.Shutdown(shutdownCtx)
	_ = h.worker.Stop(shutdownCtx)
	return nil
}

// singleSignOn is the web UI's single sign-on of auth.oidc; nil when it is off.
func singleSignOn(cfg config.Config) *ui.SSO {
	o := cfg.Auth.OIDC
	if !o.Enabled() {
		return nil
	}
	sso := &ui.SSO{Label: o.ButtonLabel, OIDC: &auth.OIDC{Issuer: o.Issuer, ClientID: o.ClientID, ClientSecret: o.ClientSecret.Value(),
		RedirectURL: cfg.OIDCRedirectURL(), Scopes: o.Scopes, HostedDomain: o.HostedDomain, AllowedDomains: o.AllowedDomains}}
	if o.CreateAccounts {
		sso.NewAccountRole = auth.Role(o.NewAccountRole)
	}
	return sso
}

// syncDirectory loads groups.yaml, or the example organisation when none
// is configured.
func (h *hub) syncDirectory(ctx context.Context) (*directory.SyncResult, error) {
	data, name := exampleconfig.ExampleGroups, "example groups.yaml (built in)"
	if h.cfg.Directory.File != "" {
		b, err := os.ReadFile(h.cfg.Directory.File)
		if err != nil {
			return nil, fmt.Errorf("directory: %w", err)
		}
		data, name = b, h.cfg.Directory.File
	}
	res, err := h.directory.SyncFile(ctx, data, name)
	if err != nil {
		return nil, err
	}
	h.logger.Info("directory synced", "file", name, "people", res.People, "groups", res.Groups, "escalations", res.Escalations)
	return res, nil
}

func (h *hub) reloadOnSIGHUP(ctx context.Context) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			if _, err := h.syncDirectory(ctx); err != nil {
				h.logger.Error("groups.yaml refused on SIGHUP; the previous directory stays in force", "err", err)
			}
		}
	}
}

// ensureAdminToken makes the first admin token on first start. It is
// printed once, and kept in the data directory (mode 0600) so that the CLI
// on the same machine finds it; the database only has its hash.
func (h *hub) ensureAdminToken(ctx context.Context) (string, error) {
	if v := h.cfg.Server.AdminToken.Value(); v != "" {
		return "", h.tokens.Import(ctx, "admin (from config)", v, auth.Admin)
	}
	n, err := h.tokens.Count(ctx)
	if err != nil {
		return "", fmt.Errorf("serve: tokens: %w", err)
	}
	if n > 0 {
		return "", nil
	}
	plain, _, err := h.tokens.Create(ctx, "first admin", auth.Admin)
	if err != nil {
		return "", err
	}
	h.adminTokenFile = h.keepSecret("admin-token", plain+"\n")
	return plain, nil
}

// ensureAdminAccount makes the first web UI account, an admin, on first
// start: admin@<mail domain> with a generated password, printed once and
// kept in the data directory (mode 0600) like the admin token.
func (h *hub) ensureAdminAccount(ctx context.Context) error {
	n, err := h.accounts.Count(ctx)
	if err != nil || n > 0 {
		return err
	}
	pw, err := auth.NewPassword()
	if err != nil {
		return err
	}
	acc, err := h.accounts.Create(ctx, "admin@"+h.cfg.Mail.Domain, "First admin", auth.Admin, pw)
	if err != nil {
		return fmt.Errorf("serve: first admin account: %w", err)
	}
	h.firstAdmin, h.firstPassword = acc.Email, pw
	h.adminPasswordFile = h.keepSecret("admin-password", acc.Email+"\n"+pw+"\n")
	return nil
}

// keepSecret writes a first-start secret to the data directory, readable
// by sitrep's user only, and returns the file's path, or "" when there is
// no data directory or the write failed (the banner then has to show it).
func (h *hub) keepSecret(name, content string) string {
	if h.cfg.DataDir == "" {
		return ""
	}
	path := filepath.Join(h.cfg.DataDir, name)
	if err := os.MkdirAll(h.cfg.DataDir, 0o750); err != nil {
		h.logger.Warn("first start: cannot keep "+name, "path", path, "err", err)
		return ""
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		h.logger.Warn("first start: cannot keep "+name, "path", path, "err", err)
		return ""
	}
	return path
}

func (h *hub) printBanner(e env, url, adminToken string, startup time.Duration) {
	var b strings.Builder
	fmt.Fprintf(&b, "\nsitrep %s is running at %s (started in %s, %s database)\n", version, url, startup.Round(time.Millisecond), h.db.Dialect)
	if h.sandbox != nil {
		fmt.Fprintf(&b, "  mail sandbox: SMTP %s, IMAP %s (every person of the directory has a mailbox; password %q)\n",
			h.sandbox.SMTPAddr(), h.sandbox.IMAPAddr(), h.cfg.Mail.Sandbox.Password.Value())
	} else {
		fmt.Fprintf(&b, "  mail: SMTP %s:%d\n", h.cfg.Mail.SMTP.Host, h.cfg.Mail.SMTP.Port)
	}
	if d := h.directory.Current(); d.Example {
		fmt.Fprintf(&b, "  directory: the EXAMPLE organisation %q (%d people); set directory.file to your groups.yaml\n", d.Organization, len(d.People))
	}
	// Under Docker or systemd stdout is the log stream, kept and shipped
	// far from the data directory: secrets are shown only on a terminal,
	// or when no file holds them (else nobody could sign in at all).
	if adminToken != "" {
		switch {
		case e.terminal || h.adminTokenFile == "":
			fmt.Fprintf(&b, "\n  First start: an admin API token was created. It is shown once:\n\n      %s\n\n", adminToken)
			if h.adminTokenFile != "" {
				fmt.Fprintf(&b, "  It is also in %s (mode 0600), where the sitrep CLI on this machine finds it.\n", h.adminTokenFile)
			} else if !e.terminal {
				fmt.Fprintf(&b, "  It could not be kept in a file, so it is shown here, which may be a log: replace it (server.admin_token) soon.\n")
			}
		default:
			fmt.Fprintf(&b, "\n  First start: an admin API token was created and kept in %s (mode 0600),\n  where the sitrep CLI on this machine finds it. It is not printed: this output is not a terminal, and may be a log.\n", h.adminTokenFile)
		}
		fmt.Fprintf(&b, "  Try:  sitrep declare --title \"Checkout down\" --severity SEV1\n")
	}
	if h.firstAdmin != "" {
		switch {
		case e.terminal || h.adminPasswordFile == "":
			fmt.Fprintf(&b, "\n  First start: sign in to the web UI at %s as\n\n      email:    %s\n      password: %s\n\n", url, h.firstAdmin, h.firstPassword)
			if h.adminPasswordFile != "" {
				fmt.Fprintf(&b, "  (also in %s, mode 0600; change it on the accounts page)\n", h.adminPasswordFile)
			} else if !e.terminal {
				fmt.Fprintf(&b, "  It could not be kept in a file, so it is shown here, which may be a log: change it on the accounts page once signed in.\n")
			}
		default:
			fmt.Fprintf(&b, "\n  First start: sign in to the web UI at %s as %s;\n  the password is in %s (mode 0600). It is not printed: this output is not a terminal, and may be a log.\n", url, h.firstAdmin, h.adminPasswordFile)
		}
	}
	fmt.Fprintln(e.stdout, b.String())
}

func (h *hub) buildResolution() error {
	rules, err := blameless.LoadRules(nonEmpty(h.cfg.Resolution.LintDir)...)
	if err != nil {
		return fmt.Errorf("resolution.lint_dir: %w", err)
	}
	h.resolution = &resolution.Service{DB: h.db, Incidents: h.incidents, Mail: h.outbox, Comms: h.comms, Directory: h.directory, Rules: rules,
		WriteUpAfter: h.cfg.Resolution.WriteUpAfter, Confirmers: h.cfg.Resolution.Confirmers}
	return nil
}

// buildChanges wires the change log: the webhook secret, the look-back
// window and the maintenance calendars, with the directory's escalation
// systems as the systems a maintenance event may name.
func (h *hub) buildChanges(ctx context.Context) error {
	cfg := h.cfg.Changes
	h.changes = &changes.Service{DB: h.db, Incidents: h.incidents, WebhookSecret: cfg.WebhookSecret.Value(), Window: cfg.Window, Logger: h.logger,
		KnownSystems: func() []string {
			var out []string
			for _, e := range h.directory.Current().Escalations {
				out = append(out, e.System)
			}
			return out
		}}
	if cfg.MaintenanceICS != "" {
		h.changes.Calendars = append(h.changes.Calendars, &changes.ICS{Location: cfg.MaintenanceICS})
	}
	if d := cfg.MaintenanceCalDAV; d.URL != "" {
		cal, err := changes.NewCalDAV(d.URL, d.Username, d.Password.Value(), d.CalendarPath)
		if err != nil {
			return fmt.Errorf("changes.maintenance_caldav: %w", err)
		}
		h.changes.Calendars = append(h.changes.Calendars, cal)
	}
	if g := cfg.MaintenanceGoogle; g.CalendarID != "" {
		pm := h.cfg.Postmortem.Google
		opt, err := google.ServiceAccount(cmp.Or(g.CredentialsFile, pm.CredentialsFile), cmp.Or(g.Subject, pm.Organizer), changes.GoogleReadScope)
		if err != nil {
			return fmt.Errorf("changes.maintenance_google: %w", err)
		}
		cal, err := changes.NewGoogle(ctx, g.CalendarID, opt)
		if err != nil {
			return fmt.Errorf("changes.maintenance_google: %w", err)
		}
		h.changes.Calendars = append(h.changes.Calendars, cal)
	}
	return nil
}

func nonEmpty(s ...string) []string {
	var out []string
	for _, v := range s {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// runChecks keeps every promise and sweeps due deliveries every interval.
// Every replica runs it: each check is safe side by side (a reminder stage
// is won once; a swept message is claimed recipient by recipient), and
// unlike a leader-only periodic job it resumes the moment a restarted
// replica is up, not when a dead leader's term runs out.
func (h *hub) runChecks(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		checks := map[string]func(context.Context) error{
			"delivery sweep":        h.outbox.Sweep,
			"update promises":       func(ctx context.Context) error { _, err := h.comms.CheckPromises(ctx); return err },
			"write-up promises":     h.resolution.CheckPromises,
			"post-mortem timelines": h.postmortem.CheckTimelines,
			"improvement reminders": h.postmortem.CheckImprovements,
		}
		for name, check := range checks {
			if err := check(ctx); err != nil && ctx.Err() == nil {
				h.logger.Error(name+" failed", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// buildPostmortem wires the post-mortem: the calendar backend of
// postmortem.backend (iMIP through the outbox by default), the rooms from
// the config or Google's Directory, and the blameless lint's rules.
func (h *hub) buildPostmortem(ctx context.Context) error {
	c := h.cfg.Postmortem
	s := &postmortem.Service{DB: h.db, Incidents: h.incidents, Mail: h.outbox, Comms: h.comms, Directory: h.directory, Jobs: h.inserter,
		Rules: h.resolution.Rules, BackendName: c.Backend, Logger: h.logger.With("component", "postmortem"),
		Settings: postmortem.Settings{OptionalGroups: c.OptionalGroups, Facilitator: c.Facilitator, Duration: c.Duration,
			MinBusinessDays: c.MinBusinessDays, MaxBusinessDays: c.MaxBusinessDays, WorkStart: c.WorkStart, WorkEnd: c.WorkEnd,
			Holidays: c.Holidays, Building: c.Building, Remote: c.Remote, VideoLink: cmp.Or(c.VideoLink, h.cfg.Bridge.VideoURL), CreateMeet: c.Google.CreateMeet,
			TimelineBefore: c.TimelineBefore, RemindBefore: c.RemindBefore, WebhookURL: c.WebhookURL, WebhookSecret: c.WebhookSecret.Value()}}
	if len(c.Groups) > 0 {
		s.Settings.Groups = c.Groups // else the directory's postmortem audience
	}
	var rooms []calendar.Room
	for _, r := range c.Rooms {
		rooms = append(rooms, calendar.Room{Email: r.Email, Name: r.Name, Building: r.Building, Floor: r.Floor, Capacity: r.Capacity, Features: r.Features})
	}
	s.Rooms = func(context.Context) ([]calendar.Room, error) { return rooms, nil }
	switch c.Backend {
	case "caldav":
		dav, err := caldav.New(c.CalDAV.URL, c.CalDAV.Username, c.CalDAV.Password.Value(), c.CalDAV.Calendar)
		if err != nil {
			return fmt.Errorf("postmortem.caldav: %w", err)
		}
		if err := dav.EnsureCalendar(ctx, "Post-mortems"); err != nil {
			// The server may be back by the first booking; the job retries then.
			h.logger.Warn("postmortem: CalDAV calendar not reachable at start", "err", err)
		}
		s.Backend, s.Invites = dav, s.IMIP()
	case "google":
		opt, err := google.ServiceAccount(c.Google.CredentialsFile, c.Google.Organizer, google.CalendarScope)
		if err != nil {
			return fmt.Errorf("postmortem.google: %w", err)
		}
		g, err := google.New(ctx, opt)
		if err != nil {
			return fmt.Errorf("postmortem.google: %w", err)
		}
		g.CalendarID = c.Google.CalendarID
		s.Backend = g
		if c.Google.RoomsAdmin != "" {
			ropt, err := google.ServiceAccount(c.Google.CredentialsFile, c.Google.RoomsAdmin, google.RoomsScope)
			if err != nil {
				return fmt.Errorf("postmortem.google.rooms_admin: %w", err)
			}
			gr, err := google.NewRooms(ctx, ropt)
			if err != nil {
				return fmt.Errorf("postmortem.google.rooms_admin: %w", err)
			}
			s.Rooms = gr.Rooms
		}
	default:
		s.Backend = s.IMIP()
	}
	h.postmortem = s
	return nil
}

// defaultRoles makes sure every incident has a comms lead, whom the
// reminders go to: the declarer when they are a comms lead, else the first
// comms lead of the directory.
func (h *hub) defaultRoles(actor string, r incident.Roles) incident.Roles {
	if r.CommsLead != "" {
		return r
	}
	d := h.directory.Current()
	if p, ok := d.Person(actor); ok && p.HasRole(directory.RoleCommsLead) {
		r.CommsLead = p.Email
		return r
	}
	if leads := d.PeopleWithRole(directory.RoleCommsLead); len(leads) > 0 {
		r.CommsLead = leads[0].Email
	}
	return r
}
