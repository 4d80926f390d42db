// Package config holds sitrep's one typed configuration: defaults in one
// place (Default), a YAML file, SITREP_* environment variables on top, and a
// validation that reports every problem at once, by key.
package config

import (
	"bytes"
	"cmp"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/sitrep-dev/sitrep/internal/authres"
	"github.com/sitrep-dev/sitrep/internal/pemkey"
)

// Config is everything sitrep can be told. Keys are the yaml tags; the
// environment variable of a key is SITREP_ + its path in upper case joined by
// underscores (mail.smtp.host → SITREP_MAIL_SMTP_HOST).
type Config struct {
	DataDir    string     `yaml:"data_dir"`
	Server     Server     `yaml:"server"`
	Database   Database   `yaml:"database"`
	Mail       Mail       `yaml:"mail"`
	Directory  Directory  `yaml:"directory"`
	Cadence    Cadence    `yaml:"cadence"`
	Escalation Escalation `yaml:"escalation"`
	Templates  Templates  `yaml:"templates"`
	Resolution Resolution `yaml:"resolution"`
	Changes    Changes    `yaml:"changes"`
	// Maintenance configures planned-maintenance notices and alerts during windows.
	Maintenance Maintenance `yaml:"maintenance"`
	Postmortem  Postmortem  `yaml:"postmortem"`
	Intake      Intake      `yaml:"intake"`
	Chat        Chat        `yaml:"chat"`
	Backlog     Backlog     `yaml:"backlog"`
	Bridge      Bridge      `yaml:"bridge"`
	Auth        Auth        `yaml:"auth"`
	Doctor      Doctor      `yaml:"doctor"`
	StatusPage  StatusPage  `yaml:"status_page"`
	Jobs        Jobs        `yaml:"jobs"`
	Log         Log         `yaml:"log"`

	// Subscriptions: who may follow incidents themselves.
	Subscriptions Subscriptions `yaml:"subscriptions"`
}

// Backlog files the post-mortem's improvements in the team's tracker and
// reads their state back (docs/backlog.md).
type Backlog struct {
	// Tracker is "" (off), github, jira or linear.
	Tracker string        `yaml:"tracker"`
	GitHub  BacklogGitHub `yaml:"github"`
	Jira    BacklogJira   `yaml:"jira"`
	Linear  BacklogLinear `yaml:"linear"`
	// PollEvery: how often the tracker is asked what changed, beside its webhook.
	PollEvery time.Duration `yaml:"poll_every"`
	// CallTimeout bounds one call to the tracker. A call unanswered by then
	// is uncertain: the next try looks for the issue first. A sitrep that
	// dies mid-call leaves its item to another after three of these.
	CallTimeout time.Duration `yaml:"call_timeout"`
}

// BacklogGitHub is one GitHub repository's issues.
type BacklogGitHub struct {
	Owner string `yaml:"owner"` // the user or organisation
	Repo  string `yaml:"repo"`
	// Token: a fine-grained personal access token (or an app's installation
	// token) with Issues: read and write on the repository.
	Token Secret `yaml:"token"`
	// Labels are put on every issue.
	Labels []string `yaml:"labels"`
	// WebhookSecret authenticates POST /api/v1/backlog/github (X-Hub-Signature-256); empty: the webhook is off, polling only.
	WebhookSecret Secret `yaml:"webhook_secret"`
	// APIURL replaces https://api.github.com (GitHub Enterprise Server: https://HOST/api/v3).
	APIURL string `yaml:"api_url"`
}

// BacklogJira is one Jira Cloud project's issues (REST API v3).
type BacklogJira struct {
	// BaseURL is the site: https://your-domain.atlassian.net.
	BaseURL string `yaml:"base_url"`
	// Email and APIToken sign in (HTTP Basic): an Atlassian account's
	// address and an API token made for it.
	Email    string `yaml:"email"`
	APIToken Secret `yaml:"api_token"`
	// Project is the project's key (OPS in OPS-42).
	Project string `yaml:"project"`
	// IssueType is the type of the issues filed: Task by default.
	IssueType string `yaml:"issue_type"`
	// Labels are put on every issue (Jira makes a label that does not exist yet).
	Labels []string `yaml:"labels"`
	// WebhookSecret authenticates POST /api/v1/backlog/jira (X-Hub-Signature); empty: the webhook is off, polling only.
	WebhookSecret Secret `yaml:"webhook_secret"`
}

// BacklogLinear is one Linear team's issues (GraphQL API).
type BacklogLinear struct {
	// APIKey is a personal API key, or "Bearer " and an OAuth app's access token.
	APIKey Secret `yaml:"api_key"`
	// Team is the team's key (ENG in ENG-123).
	Team string `yaml:"team"`
	// Labels are label names put on every issue; they must exist in the team or the workspace.
	Labels []string `yaml:"labels"`
	// WebhookSecret authenticates POST /api/v1/backlog/linear (Linear-Signature); empty: the webhook is off, polling only.
	WebhookSecret Secret `yaml:"webhook_secret"`
	// APIURL replaces https://api.linear.app/graphql.
	APIURL string `yaml:"api_url"`
}

// Resolution configures the resolved email, confirmations and the summary.
type Resolution struct {
	// WriteUpAfter: the "resolved" email promises the blameless write-up this long after resolution.
	WriteUpAfter time.Duration `yaml:"write_up_after"`
	// Confirmers are asked to confirm every fix, beside the people who reported the problem.
	Confirmers []string `yaml:"confirmers"`
	// LintDir holds extra word lists for the blameless lint (blame*.txt, allow*.txt, common_words*.txt, person_words*.txt).
	LintDir string `yaml:"lint_dir"`
}

// Subscriptions configures people following incidents themselves (the
// directory's people always may).
type Subscriptions struct {
	// AllowedDomains: addresses in these domains may subscribe too, after
	// double opt-in (a confirmation link mailed to them). Default none.
	AllowedDomains []string `yaml:"allowed_domains"`
	// ConfirmFor is how long a confirmation link works.
	ConfirmFor time.Duration `yaml:"confirm_for"`
	// ConfirmationsPerDay caps the confirmation emails to one address in 24 hours.
	ConfirmationsPerDay int `yaml:"confirmations_per_day"`
}

// Changes configures the change log: the deployment webhook and the
// maintenance calendars.
type Changes struct {
	// WebhookSecret authenticates POST /api/v1/changes/deployments; empty: the webhook is off.
	WebhookSecret Secret `yaml:"webhook_secret"`
	// Window: how far before the first failure an incident's changes view looks.
	Window time.Duration `yaml:"window"`
	// MaintenanceICS is an iCalendar file: a path or an http(s) URL.
	MaintenanceICS string `yaml:"maintenance_ics"`
	// MaintenanceCalDAV is a CalDAV calendar of maintenance windows.
	MaintenanceCalDAV MaintenanceCalDAV `yaml:"maintenance_caldav"`
	// MaintenanceGoogle is a Google Calendar of maintenance windows.
	MaintenanceGoogle MaintenanceGoogle `yaml:"maintenance_google"`
}

// Maintenance configures what sitrep tells about planned maintenance
// windows (from the change log's calendars, or declared in sitrep), and
// what an alert during one does.
type Maintenance struct {
	// AnnounceBefore: a window is announced this long before it starts.
	AnnounceBefore time.Duration `yaml:"announce_before"`
	// Announce: auto (every window is announced, reminded and ended) or
	// manual (only windows someone announces with sitrep maintenance announce).
	Announce string `yaml:"announce"`
	// Alerts: mark (an alert during a window opens a draft marked as such)
	// or suppress (the draft is recorded, and nobody is told).
	Alerts string `yaml:"alerts"`
}

// Intake configures the monitoring webhooks that open draft incidents.
type Intake struct {
	Alertmanager IntakeSource `yaml:"alertmanager"`
	Pingdom      IntakeSource `yaml:"pingdom"`
	Dynatrace    IntakeSource `yaml:"dynatrace"`
	Generic      IntakeSource `yaml:"generic"`
	// Notify is told of each new draft; empty: the directory's comms leads.
	Notify []string `yaml:"notify"`
	// DefaultSeverity declares a draft whose monitor suggested none.
	DefaultSeverity string `yaml:"default_severity"`
}

// IntakeSource is one monitor's webhook.
type IntakeSource struct {
	// Secret authenticates POST /api/v1/intake/<source>; empty: that webhook is off.
	Secret Secret `yaml:"secret"`
}

// Secrets returns the secret of each source by its name in the URL.
func (in Intake) Secrets() map[string]string {
	return map[string]string{"alertmanager": in.Alertmanager.Secret.Value(), "pingdom": in.Pingdom.Secret.Value(),
		"dynatrace": in.Dynatrace.Secret.Value(), "generic": in.Generic.Secret.Value()}
}

// Chat configures the mirror of incident events to the team's channel.
type Chat struct {
	Slack ChatSlack `yaml:"slack"`
	Teams ChatTeams `yaml:"teams"`
	IRC   ChatIRC   `yaml:"irc"`
	// Interval: how often new timeline events are looked for.
	Interval time.Duration `yaml:"interval"`
}

// ChatSlack is a Slack channel: through the Web API with a bot token (one
// thread per incident), or an incoming webhook.
type ChatSlack struct {
	WebhookURL Secret `yaml:"webhook_url"` // https://hooks.slack.com/services/...
	Token      Secret `yaml:"token"`       // xoxb-...: Web API mode, with Channel
	Channel    string `yaml:"channel"`     // the channel's ID, C0123456789
	APIURL     string `yaml:"api_url"`     // default https://slack.com/api (tests)
}

// ChatTeams is a Microsoft Teams channel's Workflows webhook.
type ChatTeams struct {
	WebhookURL Secret `yaml:"webhook_url"` // https://...logic.azure.com/workflows/...; empty: no Teams
}

// ChatIRC is an IRC channel.
type ChatIRC struct {
	Server     string `yaml:"server"` // host:port; empty: no IRC
	TLS        bool   `yaml:"tls"`
	Nick       string `yaml:"nick"`
	Password   Secret `yaml:"password"` // server password (PASS)
	Channel    string `yaml:"channel"`
	ChannelKey Secret `yaml:"channel_key"`
}

// Bridge is the conference call of every incident: it travels in the
// heads-up and the post-mortem invitation.
type Bridge struct {
	PhoneNumbers []string `yaml:"phone_numbers"`
	PIN          string   `yaml:"pin"`
	VideoURL     string   `yaml:"video_url"`
}

// Text is the bridge in one line for people ("" when none is configured):
// "+1 555 0100, +44 20 7946 0000 (PIN 4711#) · https://meet.example.com/ops".
func (b Bridge) Text() string {
	var parts []string
	if len(b.PhoneNumbers) > 0 {
		phones := strings.Join(b.PhoneNumbers, ", ")
		if b.PIN != "" {
			phones += " (PIN " + b.PIN + ")"
		}
		parts = append(parts, phones)
	}
	if b.VideoURL != "" {
		parts = append(parts, b.VideoURL)
	}
	return strings.Join(parts, " · ")
}

// MaintenanceCalDAV is where a CalDAV maintenance calendar lives.
type MaintenanceCalDAV struct {
	URL          string `yaml:"url"` // the server, https://dav.example.com; empty: none
	Username     string `yaml:"username"`
	Password     Secret `yaml:"password"`
	CalendarPath string `yaml:"calendar_path"` // the collection, /ops/maintenance/
}

// MaintenanceGoogle is a Google Calendar of maintenance windows, read
// through the Calendar API with a service account (domain-wide delegation),
// by default the post-mortem's.
type MaintenanceGoogle struct {
	CalendarID string `yaml:"calendar_id"` // ops-maintenance@group.calendar.google.com; empty: none
	// CredentialsFile: the service account's JSON key; empty: postmortem.google.credentials_file.
	CredentialsFile string `yaml:"credentials_file"`
	// Subject is the user impersonated to read the calendar (it must see
	// it); empty: postmortem.google.organizer.
	Subject string `yaml:"subject"`
}

// Postmortem configures the post-mortem: who is invited, when and where it
// can be, the calendar it is booked in, and where its results go.
type Postmortem struct {
	// Backend books the meeting: imip (invitations by email, the default),
	// caldav (an event on a CalDAV calendar, plus iMIP invitations), google
	// or microsoft365 (Outlook through Microsoft Graph).
	Backend string `yaml:"backend"`
	// Duration of the meeting.
	Duration time.Duration `yaml:"duration"`
	// The window: business days after the resolution day (weekends and holidays skipped).
	MinBusinessDays int `yaml:"min_business_days"`
	MaxBusinessDays int `yaml:"max_business_days"`
	// WorkStart and WorkEnd ("09:00", "17:00") are working hours in each person's zone.
	WorkStart string `yaml:"work_start"`
	WorkEnd   string `yaml:"work_end"`
	// Holidays, "2026-12-25", in the organizer's zone.
	Holidays []string `yaml:"holidays"`
	// Building is where rooms are preferred (a Google buildingId with the google backend).
	Building string `yaml:"building"`
	// Remote books no room; VideoLink is the call to join.
	Remote    bool   `yaml:"remote"`
	VideoLink string `yaml:"video_link"`
	// Groups invited as ancillary teams; empty: the directory's postmortem audience.
	Groups []string `yaml:"groups"`
	// OptionalGroups are invited as optional attendees (e.g. exec).
	OptionalGroups []string `yaml:"optional_groups"`
	// Facilitator runs the meeting when the incident names none; empty: the comms lead.
	Facilitator string `yaml:"facilitator"`
	// Rooms bookable for the post-mortem (not with google, whose rooms come from the Directory API).
	Rooms []Room `yaml:"rooms"`
	// TimelineBefore: the timeline goes to the participants this long before the meeting.
	TimelineBefore time.Duration `yaml:"timeline_before"`
	// RemindBefore: improvement owners are reminded this long before the due date.
	RemindBefore time.Duration `yaml:"remind_before"`
	// WebhookURL gets the published results as JSON, signed with WebhookSecret.
	WebhookURL    string       `yaml:"webhook_url"`
	WebhookSecret Secret       `yaml:"webhook_secret"`
	CalDAV        CalDAV       `yaml:"caldav"`
	Google        Google       `yaml:"google"`
	Microsoft365  Microsoft365 `yaml:"microsoft365"`
	// AnswersEvery is how often attendees' answers are read back from the
	// google and microsoft365 calendars (iMIP answers come by email).
	AnswersEvery time.Duration `yaml:"answers_every"`
}

// Microsoft365 is the Entra app that books in Outlook through Microsoft
// Graph, app-only (docs/microsoft-365-calendar.md).
type Microsoft365 struct {
	Tenant       string `yaml:"tenant"`    // Directory (tenant) ID or a verified domain
	ClientID     string `yaml:"client_id"` // Application (client) ID
	ClientSecret Secret `yaml:"client_secret"`
	// Certificate (a PEM file) and PrivateKey: the certificate credential,
	// instead of a client secret (as mail.oauth).
	Certificate string `yaml:"certificate"`
	PrivateKey  Secret `yaml:"private_key"`
	// Organizer is the mailbox whose calendar holds the post-mortems.
	Organizer string `yaml:"organizer"`
	// RoomList limits rooms to one room list (its address); empty: every room.
	RoomList string `yaml:"room_list"`
	// RoomFeatures adds features by room address, for rooms without tags
	// (Graph has no whiteboard field).
	RoomFeatures map[string][]string `yaml:"room_features"`
	// TeamsMeeting adds a Teams meeting to the event.
	TeamsMeeting bool `yaml:"teams_meeting"`
	// GraphURL and TokenURL replace Microsoft's endpoints (national clouds, tests).
	GraphURL string `yaml:"graph_url"`
	TokenURL string `yaml:"token_url"`
}

// Room is a meeting room.
type Room struct {
	Email    string   `yaml:"email"`
	Name     string   `yaml:"name"`
	Building string   `yaml:"building"`
	Floor    string   `yaml:"floor"`
	Capacity int      `yaml:"capacity"`
	Features []string `yaml:"features"`
}

// CalDAV is the calendar post-mortems are put on.
type CalDAV struct {
	URL      string `yaml:"url"`
	Username string `yaml:"username"`
	Password Secret `yaml:"password"`
	// Calendar is the collection path, e.g. /hub@example.com/postmortems/.
	Calendar string `yaml:"calendar"`
}

// Google is the Google Workspace account (see internal/calendar/GOOGLE.md).
type Google struct {
	// CredentialsFile is the service account's JSON key (domain-wide delegation).
	CredentialsFile string `yaml:"credentials_file"`
	// Organizer is the user impersonated to book (their calendar holds the event).
	Organizer string `yaml:"organizer"`
	// CalendarID: "primary" is the organizer's own.
	CalendarID string `yaml:"calendar_id"`
	// RoomsAdmin is the administrator impersonated to list rooms; empty: rooms from config.
	RoomsAdmin string `yaml:"rooms_admin"`
	// CreateMeet adds a Google Meet link.
	CreateMeet bool `yaml:"create_meet"`
}

// Jobs tunes the durable background work.
type Jobs struct {
	// PollInterval: how often an idle replica looks for new jobs; 0: 50 ms
	// on PostgreSQL, 200 ms on SQLite (jobs.DefaultPoll).
	PollInterval time.Duration `yaml:"poll_interval"`
	// CheckInterval: how often promises are checked and due deliveries swept.
	CheckInterval time.Duration `yaml:"check_interval"`
	// RescueAfter: a job still running this long is presumed lost with its replica.
	RescueAfter time.Duration `yaml:"rescue_after"`
}

type Server struct {
	Listen       string `yaml:"listen"`
	PublicURL    string `yaml:"public_url"`
	MaxBodyBytes int64  `yaml:"max_body_bytes"`
	// AdminToken, when set, is accepted as an admin API token; otherwise a
	// token is created on first start and printed once.
	AdminToken Secret `yaml:"admin_token"`
	// TrustedProxies are the reverse proxies (CIDRs or addresses) whose
	// X-Forwarded-For is believed; empty: none, the peer is the client.
	TrustedProxies []string `yaml:"trusted_proxies"`
}

// TrustedProxyPrefixes is TrustedProxies parsed; a bare address is a
// prefix of its full length. Entries that do not parse (validation reports
// them) are left out.
func (s Server) TrustedProxyPrefixes() []netip.Prefix {
	var out []netip.Prefix
	for _, v := range s.TrustedProxies {
		if p, err := parsePrefix(v); err == nil {
			out = append(out, p)
		}
	}
	return out
}

func parsePrefix(v string) (netip.Prefix, error) {
	v = strings.TrimSpace(v)
	if strings.Contains(v, "/") {
		p, err := netip.ParsePrefix(v)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(v)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// StatusPage configures the status pages (docs/status-page.md): the
// internal one at /status of the web UI, and the public one for customers.
type StatusPage struct {
	// OpenTo are networks (CIDRs or addresses) whose people read the
	// internal status page and its feeds without signing in; empty: everyone
	// signs in (or, for the feeds, gives an API token). The client's address
	// is the peer's, or X-Forwarded-For's behind server.trusted_proxies.
	OpenTo []string         `yaml:"open_to"`
	Public PublicStatusPage `yaml:"public"`
}

// OpenToPrefixes is OpenTo parsed; entries that do not parse (validation
// reports them) are left out.
func (s StatusPage) OpenToPrefixes() []netip.Prefix {
	var out []netip.Prefix
	for _, v := range s.OpenTo {
		if p, err := parsePrefix(v); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// PublicStatusPage is the status page for customers: only the public
// wording of updates, by component, on a listener of its own or exported
// as static HTML (sitrep status export DIR).
type PublicStatusPage struct {
	// Enabled turns it on; off by default.
	Enabled bool `yaml:"enabled"`
	// Listen is its own address, apart from the web UI; empty: no listener
	// (export only).
	Listen string `yaml:"listen"`
	// URL is where customers reach it (https://status.example.com): the
	// Atom feed's links and ids. Empty: the address of the request, or
	// relative links in an export.
	URL string `yaml:"url"`
	// Title heads the page: "Example Corp status".
	Title string `yaml:"title"`
	// Components are what customers know, each mapped from sitrep's
	// systems, in the order shown.
	Components []StatusComponent `yaml:"components"`
	// Subscriptions puts an email subscription form on the page: any
	// address, always by double opt-in, receives the public wording of
	// updates as emails of their own. Needs Listen and URL (the links in
	// the emails point there). Off by default.
	Subscriptions bool `yaml:"subscriptions"`
}

// StatusComponent is one public component and the systems (escalation
// list keys) it stands for.
type StatusComponent struct {
	Name    string   `yaml:"name"`
	Systems []string `yaml:"systems"`
}

// Auth configures how people sign in to the web UI, beside local passwords.
type Auth struct {
	OIDC OIDC `yaml:"oidc"`
}

// OIDC is single sign-on with an OpenID Connect provider: Google Workspace,
// Okta, Keycloak (docs/sso.md). Password sign-in stays available.
type OIDC struct {
	// Issuer is the provider's issuer URL (https://accounts.google.com); empty: no single sign-on.
	Issuer       string `yaml:"issuer"`
	ClientID     string `yaml:"client_id"`
	ClientSecret Secret `yaml:"client_secret"`
	// RedirectURL is the callback registered with the provider; empty:
	// server.public_url + /login/oidc/callback.
	RedirectURL string `yaml:"redirect_url"`
	// HostedDomain is the Google Workspace domain whose accounts may sign in:
	// the ID token's hd claim must equal it. Empty: no hd check.
	HostedDomain string `yaml:"hosted_domain"`
	// AllowedDomains are the email domains that may sign in; empty: any.
	AllowedDomains []string `yaml:"allowed_domains"`
	// ButtonLabel is the sign-in page's button, e.g. "Sign in with Google".
	ButtonLabel string `yaml:"button_label"`
	// CreateAccounts makes an account with NewAccountRole on the first
	// sign-in of an email that has none; false: such a sign-in is refused.
	CreateAccounts bool     `yaml:"create_accounts"`
	NewAccountRole string   `yaml:"new_account_role"`
	Scopes         []string `yaml:"scopes"`
}

// Enabled reports whether single sign-on is configured.
func (o OIDC) Enabled() bool { return o.Issuer != "" }

// OIDCRedirectURL is auth.oidc.redirect_url, or the callback under server.public_url.
func (c *Config) OIDCRedirectURL() string {
	if c.Auth.OIDC.RedirectURL != "" {
		return c.Auth.OIDC.RedirectURL
	}
	if c.Server.PublicURL == "" {
		return ""
	}
	return strings.TrimSuffix(c.Server.PublicURL, "/") + "/login/oidc/callback"
}

type Database struct {
	// URL is sqlite:///path/to/file.db (or sqlite://relative.db) or postgres://...
	URL string `yaml:"url"`
}

type Mail struct {
	// Domain is ours: Message-IDs and reply addresses use it.
	Domain string `yaml:"domain"`
	// From is the sender of every email, e.g. "sitrep <status@example.com>".
	From string `yaml:"from"`
	// ReplyLocalPart is the local part of the reply address; replies go to
	// <ReplyLocalPart>+<token>@<Domain>.
	ReplyLocalPart string  `yaml:"reply_local_part"`
	SMTP           SMTP    `yaml:"smtp"`
	IMAP           IMAP    `yaml:"imap"`
	Sandbox        Sandbox `yaml:"sandbox"`
	// OAuth signs in to SMTP and IMAP with OAuth2 access tokens
	// (docs/mail-google-workspace.md, docs/mail-microsoft-365.md).
	OAuth MailOAuth `yaml:"oauth"`
	DKIM  DKIM      `yaml:"dkim"`
}

// Mail sign-in methods (mail.smtp.auth, mail.imap.auth).
const (
	MailAuthPassword = "password"
	MailAuthOAuth2   = "oauth2"
)

// MailOAuth is where mail's OAuth2 access tokens come from.
type MailOAuth struct {
	// Provider is google, microsoft or oauth2 (any token endpoint); empty:
	// no OAuth2.
	Provider string `yaml:"provider"`
	// Grant is client_credentials (default) or refresh_token, for microsoft
	// and oauth2; google always uses its service account.
	Grant string `yaml:"grant"`
	// Mailbox is the hub's mailbox the tokens are for (Google: the user the
	// service account acts as); default mail.imap.username, then
	// mail.smtp.username.
	Mailbox           string `yaml:"mailbox"`
	ServiceAccountKey Secret `yaml:"service_account_key"` // google: the JSON key file
	Tenant            string `yaml:"tenant"`              // microsoft
	ClientID          string `yaml:"client_id"`
	ClientSecret      Secret `yaml:"client_secret"`
	// Certificate (a PEM file) and PrivateKey: Microsoft's certificate
	// credential, instead of a client secret.
	Certificate  string   `yaml:"certificate"`
	PrivateKey   Secret   `yaml:"private_key"`
	RefreshToken Secret   `yaml:"refresh_token"`
	TokenURL     string   `yaml:"token_url"`
	Scopes       []string `yaml:"scopes"`
	// ClientAuth is how the oauth2 provider takes client credentials: post
	// (in the form, default) or basic (Authorization header).
	ClientAuth string `yaml:"client_auth"`
}

// SMTPAuth is how SMTP signs in: oauth2 or password.
func (m *Mail) SMTPAuth() string { return m.authOf(m.SMTP.Auth) }

// IMAPAuth is how IMAP signs in: oauth2 or password.
func (m *Mail) IMAPAuth() string { return m.authOf(m.IMAP.Auth) }

// authOf: an explicit choice, else OAuth2 when a provider is configured.
func (m *Mail) authOf(explicit string) string {
	if explicit != "" {
		return explicit
	}
	if m.OAuth.Provider != "" {
		return MailAuthOAuth2
	}
	return MailAuthPassword
}

// OAuthMailbox is the mailbox the tokens are for.
func (m *Mail) OAuthMailbox() string {
	return cmp.Or(m.OAuth.Mailbox, m.IMAP.Username, m.SMTP.Username)
}

// DKIM signs every email the hub sends (RFC 6376), for relays that do not
// sign with the From domain themselves. Off while selector is empty.
type DKIM struct {
	// Domain is the signing domain (d=); empty: the From address's domain.
	Domain string `yaml:"domain"`
	// Selector (s=): the public key is published at <selector>._domainkey.<domain>.
	Selector string `yaml:"selector"`
	// PrivateKey is the PEM key (RSA of 2048 bits or more, or Ed25519), best
	// given as {file: /etc/sitrep/dkim.pem}.
	PrivateKey Secret `yaml:"private_key"`
}

// Enabled reports whether DKIM signing is configured.
func (d DKIM) Enabled() bool { return d.Selector != "" }

// Doctor tunes "sitrep doctor" and the admin page's checks.
type Doctor struct {
	// Resolver is a DNS server (host:port) for the DNS checks; empty: the
	// system's resolver.
	Resolver string `yaml:"resolver"`
	// ProbeTimeout bounds how long the loop check waits for its probe to
	// arrive in the ingest mailbox.
	ProbeTimeout time.Duration `yaml:"probe_timeout"`
}

type SMTP struct {
	Host string `yaml:"host"` // empty: use the built-in sandbox
	Port int    `yaml:"port"`
	// TLS is "starttls" (default), "tls" (implicit, port 465) or "none".
	TLS      string `yaml:"tls"`
	Username string `yaml:"username"`
	Password Secret `yaml:"password"`
	// Auth is password or oauth2 (mail.oauth); default oauth2 when
	// mail.oauth.provider is set.
	Auth          string  `yaml:"auth"`
	Concurrency   int     `yaml:"concurrency"`     // SMTP connections in parallel
	RatePerSecond float64 `yaml:"rate_per_second"` // recipients per second over all connections of all replicas (one bucket in the database), 0 = unlimited
	BatchSize     int     `yaml:"batch_size"`      // recipients per SMTP transaction
	// InsecureSkipVerify is for test servers with self-signed certificates only.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
	// NoPipelining sends each RCPT after the previous one's reply even when
	// the server offers PIPELINING (RFC 2920), for relays that mishandle it.
	NoPipelining bool `yaml:"no_pipelining"`
	// Timeout bounds each SMTP exchange; a slower server counts as failed (temporarily).
	Timeout time.Duration `yaml:"timeout"`
	// MaxIdle: a connection unused for longer is closed and a fresh one
	// dialled, before the server drops it with "421 Idle timeout".
	MaxIdle time.Duration `yaml:"max_idle"`
	// ClaimLease: a recipient claimed by a worker that died is taken over after this.
	ClaimLease time.Duration `yaml:"claim_lease"`
	// MaxAttempts before a temporarily failing recipient is given up.
	MaxAttempts int `yaml:"max_attempts"`
}

type IMAP struct {
	Host     string `yaml:"host"` // empty: the sandbox inbox (or no ingest when the sandbox is off)
	Port     int    `yaml:"port"`
	TLS      string `yaml:"tls"` // "tls" (default, 993), "starttls" or "none"
	Username string `yaml:"username"`
	Password Secret `yaml:"password"`
	// Auth is password or oauth2 (mail.oauth); default oauth2 when
	// mail.oauth.provider is set.
	Auth    string `yaml:"auth"`
	Mailbox string `yaml:"mailbox"`
	// MoveTo is a folder that processed messages are moved into ("" = leave them, flagged).
	MoveTo string `yaml:"move_to"`
	// TrustedAuthServIDs are the authserv-ids whose Authentication-Results
	// headers are believed when a lead acts by reply.
	TrustedAuthServIDs []string `yaml:"trusted_authserv_ids"`
	MaxMessageBytes    int64    `yaml:"max_message_bytes"`
	// Horizon: at first start only messages newer than this are ingested.
	Horizon time.Duration `yaml:"horizon"`
	// Limits bound the parsing of each inbound message; a message over one
	// is filed in triage as malformed, unparsed.
	Limits MIMELimits `yaml:"limits"`
	// ActTimeout is the time budget for acting on one message. It must stay
	// below River's job timeout (9/10 of jobs.rescue_after), so that an act
	// job is never rescued, and so run twice, while it still runs. 0 means
	// a third of jobs.rescue_after, at most 30 s (see ActTimeoutWithin), so
	// that lowering rescue_after alone never makes the config invalid.
	ActTimeout time.Duration `yaml:"act_timeout"`
	// ActAttempts: a message whose acting failed or timed out this many
	// times is quarantined (set aside in triage, never retried).
	ActAttempts int `yaml:"act_attempts"`
}

// ActTimeoutWithin is the time budget for acting on one message when jobs
// are rescued after rescueAfter: ActTimeout when set, else a third of
// rescueAfter, at most 30 s.
func (i IMAP) ActTimeoutWithin(rescueAfter time.Duration) time.Duration {
	if i.ActTimeout != 0 {
		return i.ActTimeout
	}
	return min(30*time.Second, rescueAfter/3)
}

// MIMELimits are mailmsg.Limits as configured.
type MIMELimits struct {
	MaxDepth        int   `yaml:"max_depth"`
	MaxNestingWork  int64 `yaml:"max_nesting_work"`
	MaxParts        int   `yaml:"max_parts"`
	MaxHeaderFields int   `yaml:"max_header_fields"`
	MaxHeaderBytes  int   `yaml:"max_header_bytes"`
	MaxDecodedBytes int64 `yaml:"max_decoded_bytes"`
}

type Sandbox struct {
	SMTPListen string `yaml:"smtp_listen"`
	IMAPListen string `yaml:"imap_listen"`
	Password   Secret `yaml:"password"`
}

type Directory struct {
	// File is the groups.yaml kept in git; "" uses the built-in example organisation.
	File string `yaml:"file"`
}

type Cadence struct {
	// SEV1..SEV4 are the older form of a policy's every: one interval for
	// the whole incident, with no long-incident phase. 0 (the default):
	// the policy's. Kept so that a file written before the policy still
	// means what it said.
	SEV1 time.Duration `yaml:"sev1"`
	SEV2 time.Duration `yaml:"sev2"`
	SEV3 time.Duration `yaml:"sev3"`
	SEV4 time.Duration `yaml:"sev4"`
	// Policy is the communication policy per severity (docs/policy.md).
	Policy CommsPolicy `yaml:"policy"`
	// ReminderBefore: the comms lead is reminded this long before an update is due.
	ReminderBefore time.Duration `yaml:"reminder_before"`
	// OverdueAfter: grace after the due time before the escalation goes out.
	OverdueAfter time.Duration `yaml:"overdue_after"`
	// Backup is the address escalated to, beside the incident lead, when an update is overdue.
	Backup string `yaml:"backup"`
	// QuestionWindow: stakeholders' questions reach the comms lead at most
	// once per window; the first after a quiet spell at once, those that
	// follow together when the window ends. 0 forwards each at once.
	QuestionWindow time.Duration `yaml:"question_window"`
}

// Escalation configures who an overdue update escalates to beyond the
// incident's own people.
type Escalation struct {
	// FallbackGroup is a group of the directory escalated to when an overdue
	// update would otherwise reach nobody but the comms lead who missed it
	// (no incident lead, no cadence.backup). Checked against the directory
	// at start.
	FallbackGroup string `yaml:"fallback_group"`
}

type Templates struct {
	// Dir overrides any email template by file name.
	Dir string `yaml:"dir"`
}

type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text or json
}

// Secret is a value that never prints. In YAML it is either a string or
// {file: path} / {env: NAME}.
type Secret string

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// GoString keeps %#v from leaking it too.
func (s Secret) GoString() string { return s.String() }

// MarshalYAML keeps secrets out of dumped configuration.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// secretProblem marks a Secret whose file or variable could not be read;
// the rest is the problem, reported by secretProblems.
const secretProblem = "\x00secret problem: "

// secretProblems walks the struct by yaml tags and reports every Secret
// that could not be read, by key.
func secretProblems(v reflect.Value, prefix string) []string {
	var problems []string
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
		if tag == "" || tag == "-" {
			continue
		}
		f := v.Field(i)
		switch {
		case f.Type() == reflect.TypeOf(Secret("")):
			if msg, ok := strings.CutPrefix(f.String(), secretProblem); ok {
				problems = append(problems, prefix+tag+": "+msg)
			}
		case f.Kind() == reflect.Struct:
			problems = append(problems, secretProblems(f, prefix+tag+".")...)
		}
	}
	return problems
}

// Value returns the secret itself; call it only where the secret is used.
func (s Secret) Value() string { return string(s) }

func (s *Secret) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*s = Secret(n.Value)
		return nil
	}
	var ref struct {
		File string `yaml:"file"`
		Env  string `yaml:"env"`
	}
	if err := n.Decode(&ref); err != nil {
		return err
	}
	// A file or variable that is missing is kept as a problem for
	// validation, which names the key (mail.dkim.private_key: ...); an
	// error here would name only the line.
	switch {
	case ref.File != "":
		b, err := os.ReadFile(ref.File)
		if err != nil {
			*s = Secret(secretProblem + "secret file: " + err.Error())
			return nil
		}
		*s = Secret(strings.TrimSpace(string(b)))
	case ref.Env != "":
		v, ok := os.LookupEnv(ref.Env)
		if !ok {
			*s = Secret(secretProblem + "environment variable " + ref.Env + " is not set")
			return nil
		}
		*s = Secret(v)
	default:
		return errors.New("secret: want a string, {file: PATH} or {env: NAME}")
	}
	return nil
}

// Default is the embedded default: SQLite under ./sitrep-data, the mail
// sandbox, the example organisation.
func Default() Config {
	return Config{
		DataDir: "sitrep-data",
		Server:  Server{Listen: "127.0.0.1:8080", MaxBodyBytes: 1 << 20},
		Mail: Mail{
			Domain:         "sitrep.example",
			From:           "sitrep <status@sitrep.example>",
			ReplyLocalPart: "status",
			SMTP: SMTP{Port: 587, TLS: "starttls", Concurrency: 4, BatchSize: 50, Timeout: 60 * time.Second, MaxIdle: 30 * time.Second,
				ClaimLease: 2 * time.Minute, MaxAttempts: 12},
			IMAP: IMAP{Port: 993, TLS: "tls", Mailbox: "INBOX", MaxMessageBytes: 10 << 20,
				Horizon: 7 * 24 * time.Hour, TrustedAuthServIDs: []string{"sitrep-sandbox"},
				Limits: MIMELimits{MaxDepth: 20, MaxNestingWork: 1 << 16, MaxParts: 1000, MaxHeaderFields: 1000,
					MaxHeaderBytes: 256 << 10, MaxDecodedBytes: 64 << 20},
				ActAttempts: 3},
			Sandbox: Sandbox{SMTPListen: "127.0.0.1:2525", IMAPListen: "127.0.0.1:1143", Password: "sandbox"},
		},
		Cadence: Cadence{Policy: DefaultPolicy(),
			ReminderBefore: 10 * time.Minute, OverdueAfter: 5 * time.Minute, QuestionWindow: 2 * time.Minute},
		Resolution: Resolution{WriteUpAfter: 48 * time.Hour},
		Intake:     Intake{DefaultSeverity: "SEV2"},
		Chat:       Chat{Interval: 2 * time.Second, IRC: ChatIRC{Nick: "sitrep"}},
		Backlog: Backlog{PollEvery: 5 * time.Minute, CallTimeout: 30 * time.Second, GitHub: BacklogGitHub{Labels: []string{"post-mortem"}},
			Jira: BacklogJira{IssueType: "Task", Labels: []string{"post-mortem"}}},
		Postmortem: Postmortem{Backend: "imip", AnswersEvery: 5 * time.Minute, Duration: time.Hour, MinBusinessDays: 1, MaxBusinessDays: 2, WorkStart: "09:00", WorkEnd: "17:00",
			TimelineBefore: 24 * time.Hour, RemindBefore: 48 * time.Hour, Google: Google{CalendarID: "primary"}},
		Changes:     Changes{Window: 24 * time.Hour},
		Maintenance: Maintenance{AnnounceBefore: 24 * time.Hour, Announce: "auto", Alerts: "mark"},
		Auth: Auth{OIDC: OIDC{ButtonLabel: "Sign in with single sign-on", NewAccountRole: "viewer",
			Scopes: []string{"openid", "email", "profile"}}},
		Doctor: Doctor{ProbeTimeout: 60 * time.Second},
		Jobs:   Jobs{CheckInterval: 15 * time.Second, RescueAfter: 5 * time.Minute},
		Log:    Log{Level: "info", Format: "text"},

		Subscriptions: Subscriptions{ConfirmFor: 48 * time.Hour, ConfirmationsPerDay: 3},

		StatusPage: StatusPage{Public: PublicStatusPage{Listen: "127.0.0.1:8081", Title: "Service status"}},
	}
}

// DKIMDomain is the signing domain: mail.dkim.domain, else the From
// address's domain (DMARC alignment wants them related).
func (c *Config) DKIMDomain() string {
	if c.Mail.DKIM.Domain != "" {
		return strings.ToLower(c.Mail.DKIM.Domain)
	}
	if a, err := mail.ParseAddress(c.Mail.From); err == nil {
		if at := strings.LastIndexByte(a.Address, '@'); at >= 0 {
			return strings.ToLower(a.Address[at+1:])
		}
	}
	return strings.ToLower(c.Mail.Domain)
}

// ParseDKIMKey reads a PEM private key for DKIM signing: PKCS #8 (RSA or
// Ed25519) or PKCS #1 RSA. RSA keys under 2048 bits are refused (RFC 8301
// 3.2: verifiers must not accept keys under 1024 bits, and 2048 is what
// Gmail and Outlook expect).
func ParseDKIMKey(pemText string) (crypto.Signer, error) {
	if strings.TrimSpace(pemText) == "" {
		return nil, errors.New("required with mail.dkim.selector (a PEM private key, e.g. {file: /etc/sitrep/dkim.pem})")
	}
	key, err := pemkey.Private([]byte(pemText))
	if err != nil {
		return nil, err
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < 2048 {
			return nil, fmt.Errorf("an RSA key of %d bits is too short; make one of 2048 bits", k.N.BitLen())
		}
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	}
	return nil, fmt.Errorf("a %T key cannot sign DKIM; want RSA or Ed25519 (RFC 8463)", key)
}

// SandboxEnabled reports whether sitrep runs its own mail sandbox: when no
// SMTP server is configured.
func (c *Config) SandboxEnabled() bool { return c.Mail.SMTP.Host == "" }

// DatabaseURL is the configured URL, or the SQLite file in DataDir.
func (c *Config) DatabaseURL() string {
	if c.Database.URL != "" {
		return c.Database.URL
	}
	return "sqlite://" + strings.TrimSuffix(c.DataDir, "/") + "/sitrep.db"
}

// CadenceFor is the interval between updates a severity's policy asks
// for at the start of an incident (its every).
func (c *Config) CadenceFor(severity string) time.Duration {
	return c.PolicyFor(severity).Every
}

// Load reads the file (if path is not empty) over the defaults, then the
// SITREP_* environment, then validates. All problems come back together.
func Load(path string, environ []string) (Config, error) {
	cfg := Default()
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("config: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
			return cfg, &Problems{List: []string{fmt.Sprintf("%s: %v", path, err)}}
		}
	}
	var problems []string
	problems = append(problems, applyEnv(reflect.ValueOf(&cfg).Elem(), "SITREP", envMap(environ))...)
	if unread := secretProblems(reflect.ValueOf(&cfg).Elem(), ""); len(unread) > 0 {
		// Validating a secret that could not be read would only repeat it.
		sort.Strings(unread)
		return cfg, &Problems{List: append(problems, unread...)}
	}
	problems = append(problems, cfg.validate()...)
	if len(problems) > 0 {
		return cfg, &Problems{List: problems}
	}
	return cfg, nil
}

// jiraProjectKey and linearTeamKey are what a Jira project's key and a
// Linear team's key look like.
var (
	jiraProjectKey = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,254}$`)
	linearTeamKey  = regexp.MustCompile(`^[A-Z0-9_]{1,10}$`)
)

// Problems is every configuration problem found, each naming its key.
type Problems struct{ List []string }

func (p *Problems) Error() string {
	return "invalid configuration:\n  " + strings.Join(p.List, "\n  ")
}

func envMap(environ []string) map[string]string {
	m := make(map[string]string)
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "SITREP_") {
			m[k] = v
		}
	}
	return m
}

var durationType = reflect.TypeOf(time.Duration(0))

// groupName is the shape of a group name in groups.yaml (the directory's
// slug); whether the group exists is checked against the directory at start.
var groupName = regexp.MustCompile(`^[a-z0-9]+(?:-[a-z0-9]+)*$`)

// applyEnv walks the struct by yaml tags and sets every field whose
// environment variable is present.
func applyEnv(v reflect.Value, prefix string, env map[string]string) []string {
	var problems []string
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
		if tag == "" || tag == "-" {
			continue
		}
		name := prefix + "_" + strings.ToUpper(tag)
		f := v.Field(i)
		if f.Kind() == reflect.Struct {
			problems = append(problems, applyEnv(f, name, env)...)
			continue
		}
		raw, ok := env[name]
		if !ok {
			continue
		}
		if err := setFromString(f, raw); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", name, err))
		}
	}
	return problems
}

func setFromString(f reflect.Value, raw string) error {
	switch {
	case f.Type() == durationType:
		d, err := time.ParseDuration(raw)
		if err != nil {
			return fmt.Errorf("want a duration like 30m: %w", err)
		}
		f.SetInt(int64(d))
	case f.Kind() == reflect.String:
		f.SetString(raw)
	case f.Kind() == reflect.Int || f.Kind() == reflect.Int64:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return fmt.Errorf("want an integer")
		}
		f.SetInt(n)
	case f.Kind() == reflect.Float64:
		n, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return fmt.Errorf("want a number")
		}
		f.SetFloat(n)
	case f.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return fmt.Errorf("want true or false")
		}
		f.SetBool(b)
	case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.String:
		var parts []string
		for _, p := range strings.Split(raw, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		f.Set(reflect.ValueOf(parts))
	default:
		return fmt.Errorf("cannot be set from the environment")
	}
	return nil
}

func (c *Config) validate() []string {
	var p []string
	bad := func(key, format string, args ...any) { p = append(p, key+": "+fmt.Sprintf(format, args...)) }
	if _, _, err := net.SplitHostPort(c.Server.Listen); err != nil {
		bad("server.listen", "want host:port, got %q", c.Server.Listen)
	}
	if c.Server.MaxBodyBytes <= 0 {
		bad("server.max_body_bytes", "must be positive")
	}
	if u := c.Database.URL; u != "" && !strings.HasPrefix(u, "sqlite://") && !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
		bad("database.url", "want sqlite://PATH or postgres://..., got %q", u)
	}
	if c.Database.URL == "" && c.DataDir == "" {
		bad("data_dir", "must be set when database.url is empty")
	}
	if c.Mail.Domain == "" || strings.ContainsAny(c.Mail.Domain, " @<>") {
		bad("mail.domain", "want a domain like example.com, got %q", c.Mail.Domain)
	}
	if _, err := mail.ParseAddress(c.Mail.From); err != nil {
		bad("mail.from", "want an address like \"sitrep <status@example.com>\": %v", err)
	}
	if c.Mail.ReplyLocalPart == "" || strings.ContainsAny(c.Mail.ReplyLocalPart, " @+<>") {
		bad("mail.reply_local_part", "want a plain local part like status, got %q", c.Mail.ReplyLocalPart)
	}
	s := c.Mail.SMTP
	if s.Host != "" {
		if s.Port <= 0 || s.Port > 65535 {
			bad("mail.smtp.port", "want 1-65535, got %d", s.Port)
		}
		if s.Username != "" && s.Password == "" && c.Mail.SMTPAuth() == MailAuthPassword {
			bad("mail.smtp.password", "required when mail.smtp.username is set")
		}
		if c.Mail.SMTPAuth() == MailAuthOAuth2 && s.Username == "" {
			bad("mail.smtp.username", "required with OAuth2: the mailbox sitrep signs in as")
		}
	}
	if s.TLS != "starttls" && s.TLS != "tls" && s.TLS != "none" {
		bad("mail.smtp.tls", "want starttls, tls or none, got %q", s.TLS)
	}
	if s.Concurrency < 1 || s.Concurrency > 64 {
		bad("mail.smtp.concurrency", "want 1-64, got %d", s.Concurrency)
	}
	if s.BatchSize < 1 || s.BatchSize > 1000 {
		bad("mail.smtp.batch_size", "want 1-1000, got %d", s.BatchSize)
	}
	if s.Timeout < time.Second {
		bad("mail.smtp.timeout", "want at least 1s, got %s", s.Timeout)
	}
	if s.MaxIdle < time.Second {
		bad("mail.smtp.max_idle", "want at least 1s (and below the server's idle timeout: Postfix's smtpd_timeout is 300s), got %s", s.MaxIdle)
	}
	if s.ClaimLease < time.Second {
		bad("mail.smtp.claim_lease", "want at least 1s, got %s", s.ClaimLease)
	}
	if s.MaxAttempts < 1 {
		bad("mail.smtp.max_attempts", "want at least 1, got %d", s.MaxAttempts)
	}
	if (c.Jobs.PollInterval != 0 && c.Jobs.PollInterval < 10*time.Millisecond) || c.Jobs.CheckInterval < 100*time.Millisecond || c.Jobs.RescueAfter < 10*time.Second {
		bad("jobs", "poll_interval ≥ 10ms (or 0: the database's default), check_interval ≥ 100ms and rescue_after ≥ 10s")
	}
	if s.RatePerSecond < 0 {
		bad("mail.smtp.rate_per_second", "must not be negative")
	}
	i := c.Mail.IMAP
	if i.Host != "" {
		if i.Port <= 0 || i.Port > 65535 {
			bad("mail.imap.port", "want 1-65535, got %d", i.Port)
		}
		if i.Username == "" {
			bad("mail.imap.username", "required when mail.imap.host is set")
		}
	}
	p = append(p, c.validateMailOAuth()...)
	if i.TLS != "tls" && i.TLS != "starttls" && i.TLS != "none" {
		bad("mail.imap.tls", "want tls, starttls or none, got %q", i.TLS)
	}
	if i.Mailbox == "" {
		bad("mail.imap.mailbox", "must not be empty")
	}
	if i.MaxMessageBytes < 1024 {
		bad("mail.imap.max_message_bytes", "want at least 1024, got %d", i.MaxMessageBytes)
	}
	for _, id := range i.TrustedAuthServIDs {
		// An id that Authentication-Results cannot carry would never match:
		// say so now rather than refuse every lead's command later.
		if h, err := authres.Parse(id + "; none"); err != nil || !authres.EqualID(h.AuthServID, id) {
			bad("mail.imap.trusted_authserv_ids", "%q is not an authserv-id (a host name such as mx.example.com, as your receiving server writes it in Authentication-Results)", id)
		}
	}
	for key, v := range map[string]int64{"max_depth": int64(i.Limits.MaxDepth), "max_nesting_work": i.Limits.MaxNestingWork,
		"max_parts": int64(i.Limits.MaxParts), "max_header_fields": int64(i.Limits.MaxHeaderFields),
		"max_header_bytes": int64(i.Limits.MaxHeaderBytes), "max_decoded_bytes": i.Limits.MaxDecodedBytes} {
		if v < 1 {
			bad("mail.imap.limits."+key, "want at least 1, got %d", v)
		}
	}
	if jobTimeout := c.Jobs.RescueAfter - c.Jobs.RescueAfter/10; i.ActTimeout != 0 && (i.ActTimeout < time.Second || i.ActTimeout >= jobTimeout) {
		bad("mail.imap.act_timeout", "want 0 (automatic), or at least 1s and below 9/10 of jobs.rescue_after (%s), got %s", jobTimeout, i.ActTimeout)
	}
	if i.ActAttempts < 1 {
		bad("mail.imap.act_attempts", "want at least 1, got %d", i.ActAttempts)
	}
	if c.SandboxEnabled() {
		for key, addr := range map[string]string{"mail.sandbox.smtp_listen": c.Mail.Sandbox.SMTPListen, "mail.sandbox.imap_listen": c.Mail.Sandbox.IMAPListen} {
			if _, _, err := net.SplitHostPort(addr); err != nil {
				bad(key, "want host:port, got %q", addr)
			}
		}
	}
	p = append(p, c.Cadence.validatePolicy()...)
	if c.Cadence.ReminderBefore < 0 {
		bad("cadence.reminder_before", "must not be negative")
	}
	if c.Cadence.QuestionWindow < 0 || c.Cadence.QuestionWindow > time.Hour {
		bad("cadence.question_window", "want 0 (forward each question at once) up to 1h, got %s", c.Cadence.QuestionWindow)
	}
	if c.Cadence.OverdueAfter < 0 {
		bad("cadence.overdue_after", "must not be negative")
	}
	if d := c.Subscriptions.ConfirmFor; d < 10*time.Minute || d > 30*24*time.Hour {
		bad("subscriptions.confirm_for", "want between 10m and 720h, got %s", d)
	}
	if n := c.Subscriptions.ConfirmationsPerDay; n < 1 || n > 100 {
		bad("subscriptions.confirmations_per_day", "want 1 to 100, got %d", n)
	}
	for _, d := range c.Subscriptions.AllowedDomains {
		d = strings.TrimPrefix(strings.TrimSpace(d), "@")
		if d == "" || strings.ContainsAny(d, "@ /") || !strings.Contains(d, ".") {
			bad("subscriptions.allowed_domains", "%q is not a domain (partner.example)", d)
		}
	}
	if c.Resolution.WriteUpAfter < time.Hour {
		bad("resolution.write_up_after", "want at least 1h, got %s", c.Resolution.WriteUpAfter)
	}
	for i, e := range c.Resolution.Confirmers {
		if _, err := mail.ParseAddress(e); err != nil {
			bad(fmt.Sprintf("resolution.confirmers[%d]", i), "want an email address: %v", err)
		}
	}
	if c.Changes.Window < time.Hour || c.Changes.Window > 31*24*time.Hour {
		bad("changes.window", "want 1h to 744h, got %s", c.Changes.Window)
	}
	if v := c.Changes.MaintenanceICS; strings.Contains(v, "://") && !strings.HasPrefix(v, "http://") && !strings.HasPrefix(v, "https://") {
		bad("changes.maintenance_ics", "want a file path or an http(s) URL, got %q", v)
	}
	if d := c.Changes.MaintenanceCalDAV; d.URL != "" {
		if !strings.HasPrefix(d.URL, "http://") && !strings.HasPrefix(d.URL, "https://") {
			bad("changes.maintenance_caldav.url", "want an http(s) URL, got %q", d.URL)
		}
		if d.CalendarPath != "" && !strings.HasPrefix(d.CalendarPath, "/") && !strings.Contains(d.CalendarPath, "://") {
			bad("changes.maintenance_caldav.calendar_path", "want a path starting with /, got %q", d.CalendarPath)
		}
	}
	if g := c.Changes.MaintenanceGoogle; g.CalendarID != "" {
		if cmp.Or(g.CredentialsFile, c.Postmortem.Google.CredentialsFile) == "" {
			bad("changes.maintenance_google.credentials_file", "a Google maintenance calendar needs a service account key (here or in postmortem.google.credentials_file)")
		}
		if subject := cmp.Or(g.Subject, c.Postmortem.Google.Organizer); subject == "" {
			bad("changes.maintenance_google.subject", "name the user whose access reads the calendar (here or in postmortem.google.organizer)")
		} else if _, err := mail.ParseAddress(subject); err != nil {
			bad("changes.maintenance_google.subject", "want an email address: %v", err)
		}
	}
	if m := c.Maintenance; m.AnnounceBefore < 0 || m.AnnounceBefore > 31*24*time.Hour {
		bad("maintenance.announce_before", "want 0 to 744h, got %s", m.AnnounceBefore)
	}
	if m := c.Maintenance.Announce; m != "auto" && m != "manual" {
		bad("maintenance.announce", "want auto or manual, got %q", m)
	}
	if m := c.Maintenance.Alerts; m != "mark" && m != "suppress" {
		bad("maintenance.alerts", "want mark or suppress, got %q", m)
	}
	if g := c.Escalation.FallbackGroup; g != "" && !groupName.MatchString(g) {
		bad("escalation.fallback_group", "want a group name of groups.yaml (lower-case letters, digits, hyphens), got %q", g)
	}
	if c.Cadence.Backup != "" {
		if _, err := mail.ParseAddress(c.Cadence.Backup); err != nil {
			bad("cadence.backup", "want an email address: %v", err)
		}
	}
	for i, v := range c.Server.TrustedProxies {
		if _, err := parsePrefix(v); err != nil {
			bad(fmt.Sprintf("server.trusted_proxies[%d]", i), "want a CIDR like 10.0.0.0/8 or an address, got %q", v)
		}
	}
	if d := c.Mail.DKIM; d.Enabled() || d.PrivateKey != "" || d.Domain != "" {
		if !d.Enabled() {
			bad("mail.dkim.selector", "required with mail.dkim.private_key or mail.dkim.domain")
		} else if strings.ContainsAny(d.Selector, " ;=@") {
			bad("mail.dkim.selector", "want a DNS label like sitrep2026, got %q", d.Selector)
		}
		if strings.ContainsAny(d.Domain, " @<>;") {
			bad("mail.dkim.domain", "want a domain like example.com, got %q", d.Domain)
		}
		if _, err := ParseDKIMKey(d.PrivateKey.Value()); err != nil {
			bad("mail.dkim.private_key", "%v", err)
		}
	}
	if c.Doctor.Resolver != "" {
		if _, _, err := net.SplitHostPort(c.Doctor.Resolver); err != nil {
			bad("doctor.resolver", "want host:port of a DNS server, like 127.0.0.1:53, got %q", c.Doctor.Resolver)
		}
	}
	if c.Doctor.ProbeTimeout < time.Second || c.Doctor.ProbeTimeout > 30*time.Minute {
		bad("doctor.probe_timeout", "want 1s to 30m, got %s", c.Doctor.ProbeTimeout)
	}
	p = append(p, c.Postmortem.validate()...)
	p = append(p, c.validateOIDC()...)
	p = append(p, c.validateStatusPage()...)
	for i, e := range c.Intake.Notify {
		if _, err := mail.ParseAddress(e); err != nil {
			bad(fmt.Sprintf("intake.notify[%d]", i), "want an email address: %v", err)
		}
	}
	switch c.Intake.DefaultSeverity {
	case "SEV1", "SEV2", "SEV3", "SEV4":
	default:
		bad("intake.default_severity", "want SEV1, SEV2, SEV3 or SEV4, got %q", c.Intake.DefaultSeverity)
	}
	if u := c.Chat.Slack.WebhookURL.Value(); u != "" && !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
		bad("chat.slack.webhook_url", "want the incoming webhook's https URL")
	}
	if sl := c.Chat.Slack; sl.Token != "" || sl.Channel != "" {
		switch {
		case sl.Token == "" || sl.Channel == "":
			bad("chat.slack", "token and channel go together (Web API mode: a bot token xoxb-... and the channel's ID)")
		case sl.WebhookURL != "":
			bad("chat.slack", "give token and channel (Web API mode, one thread per incident) or webhook_url, not both")
		case !strings.HasPrefix(sl.Channel, "C") && !strings.HasPrefix(sl.Channel, "G"):
			bad("chat.slack.channel", "want the channel's ID (C0123456789: channel details → About, at the bottom), not its name %q", sl.Channel)
		}
		if sl.APIURL != "" && !strings.HasPrefix(sl.APIURL, "https://") && !strings.HasPrefix(sl.APIURL, "http://") {
			bad("chat.slack.api_url", "want an http(s) URL, got %q", sl.APIURL)
		}
	}
	if u := c.Chat.Teams.WebhookURL.Value(); u != "" && !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
		bad("chat.teams.webhook_url", "want the Workflows webhook's https URL (docs/chat.md)")
	}
	if irc := c.Chat.IRC; irc.Server != "" {
		if _, port, err := net.SplitHostPort(irc.Server); err != nil || port == "" {
			bad("chat.irc.server", "want host:port (6697 with tls, 6667 without), got %q", irc.Server)
		}
		if !strings.HasPrefix(irc.Channel, "#") && !strings.HasPrefix(irc.Channel, "&") {
			bad("chat.irc.channel", "want a channel like #incidents, got %q", irc.Channel)
		}
	}
	if c.Chat.Interval < 100*time.Millisecond || c.Chat.Interval > time.Minute {
		bad("chat.interval", "want 100ms to 1m, got %s", c.Chat.Interval)
	}
	switch b := c.Backlog; b.Tracker {
	case "":
	case "github":
		if b.GitHub.Owner == "" || b.GitHub.Repo == "" || b.GitHub.Token == "" {
			bad("backlog.github", "owner, repo and token are required with backlog.tracker: github")
		}
		if u := b.GitHub.APIURL; u != "" && !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
			bad("backlog.github.api_url", "want an http(s) URL, got %q", u)
		}
	case "jira":
		j := b.Jira
		if j.BaseURL == "" || j.Email == "" || j.APIToken == "" || j.Project == "" {
			bad("backlog.jira", "base_url, email, api_token and project are required with backlog.tracker: jira (docs/backlog.md, Jira Cloud)")
		}
		if u := j.BaseURL; u != "" && (!strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") || strings.Contains(strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://"), "/rest/")) {
			bad("backlog.jira.base_url", "want the site's address, like https://your-domain.atlassian.net (without /rest/api/3), got %q", u)
		}
		if j.Email != "" && !strings.Contains(j.Email, "@") {
			bad("backlog.jira.email", "want the Atlassian account's email address (the API token's owner), got %q", j.Email)
		}
		if p := j.Project; p != "" && !jiraProjectKey.MatchString(p) {
			bad("backlog.jira.project", "want the project's key, like OPS in OPS-42 (capitals, digits, _), got %q", p)
		}
		if strings.TrimSpace(j.IssueType) == "" {
			bad("backlog.jira.issue_type", "want an issue type of the project, like Task")
		}
		for _, l := range j.Labels {
			if l == "" || strings.ContainsAny(l, " \t\n") {
				bad("backlog.jira.labels", "a Jira label takes no spaces: %q (use post-mortem, not \"post mortem\")", l)
			}
		}
	case "linear":
		l := b.Linear
		if l.APIKey == "" || l.Team == "" {
			bad("backlog.linear", "api_key and team are required with backlog.tracker: linear (docs/backlog.md, Linear)")
		}
		if t := l.Team; t != "" && !linearTeamKey.MatchString(t) {
			bad("backlog.linear.team", "want the team's key, like ENG in ENG-123 (not its name or id), got %q", t)
		}
		if u := l.APIURL; u != "" && !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
			bad("backlog.linear.api_url", "want an http(s) URL, got %q", u)
		}
	default:
		bad("backlog.tracker", "want github, jira or linear (or nothing: off), got %q", b.Tracker)
	}
	if c.Backlog.PollEvery < 30*time.Second || c.Backlog.PollEvery > 24*time.Hour {
		bad("backlog.poll_every", "want 30s to 24h, got %s", c.Backlog.PollEvery)
	}
	if c.Backlog.CallTimeout < 5*time.Second || c.Backlog.CallTimeout > 5*time.Minute {
		bad("backlog.call_timeout", "want 5s to 5m, got %s", c.Backlog.CallTimeout)
	}
	if v := c.Bridge.VideoURL; v != "" && !strings.HasPrefix(v, "https://") && !strings.HasPrefix(v, "http://") {
		bad("bridge.video_url", "want an http(s) URL, got %q", v)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "want debug, info, warn or error, got %q", c.Log.Level)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		bad("log.format", "want text or json, got %q", c.Log.Format)
	}
	sort.Strings(p)
	return p
}

func (pm *Postmortem) validate() []string {
	var p []string
	bad := func(key, format string, args ...any) {
		p = append(p, "postmortem."+key+": "+fmt.Sprintf(format, args...))
	}
	switch pm.Backend {
	case "imip":
	case "caldav":
		if pm.CalDAV.URL == "" || pm.CalDAV.Username == "" || pm.CalDAV.Calendar == "" {
			bad("caldav", "url, username and calendar are required with backend caldav")
		}
	case "google":
		if pm.Google.CredentialsFile == "" || pm.Google.Organizer == "" {
			bad("google", "credentials_file and organizer are required with backend google")
		}
	case "microsoft365":
		m := pm.Microsoft365
		if m.Tenant == "" || m.ClientID == "" || m.Organizer == "" {
			bad("microsoft365", "tenant, client_id and organizer are required with backend microsoft365 (docs/microsoft-365-calendar.md)")
		}
		if (m.ClientSecret == "") == (m.Certificate == "") {
			bad("microsoft365", "give client_secret, or certificate and private_key (one of the two)")
		}
		if m.Certificate != "" && m.PrivateKey == "" {
			bad("microsoft365.private_key", "required with certificate")
		}
		for _, u := range []struct{ key, v string }{{"graph_url", m.GraphURL}, {"token_url", m.TokenURL}} {
			if u.v != "" && !strings.HasPrefix(u.v, "https://") && !strings.HasPrefix(u.v, "http://") {
				bad("microsoft365."+u.key, "want an http(s) URL, got %q", u.v)
			}
		}
	default:
		bad("backend", "want imip, caldav, google or microsoft365, got %q", pm.Backend)
	}
	if pm.AnswersEvery != 0 && pm.AnswersEvery < time.Minute {
		bad("answers_every", "want at least 1m (each read is a call to the calendar per booked post-mortem), got %s", pm.AnswersEvery)
	}
	if pm.Duration < 15*time.Minute || pm.Duration > 8*time.Hour {
		bad("duration", "want 15m to 8h, got %s", pm.Duration)
	}
	if pm.MinBusinessDays < 0 || pm.MaxBusinessDays < pm.MinBusinessDays || pm.MaxBusinessDays > 30 {
		bad("max_business_days", "want 0 ≤ min_business_days ≤ max_business_days ≤ 30")
	}
	start, err1 := time.Parse("15:04", pm.WorkStart)
	end, err2 := time.Parse("15:04", pm.WorkEnd)
	switch {
	case err1 != nil:
		bad("work_start", "want HH:MM, got %q", pm.WorkStart)
	case err2 != nil:
		bad("work_end", "want HH:MM, got %q", pm.WorkEnd)
	case end.Sub(start) < pm.Duration:
		bad("work_end", "working hours %s–%s are shorter than the meeting", pm.WorkStart, pm.WorkEnd)
	}
	for i, h := range pm.Holidays {
		if _, err := time.Parse(time.DateOnly, h); err != nil {
			bad(fmt.Sprintf("holidays[%d]", i), "want YYYY-MM-DD, got %q", h)
		}
	}
	if pm.Facilitator != "" {
		if _, err := mail.ParseAddress(pm.Facilitator); err != nil {
			bad("facilitator", "want an email address: %v", err)
		}
	}
	for i, r := range pm.Rooms {
		if r.Name == "" || r.Capacity < 1 {
			bad(fmt.Sprintf("rooms[%d]", i), "a room needs a name and a capacity of at least 1")
		}
		if r.Email != "" {
			if _, err := mail.ParseAddress(r.Email); err != nil {
				bad(fmt.Sprintf("rooms[%d].email", i), "want an email address: %v", err)
			}
		}
	}
	if pm.TimelineBefore < 0 || pm.RemindBefore < 0 {
		bad("timeline_before", "timeline_before and remind_before must not be negative")
	}
	if u := pm.WebhookURL; u != "" && !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
		bad("webhook_url", "want an http(s) URL, got %q", u)
	}
	if pm.WebhookURL != "" && pm.WebhookSecret == "" {
		bad("webhook_secret", "required with webhook_url: the receiver checks the signature")
	}
	return p
}

// validateStatusPage checks status_page: the open networks always, the
// public page when it is on.
func (c *Config) validateStatusPage() []string {
	var p []string
	bad := func(key, format string, args ...any) {
		p = append(p, "status_page."+key+": "+fmt.Sprintf(format, args...))
	}
	for i, v := range c.StatusPage.OpenTo {
		if _, err := parsePrefix(v); err != nil {
			bad(fmt.Sprintf("open_to[%d]", i), "want a CIDR like 10.0.0.0/8 or an address, got %q", v)
		}
	}
	pub := c.StatusPage.Public
	if !pub.Enabled {
		return p
	}
	if pub.Listen != "" {
		if _, _, err := net.SplitHostPort(pub.Listen); err != nil {
			bad("public.listen", "want host:port (or empty: export only), got %q", pub.Listen)
		} else if pub.Listen == c.Server.Listen {
			bad("public.listen", "is server.listen (%s): the public page needs a listener of its own, apart from the web UI", pub.Listen)
		}
	}
	if u := pub.URL; u != "" {
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" {
			bad("public.url", "want an http(s) URL like https://status.example.com, got %q", u)
		}
	}
	if strings.TrimSpace(pub.Title) == "" || len(pub.Title) > 200 || strings.ContainsAny(pub.Title, "\r\n") {
		bad("public.title", "want one line of at most 200 characters")
	}
	if pub.Subscriptions && (pub.Listen == "" || pub.URL == "") {
		bad("public.subscriptions", "needs public.listen and public.url: the confirmation and unsubscribe links in customers' emails point at the public page")
	}
	seen := map[string]bool{}
	for i, comp := range pub.Components {
		key := fmt.Sprintf("public.components[%d]", i)
		name := strings.TrimSpace(comp.Name)
		switch {
		case name == "" || len(name) > 100 || strings.ContainsAny(name, "\r\n"):
			bad(key+".name", "want one line of at most 100 characters")
		case seen[strings.ToLower(name)]:
			bad(key+".name", "%q is named twice", name)
		}
		seen[strings.ToLower(name)] = true
		if len(comp.Systems) == 0 {
			bad(key+".systems", "name the systems (escalation lists of groups.yaml) that %q stands for", name)
		}
	}
	return p
}

// validateOIDC checks auth.oidc: nothing when it is off (but a half-filled
// section says what is missing), the required keys together when it is on.
func (c *Config) validateOIDC() []string {
	var p []string
	bad := func(key, format string, args ...any) {
		p = append(p, "auth.oidc."+key+": "+fmt.Sprintf(format, args...))
	}
	o := c.Auth.OIDC
	if !o.Enabled() {
		if o.ClientID != "" || o.ClientSecret != "" || o.RedirectURL != "" {
			bad("issuer", "required with client_id, client_secret and redirect_url (https://accounts.google.com for Google)")
		}
		return p
	}
	if u, err := url.Parse(o.Issuer); err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		bad("issuer", "want the provider's issuer URL, like https://accounts.google.com, got %q", o.Issuer)
	} else if !secureOrLoopback(u) {
		bad("issuer", "want https (http only to a loopback address, for tests), got %q", o.Issuer)
	}
	if o.ClientID == "" {
		bad("client_id", "required with issuer")
	}
	if o.ClientSecret == "" {
		bad("client_secret", "required with issuer")
	}
	switch redirect := c.OIDCRedirectURL(); {
	case redirect == "":
		bad("redirect_url", "required when server.public_url is empty (the provider needs the callback's full URL)")
	default:
		if u, err := url.Parse(redirect); err != nil || u.Host == "" || !secureOrLoopback(u) {
			bad("redirect_url", "want an https URL ending in /login/oidc/callback (http only to a loopback address), got %q", redirect)
		} else if !strings.HasSuffix(u.Path, "/login/oidc/callback") {
			bad("redirect_url", "must end in /login/oidc/callback, got %q", redirect)
		}
	}
	if strings.ContainsAny(o.HostedDomain, " @/") {
		bad("hosted_domain", "want a domain like example.com, got %q", o.HostedDomain)
	}
	for i, d := range o.AllowedDomains {
		if d == "" || strings.ContainsAny(d, " @/") {
			bad(fmt.Sprintf("allowed_domains[%d]", i), "want a domain like example.com, got %q", d)
		}
	}
	if o.CreateAccounts && o.HostedDomain == "" && len(o.AllowedDomains) == 0 {
		bad("create_accounts", "needs hosted_domain or allowed_domains: otherwise anyone with an account at the provider gets one here")
	}
	switch o.NewAccountRole {
	case "viewer", "lead":
	default:
		bad("new_account_role", "want viewer or lead (admins are made on the accounts page), got %q", o.NewAccountRole)
	}
	if !slices.Contains(o.Scopes, "openid") || !slices.Contains(o.Scopes, "email") {
		bad("scopes", "must include openid and email, got %q", o.Scopes)
	}
	if strings.TrimSpace(o.ButtonLabel) == "" {
		bad("button_label", "must not be empty")
	}
	return p
}

// secureOrLoopback: an https URL, or http to a loopback host (a test's fake provider).
func secureOrLoopback(u *url.URL) bool {
	switch u.Scheme {
	case "https":
		return true
	case "http":
		host := u.Hostname()
		if host == "localhost" {
			return true
		}
		a, err := netip.ParseAddr(host)
		return err == nil && a.IsLoopback()
	}
	return false
}

func (c *Config) validateMailOAuth() []string {
	var p []string
	bad := func(key, format string, args ...any) { p = append(p, key+": "+fmt.Sprintf(format, args...)) }
	m := &c.Mail
	o := m.OAuth
	for key, v := range map[string]string{"mail.smtp.auth": m.SMTP.Auth, "mail.imap.auth": m.IMAP.Auth} {
		if v != "" && v != MailAuthPassword && v != MailAuthOAuth2 {
			bad(key, "want password or oauth2, got %q", v)
		}
	}
	used := (m.SMTP.Host != "" && m.SMTPAuth() == MailAuthOAuth2) || (m.IMAP.Host != "" && m.IMAPAuth() == MailAuthOAuth2)
	if (m.SMTP.Auth == MailAuthOAuth2 || m.IMAP.Auth == MailAuthOAuth2) && o.Provider == "" {
		bad("mail.oauth.provider", "required when mail.smtp.auth or mail.imap.auth is oauth2: google, microsoft or oauth2")
	}
	if o.Provider == "" {
		return p
	}
	switch o.Provider {
	case "google", "microsoft", "oauth2":
	default:
		bad("mail.oauth.provider", "want google, microsoft or oauth2, got %q", o.Provider)
	}
	if o.Grant != "" && o.Grant != "client_credentials" && o.Grant != "refresh_token" {
		bad("mail.oauth.grant", "want client_credentials or refresh_token, got %q", o.Grant)
	}
	if o.Provider == "google" && o.Grant != "" {
		bad("mail.oauth.grant", "Google Workspace uses its service account (leave grant empty)")
	}
	if o.ClientAuth != "" && o.ClientAuth != "post" && o.ClientAuth != "basic" {
		bad("mail.oauth.client_auth", "want post or basic, got %q", o.ClientAuth)
	}
	if o.TokenURL != "" && !strings.HasPrefix(o.TokenURL, "https://") && !strings.HasPrefix(o.TokenURL, "http://") {
		bad("mail.oauth.token_url", "want an http(s) URL, got %q", o.TokenURL)
	}
	if !used {
		return p
	}
	if m.OAuthMailbox() == "" {
		bad("mail.oauth.mailbox", "the mailbox sitrep signs in as: set it or mail.imap.username")
	}
	switch o.Provider {
	case "google":
		if o.ServiceAccountKey == "" {
			bad("mail.oauth.service_account_key", "required for google: the service account's JSON key ({file: /path/key.json})")
		}
	case "microsoft":
		if o.Tenant == "" {
			bad("mail.oauth.tenant", "required for microsoft: the Directory (tenant) ID")
		}
		if o.ClientID == "" {
			bad("mail.oauth.client_id", "required for microsoft: the Application (client) ID")
		}
		if o.Grant == "refresh_token" {
			if o.RefreshToken == "" {
				bad("mail.oauth.refresh_token", "required with grant refresh_token")
			}
		} else if o.ClientSecret == "" && o.Certificate == "" {
			bad("mail.oauth.client_secret", "required for microsoft app-only access, or certificate and private_key")
		} else if o.Certificate != "" && o.PrivateKey == "" {
			bad("mail.oauth.private_key", "required with certificate")
		}
	case "oauth2":
		if o.TokenURL == "" {
			bad("mail.oauth.token_url", "required for oauth2")
		}
		if o.ClientID == "" {
			bad("mail.oauth.client_id", "required for oauth2")
		}
		if o.Grant == "refresh_token" && o.RefreshToken == "" {
			bad("mail.oauth.refresh_token", "required with grant refresh_token")
		}
		if o.Grant != "refresh_token" && o.ClientSecret == "" {
			bad("mail.oauth.client_secret", "required for the client credentials grant")
		}
	}
	return p
}
