// Package doctor checks, part by part, the route sitrep's mail takes and
// the services it talks to, and says in one line per part what is wrong
// and how to fix it: configuration, database and migrations; the SMTP
// relay (connect, TLS, AUTH, a test MAIL FROM/RCPT TO, nothing sent); the
// IMAP mailbox (connect, TLS, AUTH, the mailbox, IDLE); the loop (a probe
// to the reply address must arrive in the ingest mailbox and be recognised
// as a probe); DNS for the mail domains (MX, SPF, DMARC, DKIM); and the
// calendar and chat credentials. "sitrep doctor" and the admins' page in
// the web UI run it; docs/doctor.md lists every check.
package doctor

import (
	"context"
	"crypto"
	"log/slog"
	"net"
	"net/netip"
	"time"
)

// Status is the outcome of one check.
type Status string

const (
	OK   Status = "ok"
	Warn Status = "warn" // works, but something is risky or cannot be known from here
	Fail Status = "fail" // broken: mail will not go, or replies will not arrive
	Skip Status = "skip" // not configured, or an earlier check failed
)

// Result is one check's verdict: Detail says in one line what was found or
// what is wrong, Fix how to put it right.
type Result struct {
	Area   string `json:"area"` // config, database, smtp, imap, loop, dns, calendar, chat
	Name   string `json:"name"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// Report is every check of one run.
type Report struct {
	Started time.Time `json:"started"`
	Results []Result  `json:"results"`
}

// Failed reports whether any check failed.
func (r *Report) Failed() bool {
	for _, c := range r.Results {
		if c.Status == Fail {
			return true
		}
	}
	return false
}

// Count returns how many checks ended with s.
func (r *Report) Count(s Status) int {
	n := 0
	for _, c := range r.Results {
		if c.Status == s {
			n++
		}
	}
	return n
}

// Find returns the first result named name.
func (r *Report) Find(name string) (Result, bool) {
	for _, c := range r.Results {
		if c.Name == name {
			return c, true
		}
	}
	return Result{}, false
}

func (r *Report) add(res Result) Result {
	r.Results = append(r.Results, res)
	return res
}

// Database is what the database checks need; *store.DB has it.
type Database interface {
	PingContext(ctx context.Context) error
	// MigrationStatus is the schema version applied and the newest the
	// binary carries.
	MigrationStatus(ctx context.Context) (current, latest int64, err error)
}

// Resolver answers the DNS checks; *net.Resolver has it (point it at a
// server of your choice with doctor.resolver).
type Resolver interface {
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupTXT(ctx context.Context, name string) ([]string, error)
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Integration is a calendar or chat adapter's check of its own
// credentials and reachability.
type Integration interface {
	Check(ctx context.Context) Result
}

// TokenSource is an OAuth2 token for a mail login (XOAUTH2, OAUTHBEARER);
// *mailauth.Tokens is one. A token that cannot be had fails the AUTH check
// with the token endpoint's reason.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// Server is a mail server as sitrep reaches it.
type Server struct {
	Host string
	Port int
	// TLS is "tls" (implicit), "starttls" or "none".
	TLS                string
	InsecureSkipVerify bool
	Username, Password string
	OAuth              TokenSource // see TokenSource; nil: Username/Password
	// Sandbox: the built-in sandbox, on loopback, where plaintext is fine.
	Sandbox bool
}

// Addr is host:port.
func (s Server) Addr() string { return net.JoinHostPort(s.Host, itoa(s.Port)) }

// Mail is the route the checks prove.
type Mail struct {
	Domain string // the reply addresses' domain (mail.domain)
	From   string // the From address, bare
	// EnvelopeFrom is a sender address like the outbox's (MAIL FROM, the
	// bounce address <local>+b-...@<Domain>); "": From.
	EnvelopeFrom   string
	ReplyLocalPart string
	HELO           string
	SMTP           Server
	IMAP           Server // Host "": nothing reads replies
	Mailbox        string // the ingest mailbox
	MoveTo         string // where the ingester moves processed mail; "": none
	DKIM           DKIM
}

// DKIM is the hub's own signing, when on.
type DKIM struct {
	Domain, Selector string
	Key              crypto.Signer // nil: sitrep does not sign
}

// Doctor runs the checks. main builds it from the configuration.
type Doctor struct {
	// ConfigProblems are what config.Load refused; any fails the config check.
	ConfigProblems []string
	// ConfigSource names the configuration ("embedded default" or a path).
	ConfigSource string
	DB           Database // nil: the database could not be opened (DBError says why)
	DBError      error
	Mail         Mail
	Resolver     Resolver
	// ProbeTimeout bounds the loop check; 0: 60 s. NoProbe skips it.
	ProbeTimeout time.Duration
	NoProbe      bool
	Integrations []Integration
	Logger       *slog.Logger
	// Timeout bounds each network exchange; 0: 15 s.
	Timeout time.Duration
}

func (d *Doctor) timeout() time.Duration {
	if d.Timeout > 0 {
		return d.Timeout
	}
	return 15 * time.Second
}

func (d *Doctor) logger() *slog.Logger {
	if d.Logger != nil {
		return d.Logger
	}
	return slog.Default()
}

// Run runs every check, in the order a message travels, and returns them
// all; a check whose prerequisite failed is reported as skipped.
func (d *Doctor) Run(ctx context.Context) *Report {
	r := &Report{Started: time.Now().UTC()}
	d.checkConfig(r)
	d.checkDatabase(ctx, r)
	smtpOK := d.checkSMTP(ctx, r)
	imapOK := d.checkIMAP(ctx, r)
	d.checkLoop(ctx, r, smtpOK, imapOK)
	d.checkDNS(ctx, r)
	for _, in := range d.Integrations {
		r.add(in.Check(ctx))
	}
	for _, c := range r.Results {
		if c.Status == Fail {
			d.logger().Warn("doctor: check failed", "check", c.Name, "detail", c.Detail)
		}
	}
	return r
}

func (d *Doctor) checkConfig(r *Report) {
	src := d.ConfigSource
	if src == "" {
		src = "embedded default"
	}
	if len(d.ConfigProblems) > 0 {
		res := Result{Area: "config", Name: "configuration", Status: Fail,
			Detail: itoa(len(d.ConfigProblems)) + " problem(s) in " + src + ": " + d.ConfigProblems[0],
			Fix:    "correct each key named; every problem: " + joinMax(d.ConfigProblems, "; ", 10)}
		r.add(res)
		return
	}
	r.add(Result{Area: "config", Name: "configuration", Status: OK, Detail: src + " loads and validates"})
}

func (d *Doctor) checkDatabase(ctx context.Context, r *Report) {
	if d.DB == nil {
		detail := "not opened"
		if d.DBError != nil {
			detail = d.DBError.Error()
		}
		r.add(Result{Area: "database", Name: "database", Status: Fail, Detail: detail,
			Fix: "check database.url (or data_dir for SQLite): the server must be up, the user allowed, the directory writable"})
		r.add(Result{Area: "database", Name: "migrations", Status: Skip, Detail: "no database"})
		return
	}
	ctx, cancel := context.WithTimeout(ctx, d.timeout())
	defer cancel()
	if err := d.DB.PingContext(ctx); err != nil {
		r.add(Result{Area: "database", Name: "database", Status: Fail, Detail: "ping: " + err.Error(),
			Fix: "check that the database server is up and reachable from here"})
		r.add(Result{Area: "database", Name: "migrations", Status: Skip, Detail: "no database"})
		return
	}
	r.add(Result{Area: "database", Name: "database", Status: OK, Detail: "reachable"})
	cur, latest, err := d.DB.MigrationStatus(ctx)
	switch {
	case err != nil:
		r.add(Result{Area: "database", Name: "migrations", Status: Fail, Detail: err.Error(), Fix: "run sitrep migrate"})
	case cur == 0:
		r.add(Result{Area: "database", Name: "migrations", Status: OK, Detail: "a new, empty database: sitrep serve (or sitrep migrate) creates the schema, version " + itoa64(latest)})
	case cur < latest:
		r.add(Result{Area: "database", Name: "migrations", Status: Fail,
			Detail: "schema at version " + itoa64(cur) + ", this sitrep needs " + itoa64(latest),
			Fix:    "run sitrep migrate (sitrep serve also migrates at start)"})
	case cur > latest:
		r.add(Result{Area: "database", Name: "migrations", Status: Warn,
			Detail: "schema at version " + itoa64(cur) + " is newer than this sitrep's " + itoa64(latest),
			Fix:    "a newer sitrep migrated this database: run that version"})
	default:
		r.add(Result{Area: "database", Name: "migrations", Status: OK, Detail: "schema at version " + itoa64(cur) + ", up to date"})
	}
}
