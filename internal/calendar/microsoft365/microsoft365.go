// Package microsoft365 books post-mortems in Exchange Online through
// Microsoft Graph v1.0: events in one organizer mailbox (Exchange sends the
// invitations and Teams makes the meeting), free/busy of people and rooms
// from calendar: getSchedule, and rooms from the places API. It speaks
// plain HTTP with small typed structs; tokens come from a TokenSource
// (mailauth.Tokens with Entra ID client credentials and the scope
// https://graph.microsoft.com/.default).
//
// The app registration needs the application permissions Calendars.ReadWrite
// (events and free/busy) and Place.Read.All (rooms), with admin consent. An
// application access policy (New-ApplicationAccessPolicy) should confine it
// to the organizer mailbox; a mailbox outside the policy is answered 403,
// and the error says how to fix it.
//
// Wiring, with the app's client secret (or certificate):
//
//	f, err := mailauth.NewMicrosoft(mailauth.MicrosoftConfig{Tenant: tenant, ClientID: appID,
//		ClientSecret: secret, Scopes: []string{microsoft365.Scope}})
//	cal, err := microsoft365.New(microsoft365.Config{Organizer: "postmortems@example.com",
//		Tokens: mailauth.NewTokens(f, mailauth.TokensOptions{}), AppID: appID})
//	svc.Backend, svc.BackendName, svc.Rooms = cal, microsoft365.Backend, cal
//
// and cal.Verify(ctx) for sitrep doctor.
package microsoft365

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/calendar"
	"github.com/sitrep-dev/sitrep/internal/errs"
)

// Graph's root and the scope a client credentials token for it asks for.
const (
	DefaultBaseURL = "https://graph.microsoft.com/v1.0"
	Scope          = "https://graph.microsoft.com/.default"
	// Backend is the name in calendar.Booking.Backend.
	Backend = "microsoft365"
)

// The application permissions each call needs (Microsoft Graph permissions
// reference), named in errors.
const (
	permCalendars = "Calendars.ReadWrite"
	permPlaces    = "Place.Read.All"
)

// maxAnswer bounds how much of an answer is read: Graph's pages of rooms
// and events are far smaller.
const maxAnswer = 8 << 20

// TokenSource gives access tokens for Graph; mailauth.Tokens is one.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// Config configures the backend.
type Config struct {
	// BaseURL is Graph's root (config graph_url; default
	// https://graph.microsoft.com/v1.0; national clouds have their own,
	// e.g. https://graph.microsoft.us/v1.0).
	BaseURL string
	// Organizer is the mailbox that owns the events (a shared mailbox such
	// as postmortems@example.com); invitations come from it.
	Organizer string
	Tokens    TokenSource
	// HTTPClient makes the requests (default: a client with Timeout).
	HTTPClient *http.Client
	// Timeout bounds each request (default 30 seconds).
	Timeout time.Duration
	// RoomList, when set, limits the rooms to one room list (its address).
	RoomList string
	// RoomFeatures adds features to rooms by address ("Whiteboard"),
	// merged with the room's tags.
	RoomFeatures map[string][]string
	// TeamsMeeting makes every post-mortem a Teams meeting, as
	// calendar.Event.CreateMeet does for one.
	TeamsMeeting bool
	// CancelComment is the message sent with a cancellation (default
	// "This post-mortem has been cancelled.").
	CancelComment string
	// AppID is the app registration's Application (client) ID, named in
	// the commands an error asks an administrator to run.
	AppID  string
	Logger *slog.Logger
}

// Calendar is the Microsoft 365 backend.
type Calendar struct {
	base          *url.URL
	baseStr       string
	organizer     string
	tokens        TokenSource
	hc            *http.Client
	timeout       time.Duration
	roomList      string
	features      map[string][]string // lower-case room address → features
	teams         bool
	cancelComment string
	appID         string
	log           *slog.Logger
	now           func() time.Time
}

var (
	_ calendar.Backend   = (*Calendar)(nil)
	_ calendar.Responder = (*Calendar)(nil)
)

// New checks the configuration and builds the backend.
func New(c Config) (*Calendar, error) {
	var bad []string
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	base, err := url.Parse(strings.TrimRight(c.BaseURL, "/"))
	switch {
	case err != nil || base.Host == "" || base.RawQuery != "" || base.Fragment != "":
		bad = append(bad, errs.InvalidField("graph_url", "not a URL like %s: %q", DefaultBaseURL, c.BaseURL).Error())
	case base.Scheme == "http" && !loopback(base.Hostname()):
		bad = append(bad, errs.InvalidField("graph_url", "must be https: the requests carry access tokens (%s)", c.BaseURL).Error())
	case base.Scheme != "https" && base.Scheme != "http":
		bad = append(bad, errs.InvalidField("graph_url", "must be an https URL, not %q", c.BaseURL).Error())
	}
	if !isAddress(c.Organizer) {
		bad = append(bad, errs.InvalidField("organizer", "the mailbox that owns the post-mortems' events, an address such as postmortems@example.com; got %q", c.Organizer).Error())
	}
	if c.Tokens == nil {
		bad = append(bad, errs.InvalidField("tokens", "Microsoft Graph needs an access token source (Entra ID client credentials with the scope %s)", Scope).Error())
	}
	if c.RoomList != "" && !isAddress(c.RoomList) {
		bad = append(bad, errs.InvalidField("room_list", "a room list is named by its address (Get-DistributionGroup -RecipientTypeDetails RoomList), not %q", c.RoomList).Error())
	}
	features := map[string][]string{}
	for room, fs := range c.RoomFeatures {
		if !isAddress(room) {
			bad = append(bad, errs.InvalidField("room_features", "rooms are named by their address, not %q", room).Error())
			continue
		}
		k := strings.ToLower(strings.TrimSpace(room))
		features[k] = append(features[k], fs...)
	}
	if len(bad) > 0 {
		return nil, errs.E(errs.Invalid, "calendar: microsoft365: %s", strings.Join(bad, "; "))
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: c.Timeout}
	}
	if c.CancelComment == "" {
		c.CancelComment = "This post-mortem has been cancelled."
	}
	logger := c.Logger
	if logger == nil {
		logger = slog.Default()
	}
	return &Calendar{base: base, baseStr: base.String(), organizer: strings.TrimSpace(c.Organizer), tokens: c.Tokens, hc: hc,
		timeout: c.Timeout, roomList: strings.TrimSpace(c.RoomList), features: features, teams: c.TeamsMeeting,
		cancelComment: c.CancelComment, appID: c.AppID, log: logger, now: time.Now}, nil
}

func isAddress(s string) bool {
	s = strings.TrimSpace(s)
	at := strings.LastIndex(s, "@")
	return at > 0 && at < len(s)-1 && !strings.ContainsAny(s, " \t\r\n/?#<>\"")
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// GraphError is an error answer of Graph: {"error": {"code", "message",
// "innerError": {"request-id", "client-request-id", "date"}}}.
type GraphError struct {
	Status          int
	Code            string
	Message         string
	RequestID       string
	ClientRequestID string
	Date            string
	RetryAfter      time.Duration
}

func (e *GraphError) Error() string {
	s := fmt.Sprintf("Graph answered HTTP %d", e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.RequestID != "" {
		s += " (request-id " + e.RequestID
		if e.Date != "" {
			s += ", " + e.Date
		}
		s += ")"
	}
	return s
}

// request is one call to Graph.
type request struct {
	method  string
	path    string // below the base URL, escaped: "/users/a%40b/events"
	url     string // instead of path: an absolute URL (an @odata.nextLink)
	query   url.Values
	body    any
	prefer  string
	ifMatch string
}

// do makes one request and decodes a 2xx answer into out (when not nil).
// An HTTP error comes back as *GraphError; a failed connection, a timeout
// or a token endpoint that is down as *calendar.RetryableError.
func (c *Calendar) do(ctx context.Context, rq request, out any) error {
	token, err := c.tokens.Token(ctx)
	if err != nil {
		if errs.Is(err, errs.Unavailable) {
			return &calendar.RetryableError{Backend: Backend, Err: fmt.Errorf("token: %w", err)}
		}
		return fmt.Errorf("token for Microsoft Graph: %w", err)
	}
	u := rq.url
	if u == "" {
		u = c.baseStr + rq.path
		if len(rq.query) > 0 {
			u += "?" + encodeQuery(rq.query)
		}
	} else if !c.sameOrigin(u) {
		return fmt.Errorf("Graph sent a next link to another server (%s); not following it with the token", redact(u))
	}
	var body io.Reader
	if rq.body != nil {
		b, err := json.Marshal(rq.body)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	rctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, rq.method, u, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("client-request-id", newGUID())
	if rq.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if rq.prefer != "" {
		req.Header.Set("Prefer", rq.prefer)
	}
	if rq.ifMatch != "" {
		req.Header.Set("If-Match", rq.ifMatch)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil { // the caller gave up; not Graph's doing
			return err
		}
		return &calendar.RetryableError{Backend: Backend, Err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		return &calendar.RetryableError{Backend: Backend, Status: resp.StatusCode, Err: fmt.Errorf("reading the answer: %w", err)}
	}
	if len(raw) > maxAnswer {
		return fmt.Errorf("Graph's answer is larger than %d bytes", maxAnswer)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return graphError(resp, raw)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusAccepted {
		return nil
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "application/json" {
		return fmt.Errorf("Graph answered HTTP %d with Content-Type %q, not JSON: a proxy or a wrong graph_url answered instead", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("Graph's answer: %w", err)
	}
	return nil
}

// encodeQuery writes OData's system query options with a literal "$", as
// Graph's own links do.
func encodeQuery(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		for _, v := range q[k] {
			parts = append(parts, strings.ReplaceAll(url.QueryEscape(k), "%24", "$")+"="+url.QueryEscape(v))
		}
	}
	return strings.Join(parts, "&")
}

func (c *Calendar) sameOrigin(link string) bool {
	u, err := url.Parse(link)
	return err == nil && u.Scheme == c.base.Scheme && strings.EqualFold(u.Host, c.base.Host)
}

func redact(link string) string {
	u, err := url.Parse(link)
	if err != nil {
		return "(unparseable)"
	}
	return u.Scheme + "://" + u.Host
}

func graphError(resp *http.Response, raw []byte) *GraphError {
	ge := &GraphError{Status: resp.StatusCode, RequestID: resp.Header.Get("request-id")}
	var body struct {
		Error struct {
			Code       string `json:"code"`
			Message    string `json:"message"`
			InnerError struct {
				RequestID       string `json:"request-id"`
				ClientRequestID string `json:"client-request-id"`
				Date            string `json:"date"`
			} `json:"innerError"`
		} `json:"error"`
	}
	if json.Unmarshal(raw, &body) == nil && body.Error.Code != "" {
		ge.Code, ge.Message = body.Error.Code, body.Error.Message
		ge.ClientRequestID, ge.Date = body.Error.InnerError.ClientRequestID, body.Error.InnerError.Date
		if body.Error.InnerError.RequestID != "" {
			ge.RequestID = body.Error.InnerError.RequestID
		}
	} else {
		msg := strings.Join(strings.Fields(string(raw)), " ")
		if len(msg) > 200 {
			msg = msg[:200] + "..."
		}
		ge.Message = msg
	}
	ge.RetryAfter = calendar.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	return ge
}

// explain sorts an error of do into what a caller acts on: retry later,
// or fix the configuration as the message says. Statuses a call treats
// itself (404 for an event, 412) are handled before.
func (c *Calendar) explain(what string, err error) error {
	var ge *GraphError
	if !errors.As(err, &ge) {
		var re *calendar.RetryableError
		if errors.As(err, &re) {
			re.Err = fmt.Errorf("%s: %w", what, re.Err)
			return re
		}
		return fmt.Errorf("calendar: microsoft365: %s: %w", what, err)
	}
	switch {
	case ge.Status == http.StatusTooManyRequests || ge.Status >= 500:
		// Graph's throttling guidance: wait Retry-After, then retry; 503
		// and 504 are transient too.
		return &calendar.RetryableError{Backend: Backend, Status: ge.Status, Reason: ge.Code, RetryAfter: ge.RetryAfter, Err: fmt.Errorf("%s: %w", what, ge)}
	case ge.Status == http.StatusUnauthorized:
		return &errs.Error{Code: errs.Unauthorized, Message: fmt.Sprintf("calendar: microsoft365: %s: Microsoft Graph refused the access token (%v): the token must be for Graph, fetched with the scope %s (not a mail scope) by %s, whose application permissions %s and %s need admin consent",
			what, ge, Scope, c.app(), permCalendars, permPlaces)}
	case ge.Status == http.StatusForbidden && isPolicyRefusal(ge):
		return &errs.Error{Code: errs.Forbidden, Message: c.policyFix(what, ge)}
	case ge.Status == http.StatusForbidden:
		return &errs.Error{Code: errs.Forbidden, Message: fmt.Sprintf("calendar: microsoft365: %s: Graph refused %s (%v): in the Microsoft Entra admin center, App registrations > the app > API permissions, add the Microsoft Graph application permissions %s (events, free/busy) and %s (rooms) and grant admin consent",
			what, c.app(), ge, permCalendars, permPlaces)}
	case ge.Status == http.StatusNotFound && (ge.Code == "ErrorInvalidUser" || ge.Code == "MailboxNotEnabledForRESTAPI" || ge.Code == "ResourceNotFound" && strings.Contains(ge.Message, "User")):
		return &errs.Error{Code: errs.NotFound, Message: fmt.Sprintf("calendar: microsoft365: %s: there is no mailbox %s in Exchange Online (%v): check the organizer address, and that the mailbox exists (a shared mailbox needs no licence)",
			what, c.organizer, ge)}
	case ge.Status == http.StatusNotFound:
		return &errs.Error{Code: errs.NotFound, Message: fmt.Sprintf("calendar: microsoft365: %s: %v", what, ge)}
	}
	return fmt.Errorf("calendar: microsoft365: %s: %w", what, ge)
}

// isPolicyRefusal recognises an application access policy keeping the app
// out of a mailbox (Graph's 403 ErrorAccessDenied "... [RAOP] : Blocked by
// tenant configured AppOnly AccessPolicy settings.").
func isPolicyRefusal(ge *GraphError) bool {
	return ge.Code == "ErrorAccessDenied" && (strings.Contains(ge.Message, "RAOP") || strings.Contains(ge.Message, "AccessPolicy"))
}

func (c *Calendar) policyFix(what string, ge *GraphError) string {
	app := c.appID
	if app == "" {
		app = "<Application (client) ID>"
	}
	return fmt.Sprintf("calendar: microsoft365: %s: Exchange Online keeps %s out of the mailbox %s: it is outside the app's application access policy (%v). "+
		"In Exchange Online PowerShell, put %s in the mail-enabled security group the policy names, or make a policy for it: "+
		"New-ApplicationAccessPolicy -AppId %s -PolicyScopeGroupId <group holding %s> -AccessRight RestrictAccess -Description \"sitrep post-mortems\"; "+
		"then Test-ApplicationAccessPolicy -Identity %s -AppId %s must say Granted (changes can take an hour to apply)",
		what, c.app(), c.organizer, ge, c.organizer, app, c.organizer, c.organizer, app)
}

// app names the app registration for messages.
func (c *Calendar) app() string {
	if d, ok := c.tokens.(interface{ Describe() string }); ok {
		return "the app (" + d.Describe() + ")"
	}
	if c.appID != "" {
		return "the app " + c.appID
	}
	return "the app"
}

func statusOf(err error) int {
	var ge *GraphError
	if errors.As(err, &ge) {
		return ge.Status
	}
	return 0
}

func (c *Calendar) userPath(rest string) string {
	return "/users/" + url.PathEscape(c.organizer) + rest
}

func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
