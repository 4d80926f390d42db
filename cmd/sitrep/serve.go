package main

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/riverqueue/river"

	exampleconfig "github.com/sitrep-dev/sitrep/config"
	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/backlog"
	"github.com/sitrep-dev/sitrep/internal/blameless"
	"github.com/sitrep-dev/sitrep/internal/calendar"
	"github.com/sitrep-dev/sitrep/internal/calendar/caldav"
	"github.com/sitrep-dev/sitrep/internal/calendar/google"
	"github.com/sitrep-dev/sitrep/internal/calendar/microsoft365"
	"github.com/sitrep-dev/sitrep/internal/changes"
	"github.com/sitrep-dev/sitrep/internal/chat"
	"github.com/sitrep-dev/sitrep/internal/config"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/inbox"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/intake"
	"github.com/sitrep-dev/sitrep/internal/jobs"
	"github.com/sitrep-dev/sitrep/internal/mailauth"
	"github.com/sitrep-dev/sitrep/internal/maintenance"
	"github.com/sitrep-dev/sitrep/internal/outbox"
	"github.com/sitrep-dev/sitrep/internal/postmortem"
	"github.com/sitrep-dev/sitrep/internal/reply"
	"github.com/sitrep-dev/sitrep/internal/resolution"
	"github.com/sitrep-dev/sitrep/internal/sandbox"
	"github.com/sitrep-dev/sitrep/internal/store"
	"github.com/sitrep-dev/sitrep/internal/subscription"
	"github.com/sitrep-dev/sitrep/internal/web"
	"github.com/sitrep-dev/sitrep/internal/web/api"
	"github.com/sitrep-dev/sitrep/internal/web/links"
	"github.com/sitrep-dev/sitrep/internal/web/statuspage"
	"github.com/sitrep-dev/sitrep/internal/web/ui"
)

var errUsage = errors.New("usage")

// loadConfig reads the configuration a server command's --config names.
func loadConfig(e env, name string, args []string) (config.Config, error) {
	fs := newFlagSet(e, name, name+" [--config FILE]")
	path := configFlag(fs, e)
	pos, err := parse(fs, args)
	if err != nil {
		return config.Config{}, err
	}
	if len(pos) > 0 {
		fs.Usage()
		return config.Config{}, &usageError{fmt.Errorf("%s takes no arguments, got %q", name, pos[0])}
	}
	return config.Load(*path, e.environ)
}

// configFlag is the --config flag of the server commands.
func configFlag(fs *flag.FlagSet, e env) *string {
	return fs.String("config", e.getenv("SITREP_CONFIG"), "configuration file (YAML); none = the embedded default")
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
	cfg, err := loadConfig(e, "migrate", args)
	if err != nil {
		return err
	}
	start := time.Now()
	db, err := store.Open(ctx, cfg.DatabaseURL())
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.MigrateLogged(ctx, newLogger(cfg, e)); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "migrated %s database in %s\n", db.Dialect, time.Since(start).Round(time.Millisecond))
	return nil
}

// cmdServe runs the hub until SIGINT or SIGTERM ends ctx, then stops it.
func cmdServe(ctx context.Context, e env, args []string) error {
	cfg, err := loadConfig(e, "serve", args)
	if err != nil {
		return err
	}
	h := NewMain(cfg, e)
	if err := h.Run(ctx); err != nil {
		_ = h.Close() // what Run had started; Run's error is the news
		return err
	}
	select {
	case <-ctx.Done():
	case err = <-h.serveErr:
		err = fmt.Errorf("serve: http: %w", err)
	}
	return errors.Join(err, h.Close())
}

// Main is the hub: every part of sitrep, wired here and nowhere else
// (benbjohnson/wtf's cmd/wtfd). NewMain takes the configuration, Run builds
// and starts the parts, Close stops them; `sitrep serve` and the tests
// start it the same way.
type Main struct {
	cfg        config.Config
	env        env
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
	maint      *maintenance.Service
	chat       *chat.Mirror     // nil: no chat mirror configured
	backlog    *backlog.Service // nil: no backlog tracker configured
	sandbox    *sandbox.Sandbox
	inbox      *inbox.Store
	replies    *reply.Service
	questions  *reply.QuestionBook
	ingester   *inbox.Ingester  // nil when there is no mailbox to read
	mailTokens *mailauth.Tokens // nil unless mail signs in with OAuth2
	accounts   *auth.Accounts
	// firstAdmin and firstPassword: the web UI account made on first start, shown once.
	firstAdmin, firstPassword string
	// adminTokenFile and adminPasswordFile: where the first start kept them
	// (mode 0600); "" when there is no data directory or the write failed.
	adminTokenFile, adminPasswordFile string
	// intakeSecret and intakeSecretFile: the generic webhook's secret the
	// embedded default generated, so that an alert can be tried at once
	// (cmdAlert); intakeSecretNew: made by this start, so shown once.
	intakeSecret, intakeSecretFile string
	intakeSecretNew                bool

	// statusFollow, when set, is what the status page follows through
	// instead of subscriptions (a test's); both nil: no following there.
	statusFollow ui.Subscriptions

	// What Close stops, in its order.
	listener   net.Listener
	httpServer *http.Server
	serveErr   chan error // why the HTTP server stopped before Close; nil until it serves
	jobsRun    bool       // the worker has started
	jobs       background // the worker's context: cancelling it stops the worker
	loops      background // the periodic checks and the SIGHUP reload
	ingest     background // the mailbox reader
	chatRun    background // the chat mirror's sweep and its IRC connection
	mailRun    background // the sandbox and the OAuth2 token's first fetch
	closeMail  func()     // closes the SMTP pool and the sandbox; nil until they run

	// publicListener and publicServer serve the public status page
	// (status_page.public) on its own address; nil when it is off. Close
	// stops it with the web UI's server.
	publicListener net.Listener
	publicServer   *http.Server

	// ctx lasts until Close: the clients that keep a context (Google's) get it.
	ctx    context.Context
	cancel context.CancelFunc
	closed bool

	// subscriptions: people following incidents themselves.
	subscriptions *subscription.Service
}

// NewMain is the hub for cfg, writing its banner and logs to e; Run starts it.
func NewMain(cfg config.Config, e env) *Main {
	h := &Main{cfg: cfg, env: e, logger: newLogger(cfg, e), registry: prometheus.NewRegistry()}
	h.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	h.ctx, h.cancel = context.WithCancel(context.Background())
	for _, b := range []*background{&h.jobs, &h.loops, &h.ingest, &h.chatRun, &h.mailRun} {
		b.ctx, b.cancel = context.WithCancel(h.ctx)
	}
	return h
}

// Addr is the address the HTTP server listens on, once Run has returned:
// the port is the system's choice when the configuration says port 0.
func (h *Main) Addr() string { return h.listener.Addr().String() }

// Run migrates the database, builds every part and starts the hub, and
// returns once the HTTP server listens. ctx bounds the start only; the hub
// runs until Close, which is also what undoes a Run that failed half-way.
func (h *Main) Run(ctx context.Context) error {
	started := time.Now()
	cfg, logger := h.cfg, h.logger

	db, err := store.Open(ctx, cfg.DatabaseURL())
	if err != nil {
		return err
	}
	h.db = db
	if err := db.MigrateLogged(ctx, logger); err != nil {
		return err
	}

	h.directory = &directory.Store{DB: db}
	if _, err := h.syncDirectory(ctx); err != nil {
		// A bad groups.yaml at start: keep what the database has, if
		// anything. (Read only then: a sync puts in force the directory
		// it wrote, without reading it back.)
		if lerr := h.directory.Load(ctx); lerr != nil {
			return lerr
		}
		if len(h.directory.Current().People) == 0 {
			return err
		}
		logger.Error("groups.yaml refused; the previous directory stays in force", "err", err)
	}

	if h.inserter, err = jobs.NewInserter(db); err != nil {
		return err
	}
	h.incidents = &incident.Service{DB: db, People: h.directory, DueSoon: cfg.Cadence.ReminderBefore, CommsLeads: h.directory, KnownSystems: h.directory}
	h.tokens = &auth.Tokens{DB: db}

	sender, closeMail, err := h.startMail(h.mailRun.ctx)
	if err != nil {
		return err
	}
	h.closeMail = closeMail
	if err := h.buildOutbox(sender); err != nil {
		return err
	}
	if err := h.buildResolution(); err != nil {
		return err
	}
	if err := h.buildChanges(h.ctx); err != nil {
		return err
	}
	h.resolution.Changes = h.changes
	h.buildMaintenance()
	if err := h.buildPostmortem(ctx, h.ctx); err != nil {
		return err
	}

	workers := river.NewWorkers()
	h.outbox.Register(workers)
	h.postmortem.Register(workers)
	h.buildIntake(workers)
	h.buildInbox(workers)
	// Chat targets and the backlog tracker have queues of their own: one
	// that is down or slow never takes a worker an email needs.
	queues := map[string]river.QueueConfig{}
	maps.Copy(queues, h.buildChat(workers))
	maps.Copy(queues, h.buildBacklog(workers))
	if h.worker, err = jobs.NewWorker(db, jobs.Config{Workers: workers, Logger: logger,
		PollInterval: cfg.Jobs.PollInterval, RescueAfter: cfg.Jobs.RescueAfter, Queues: queues}); err != nil {
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
		Changes: h.changes, Postmortem: h.postmortem, Inbox: h.inbox, Replies: h.replies, Intake: h.intake, Maintenance: h.maint, Groups: fittingGroups{h.groupsFile(), logger}, Backlog: h.backlog,
		Questions: h.questions}
	pages := &ui.Server{Server: srv, Incidents: h.incidents, Directory: h.directory, Outbox: h.outbox, Comms: h.comms, Resolution: h.resolution,
		Changes: h.changes, Maintenance: h.maint, Postmortem: h.postmortem, Inbox: h.inbox, Replies: h.replies, Intake: h.intake,
		Accounts: h.accounts, Sandbox: h.sandbox, SSO: singleSignOn(cfg), Doctor: h.doctorFor(), StatusOpenTo: cfg.StatusPage.OpenToPrefixes(),
		Questions: h.questions}
	switch {
	case h.statusFollow != nil:
		pages.Subscriptions = h.statusFollow
	case h.subscriptions != nil: // a nil *Service in the interface would offer buttons that fail
		pages.Subscriptions = h.subscriptions
	}
	if h.mailTokens != nil {
		srv.MailHealth = h.mailTokens
	}
	if pages.SSO != nil {
		logger.Info("single sign-on configured; the provider is contacted at the first sign-in", "issuer", cfg.Auth.OIDC.Issuer, "redirect_url", pages.SSO.OIDC.RedirectURL)
	}
	h.web = srv
	if h.listener, err = net.Listen("tcp", cfg.Server.Listen); err != nil {
		return fmt.Errorf("serve: listen on %s: %w", cfg.Server.Listen, err)
	}
	if cfg.Server.PublicURL == "" && h.subscriptions != nil {
		// A follower's unsubscribe link must be absolute (RFC 2369, and a
		// mail client cannot follow "/unsubscribe/..."): without
		// server.public_url, the address the hub listens on, as the
		// banner prints it.
		h.subscriptions.PublicURL = "http://" + h.Addr()
	}
	jsonAPI.Subscriptions = h.subscriptions
	emailLinks := &links.Server{Server: srv, Subscriptions: h.subscriptions}
	h.httpServer = &http.Server{Handler: srv.Handler(jsonAPI, pages, emailLinks), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	if err := h.listenPublicStatus(); err != nil {
		return err
	}

	if err := h.worker.Start(h.jobs.ctx); err != nil {
		return fmt.Errorf("serve: start jobs: %w", err)
	}
	h.jobsRun = true
	// Listened for now, before the hub says it is ready, not when the
	// loop's goroutine first runs: a SIGHUP in between ends the process
	// (Go's default for it). A sitrep-load run that sends SIGHUP right
	// after /readyz once waited a minute for a reload that never came.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	h.loops.Go(func(ctx context.Context) { h.reloadOnSIGHUP(ctx, hup) })
	h.loops.Go(func(ctx context.Context) { h.runChecks(ctx, cfg.Jobs.CheckInterval) })
	h.loops.Go(func(ctx context.Context) { h.readAnswers(ctx, cfg.Jobs.CheckInterval) })
	h.loops.Go(func(ctx context.Context) { h.tellMaintenance(ctx, max(cfg.Jobs.CheckInterval, time.Minute)) })
	if h.subscriptions != nil {
		h.loops.Go(func(ctx context.Context) {
			h.sweepSubscriptions(ctx, max(cfg.Jobs.CheckInterval, subscriptionSweepEvery))
		})
	}
	if h.backlog != nil {
		h.loops.Go(func(ctx context.Context) { h.pollBacklog(ctx, cfg.Backlog.PollEvery) })
	}
	h.startChat()
	if h.ingester != nil {
		h.ingest.Go(func(ctx context.Context) { _ = h.ingester.Run(ctx) }) // it logs its failures and returns when stopped
	}

	// The start's one-off work is garbage now: the migrations (~60 MB
	// of it), the first admin's password hash (argon2id, 64 MB, on a
	// fresh database) and the directory's parse. Collected and given back
	// here, its pages are not resident when the first update's fan-out
	// comes, and the memory limit fits the directory loaded
	// (docs/benchmarks.md, issue 22).
	fitMemory(logger)

	h.serveErr = make(chan error, 1)
	go func() { h.serveErr <- h.httpServer.Serve(h.listener) }()
	if h.publicServer != nil {
		go func() {
			if err := h.publicServer.Serve(h.publicListener); err != nil && !errors.Is(err, http.ErrServerClosed) {
				select { // the hub stops, as when the web UI's server fails
				case h.serveErr <- fmt.Errorf("public status page: %w", err):
				default:
				}
			}
		}()
	}

	url := "http://" + h.Addr()
	if cfg.Server.PublicURL != "" {
		url = cfg.Server.PublicURL
	}
	h.printBanner(h.env, url, adminToken, time.Since(started))
	logger.Info("sitrep started", "version", version, "url", url, "database", db.Dialect, "startup", time.Since(started).Round(time.Millisecond))
	return nil
}

// Close stops the hub, each part after what uses it: the HTTP server
// (requests in flight finish), the job workers and periodic checks, the
// mailbox reader, the chat mirror, mail (the SMTP pool and the sandbox),
// and the database. Jobs still running are cancelled, as on a crash; River
// runs them again. Close undoes a Run that failed half-way too.
func (h *Main) Close() error {
	if h.closed {
		return nil
	}
	h.closed = true
	ctx, stop := context.WithTimeout(context.Background(), 15*time.Second)
	defer stop()
	var problems []error
	check := func(what string, err error) {
		if err != nil {
			problems = append(problems, fmt.Errorf("serve: stop %s: %w", what, err))
		}
	}
	if h.serveErr != nil {
		h.logger.Info("shutting down")
		check("http", h.httpServer.Shutdown(ctx))
		if h.publicServer != nil {
			check("public status page", h.publicServer.Shutdown(ctx))
		}
	} else {
		if h.listener != nil {
			check("http", h.listener.Close())
		}
		if h.publicListener != nil {
			check("public status page", h.publicListener.Close())
		}
	}
	if h.jobsRun {
		// Cancelling the worker's context is River's hard stop, as before.
		h.jobs.cancel()
		select {
		case <-h.worker.Stopped():
		case <-ctx.Done():
			check("jobs", ctx.Err())
		}
	}
	check("periodic checks", h.loops.stop(ctx))
	check("mailbox reader", h.ingest.stop(ctx))
	check("chat mirror", h.chatRun.stop(ctx))
	check("mail", h.mailRun.stop(ctx))
	if h.closeMail != nil {
		h.closeMail()
	}
	if h.db != nil {
		check("database", h.db.Close())
	}
	h.cancel()
	return errors.Join(problems...)
}

// background is goroutines that stop together: Close cancels their
// context and waits for them to return.
type background struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Go runs f on the group's context.
func (b *background) Go(f func(ctx context.Context)) { b.wg.Go(func() { f(b.ctx) }) }

// stop cancels the group and waits for it until ctx ends.
func (b *background) stop(ctx context.Context) error {
	b.cancel()
	done := make(chan struct{})
	go func() { b.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// publicStatus is the public status page of status_page.public; nil when
// it is off. A component naming a system that no escalation list has is
// logged: it would never be marked.
func (h *Main) publicStatus() *statuspage.PublicSite {
	c := h.cfg.StatusPage.Public
	if !c.Enabled {
		return nil
	}
	known := map[string]bool{}
	for _, s := range h.directory.Systems() {
		known[strings.ToLower(s)] = true
	}
	site := &statuspage.PublicSite{Reader: &statuspage.Reader{Incidents: h.incidents}, Title: c.Title, URL: c.URL,
		Logger: h.logger.With("component", "public status page"), TrustedProxies: h.cfg.Server.TrustedProxyPrefixes()}
	if c.Subscriptions && h.subscriptions != nil {
		site.Subscriptions = h.subscriptions
	}
	for _, comp := range c.Components {
		site.Components = append(site.Components, statuspage.Component{Name: comp.Name, Systems: comp.Systems})
		for _, s := range comp.Systems {
			if !known[strings.ToLower(s)] {
				h.logger.Warn("status_page.public.components: a system no escalation list has; the component is never marked by it",
					"component", comp.Name, "system", s)
			}
		}
	}
	return site
}

// listenPublicStatus opens the public status page's own listener, when it
// is on and has one (status_page.public.listen; empty: export only).
func (h *Main) listenPublicStatus() error {
	site := h.publicStatus()
	if site == nil || h.cfg.StatusPage.Public.Listen == "" {
		return nil
	}
	handler, err := site.Handler()
	if err != nil {
		return err
	}
	addr := h.cfg.StatusPage.Public.Listen
	if h.publicListener, err = net.Listen("tcp", addr); err != nil {
		return fmt.Errorf("serve: listen on %s (status_page.public.listen): %w", addr, err)
	}
	h.publicServer = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(h.logger.Handler(), slog.LevelWarn)}
	h.logger.Info("public status page", "listen", h.publicListener.Addr().String(), "url", h.cfg.StatusPage.Public.URL)
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
func (h *Main) syncDirectory(ctx context.Context) (*directory.SyncResult, error) {
	return h.groupsFile().Sync(ctx)
}

func (h *Main) groupsFile() *directory.FileSync {
	return &directory.FileSync{Store: h.directory, File: h.cfg.Directory.File, Example: exampleconfig.ExampleGroups, Logger: h.logger}
}

func (h *Main) reloadOnSIGHUP(ctx context.Context, hup chan os.Signal) {
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			liftMemoryLimit()
			if _, err := h.syncDirectory(ctx); err != nil {
				h.logger.Error("groups.yaml refused on SIGHUP; the previous directory stays in force", "err", err)
			}
			// A reload held the previous directory and the new one at
			// once: give those pages back now rather than keeping them
			// resident for minutes, and fit the limit to the new one.
			fitMemory(h.logger)
		}
	}
}

// ensureAdminToken makes the first admin token on first start. It is
// printed once, and kept in the data directory (mode 0600) so that the CLI
// on the same machine finds it; the database only has its hash.
func (h *Main) ensureAdminToken(ctx context.Context) (string, error) {
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
func (h *Main) ensureAdminAccount(ctx context.Context) error {
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
func (h *Main) keepSecret(name, content string) string {
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

func (h *Main) printBanner(e env, url, adminToken string, startup time.Duration) {
	var b strings.Builder
	fmt.Fprintf(&b, "\nsitrep %s is running at %s (started in %s, %s database)\n", version, url, startup.Round(time.Millisecond), h.db.Dialect)
	if h.publicListener != nil {
		fmt.Fprintf(&b, "  public status page: http://%s (status_page.public; only the public wording of updates)\n", h.publicListener.Addr())
	}
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
		fmt.Fprintf(&b, "  Try:  %s declare --title \"Checkout down\" --severity SEV1\n", e.programName())
		if e.program == goRun {
			fmt.Fprintf(&b, "  (run through `go run`, sitrep is not installed: `go install ./cmd/sitrep` puts it in $(go env GOPATH)/bin)\n")
		}
	}
	if h.intakeSecret != "" {
		fmt.Fprintf(&b, "\n  Monitoring: the generic webhook POST %s/api/v1/intake/generic is on (embedded default).\n", url)
		if h.intakeSecretNew && (e.terminal || h.intakeSecretFile == "") {
			fmt.Fprintf(&b, "  Its secret (intake.generic.secret), shown once:\n\n      %s\n\n", h.intakeSecret)
		}
		if h.intakeSecretFile != "" {
			fmt.Fprintf(&b, "  The secret is in %s (mode 0600), where `sitrep alert` finds it.\n", h.intakeSecretFile)
		}
		fmt.Fprintf(&b, "  Send a test alert:  %s alert --title \"Checkout failing\" --system checkout   then: %s drafts\n", e.programName(), e.programName())
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

func (h *Main) buildResolution() error {
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
func (h *Main) buildChanges(ctx context.Context) error {
	cfg := h.cfg.Changes
	h.changes = &changes.Service{DB: h.db, Incidents: h.incidents, WebhookSecret: cfg.WebhookSecret.Value(), Window: cfg.Window, Logger: h.logger,
		KnownSystems: h.directory}
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

// buildMaintenance wires planned maintenance: the change log's windows,
// the directory's groups per system, the outbox.
func (h *Main) buildMaintenance() {
	c := h.cfg.Maintenance
	h.maint = &maintenance.Service{DB: h.db, Changes: h.changes, Directory: h.directory, Mail: h.outbox, Followers: h.subscriptions,
		AnnounceBefore: c.AnnounceBefore, Manual: c.Announce == "manual", Logger: h.logger.With("component", "maintenance")}
}

// tellMaintenance announces, starts and ends maintenance windows in a
// loop of its own, every replica: each step is claimed once in the
// database, and the calendars it reads must not hold up runChecks. Once a
// minute at most: a notice a minute late is on time, a calendar read
// every 15 s is not polite.
func (h *Main) tellMaintenance(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := h.maint.Check(ctx); err != nil && ctx.Err() == nil {
			h.logger.Error("maintenance notices failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// subscriptionSweepEvery is how often sweepSubscriptions runs: a double
// opt-in lapses after subscriptions.confirm_for (hours), so a few minutes
// late is on time.
const subscriptionSweepEvery = 10 * time.Minute

// sweepSubscriptions deletes the double opt-ins never confirmed and the
// links nobody will use (subscription.Service.Sweep) in a loop of its
// own, every replica: what one deletes is garbage whoever deletes it, and
// each run deletes a bounded number of batches.
func (h *Main) sweepSubscriptions(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := h.subscriptions.Sweep(ctx); err != nil && ctx.Err() == nil {
			h.logger.Error("subscription sweep failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
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
func (h *Main) runChecks(ctx context.Context, interval time.Duration) {
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

// graphCalendar is the microsoft365 backend of the config: an Entra app's
// client credentials (a secret or a certificate) for Microsoft Graph.
func graphCalendar(m config.Microsoft365, logger *slog.Logger) (*microsoft365.Calendar, error) {
	mc := mailauth.MicrosoftConfig{Tenant: m.Tenant, ClientID: m.ClientID, ClientSecret: m.ClientSecret.Value(),
		PrivateKeyPEM: []byte(m.PrivateKey.Value()), TokenURL: m.TokenURL, Scopes: []string{microsoft365.Scope}}
	if m.Certificate != "" {
		pemBytes, err := os.ReadFile(m.Certificate)
		if err != nil {
			return nil, fmt.Errorf("postmortem.microsoft365.certificate: %w", err)
		}
		mc.CertificatePEM = pemBytes
	}
	f, err := mailauth.NewMicrosoft(mc)
	if err != nil {
		return nil, fmt.Errorf("postmortem.microsoft365: %w", err)
	}
	cal, err := microsoft365.New(microsoft365.Config{BaseURL: m.GraphURL, Organizer: m.Organizer,
		Tokens: mailauth.NewTokens(f, mailauth.TokensOptions{Logger: logger}), RoomList: m.RoomList,
		RoomFeatures: m.RoomFeatures, TeamsMeeting: m.TeamsMeeting, AppID: m.ClientID, Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("postmortem.microsoft365: %w", err)
	}
	return cal, nil
}

// readAnswers reads attendees' answers back from the calendar (each
// post-mortem at most once per postmortem.answers_every) in a loop of its
// own: a calendar that is slow to answer must not hold up the promise
// checks in runChecks.
func (h *Main) readAnswers(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := h.postmortem.CheckResponses(ctx); err != nil && ctx.Err() == nil {
			h.logger.Error("post-mortem answers failed", "err", err)
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
// the config or Google's Directory, and the blameless lint's rules. The
// Google clients keep life for their sign-ins; start bounds the CalDAV check.
func (h *Main) buildPostmortem(start, life context.Context) error {
	c := h.cfg.Postmortem
	s := &postmortem.Service{DB: h.db, Incidents: h.incidents, Mail: h.outbox, Comms: h.comms, Directory: h.directory, Jobs: h.inserter,
		Rules: h.resolution.Rules, BackendName: c.Backend, Logger: h.logger.With("component", "postmortem"),
		Settings: postmortem.Settings{OptionalGroups: c.OptionalGroups, Facilitator: c.Facilitator, Duration: c.Duration,
			MinBusinessDays: c.MinBusinessDays, MaxBusinessDays: c.MaxBusinessDays, WorkStart: c.WorkStart, WorkEnd: c.WorkEnd,
			Holidays: c.Holidays, Building: c.Building, Remote: c.Remote, VideoLink: cmp.Or(c.VideoLink, h.cfg.Bridge.VideoURL), CreateMeet: c.Google.CreateMeet,
			TimelineBefore: c.TimelineBefore, RemindBefore: c.RemindBefore, WebhookURL: c.WebhookURL, WebhookSecret: c.WebhookSecret.Value(),
			ResponsesEvery: c.AnswersEvery}}
	if c.VideoLink == "" || c.VideoLink == h.cfg.Bridge.VideoURL {
		// The bridge's numbers belong to the bridge's call, not to another
		// video link the post-mortem has of its own.
		s.Settings.Phones, s.Settings.PIN = h.cfg.Bridge.PhoneNumbers, h.cfg.Bridge.PIN
	}
	if len(c.Groups) > 0 {
		s.Settings.Groups = c.Groups // else the directory's postmortem audience
	}
	var rooms calendar.StaticRooms
	for _, r := range c.Rooms {
		rooms = append(rooms, calendar.Room{Email: r.Email, Name: r.Name, Building: r.Building, Floor: r.Floor, Capacity: r.Capacity, Features: r.Features})
	}
	s.Rooms = rooms
	switch c.Backend {
	case "caldav":
		dav, err := caldav.New(c.CalDAV.URL, c.CalDAV.Username, c.CalDAV.Password.Value(), c.CalDAV.Calendar)
		if err != nil {
			return fmt.Errorf("postmortem.caldav: %w", err)
		}
		if err := dav.EnsureCalendar(start, "Post-mortems"); err != nil {
			// The server may be back by the first booking; the job retries then.
			h.logger.Warn("postmortem: CalDAV calendar not reachable at start", "err", err)
		}
		s.Backend, s.Invites = dav, s.IMIP()
	case "google":
		opt, err := google.ServiceAccount(c.Google.CredentialsFile, c.Google.Organizer, google.CalendarScope)
		if err != nil {
			return fmt.Errorf("postmortem.google: %w", err)
		}
		g, err := google.New(life, opt)
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
			gr, err := google.NewRooms(life, ropt)
			if err != nil {
				return fmt.Errorf("postmortem.google.rooms_admin: %w", err)
			}
			s.Rooms = gr
		}
	case "microsoft365":
		cal, err := graphCalendar(c.Microsoft365, h.logger.With("component", "microsoft365"))
		if err != nil {
			return err
		}
		s.Backend, s.Rooms = cal, cal
	default:
		s.Backend = s.IMIP()
	}
	h.postmortem = s
	return nil
}
