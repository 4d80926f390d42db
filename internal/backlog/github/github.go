// Package github files the backlog's items as GitHub issues through the
// REST API (a fine-grained personal access token, or a GitHub App's
// installation token, with Issues: read and write on one repository), and
// reads their state back from the "issues" webhook (signed with
// X-Hub-Signature-256) and, as a fallback, by listing the issues changed
// since the last poll.
//
// The idempotency marker is an HTML comment at the end of the issue's body
// (GitHub shows no HTML comment). An earlier try is looked for by listing
// the repository's issues updated since the intent was recorded, not by the
// search API: search is an index that lags behind the issue being created,
// the list is not.
package github

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/backlog"
	"github.com/sitrep-dev/sitrep/internal/errs"
)

// APIVersion is the REST API version asked for (X-GitHub-Api-Version).
const APIVersion = "2022-11-28"

const (
	// pageSize and maxPages bound a look for an earlier try and a poll:
	// 10 pages of 100 issues changed since the intent (or the last poll).
	pageSize = 100
	maxPages = 10
	// MaxWebhookBytes bounds a webhook delivery read: an "issues" event
	// is a few tens of KiB (the issue, the repository, the sender).
	MaxWebhookBytes = 1 << 20
	// maxRetryAfter caps a wait GitHub asks for.
	maxRetryAfter = time.Hour
)

// People maps an owner's email to a GitHub login (the directory's
// `github:` handle); "" when the person has none.
type People interface {
	GitHubLogin(email string) string
}

// Issues is one repository's issues.
type Issues struct {
	BaseURL       string   // "" is https://api.github.com
	Token         string   // a secret: never in errors or logs
	Owner, Repo   string   // the repository
	Labels        []string // put on every issue (they must exist, or GitHub makes them)
	WebhookSecret string   // the webhook's secret; "" refuses every delivery
	People        People   // nil: no assignee
	Client        *http.Client
	Logger        *slog.Logger
}

var (
	_ backlog.Tracker = (*Issues)(nil)
	_ backlog.Webhook = (*Issues)(nil)
	_ backlog.Updater = (*Issues)(nil)
)

func (g *Issues) Name() string { return "github" }

func (g *Issues) base() string {
	if g.BaseURL != "" {
		return strings.TrimRight(g.BaseURL, "/")
	}
	return "https://api.github.com"
}

func (g *Issues) client() *http.Client {
	if g.Client != nil {
		return g.Client
	}
	return &http.Client{Timeout: 30 * time.Second}
}

// issue is what sitrep reads of GitHub's issue schema.
type issue struct {
	Number      int64           `json:"number"`
	HTMLURL     string          `json:"html_url"`
	State       string          `json:"state"`
	Body        *string         `json:"body"`
	UpdatedAt   time.Time       `json:"updated_at"`
	CreatedAt   time.Time       `json:"created_at"`
	PullRequest json.RawMessage `json:"pull_request,omitempty"`
}

func (is issue) backlog() backlog.Issue {
	return backlog.Issue{Ref: strconv.FormatInt(is.Number, 10), URL: is.HTMLURL, Closed: is.State == "closed"}
}

// createIssue is the body of POST /repos/{owner}/{repo}/issues.
type createIssue struct {
	Title     string   `json:"title"`
	Body      string   `json:"body"`
	Assignees []string `json:"assignees,omitempty"`
	Labels    []string `json:"labels,omitempty"`
}

// markerComment is how the marker sits in the body.
func markerComment(marker string) string { return "<!-- " + marker + " -->" }

var markerRE = regexp.MustCompile(`<!-- (sitrep:improvement:[0-9]+:[0-9a-f]+) -->`)

// Create files item as an issue (issues/create).
func (g *Issues) Create(ctx context.Context, item backlog.Item, marker string) (backlog.Issue, error) {
	in := createIssue{Title: item.Title, Body: item.Body + "\n\n" + markerComment(marker), Labels: g.Labels}
	if g.People != nil && item.Assignee != "" {
		if login := g.People.GitHubLogin(item.Assignee); login != "" {
			in.Assignees = []string{login}
		}
	}
	body, err := json.Marshal(in)
	if err != nil {
		return backlog.Issue{}, fmt.Errorf("github: %w", err)
	}
	var out issue
	if err := g.do(ctx, http.MethodPost, g.repoPath()+"/issues", nil, body, http.StatusCreated, &out); err != nil {
		return backlog.Issue{}, err
	}
	return out.backlog(), nil
}

// Update carries a change made in sitrep to the issue (issues/update):
// its state (with the reason GitHub shows) and its assignee. A GitHub
// issue has no due date: the description filed says it, and is left as
// it is.
func (g *Issues) Update(ctx context.Context, is backlog.Issue, u backlog.Update) error {
	body := map[string]any{}
	if u.Closed != nil {
		if *u.Closed {
			body["state"], body["state_reason"] = "closed", "completed"
		} else {
			body["state"], body["state_reason"] = "open", "reopened"
		}
	}
	if u.Assignee != nil {
		logins := []string{}
		if g.People != nil && *u.Assignee != "" {
			if login := g.People.GitHubLogin(*u.Assignee); login != "" {
				logins = []string{login}
			}
		}
		body["assignees"] = logins
	}
	if len(body) == 0 {
		return nil
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("github: %w", err)
	}
	var out issue
	return g.do(ctx, http.MethodPatch, g.repoPath()+"/issues/"+url.PathEscape(is.Ref), nil, raw, http.StatusOK, &out)
}

func (g *Issues) repoPath() string {
	return "/repos/" + url.PathEscape(g.Owner) + "/" + url.PathEscape(g.Repo)
}

// list reads one page of issues-list-for-repo.
func (g *Issues) list(ctx context.Context, since time.Time, sort string, page int) ([]issue, error) {
	q := url.Values{"state": {"all"}, "sort": {sort}, "direction": {"asc"}, "per_page": {strconv.Itoa(pageSize)}, "page": {strconv.Itoa(page)}}
	if !since.IsZero() {
		q.Set("since", since.UTC().Format(time.RFC3339))
	}
	// Not narrowed by our labels: someone may have taken one off the
	// issue, or the configuration changed them since it was filed, and an
	// issue missed here would be filed twice.
	var out []issue
	if err := g.do(ctx, http.MethodGet, g.repoPath()+"/issues", q, nil, http.StatusOK, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Find looks through the issues updated since since for one whose body
// carries marker. Not finding it within maxPages pages is an error, not
// "absent": creating another issue then could make a second.
func (g *Issues) Find(ctx context.Context, marker string, since time.Time) (backlog.Issue, bool, error) {
	want := markerComment(marker)
	for page := 1; page <= maxPages; page++ {
		list, err := g.list(ctx, since, "created", page)
		if err != nil {
			return backlog.Issue{}, false, err
		}
		for _, is := range list {
			if is.PullRequest == nil && is.Body != nil && strings.Contains(*is.Body, want) {
				return is.backlog(), true, nil
			}
		}
		if len(list) < pageSize {
			return backlog.Issue{}, false, nil
		}
	}
	return backlog.Issue{}, false, fmt.Errorf("github: more than %d issues changed since %s; cannot tell whether an earlier try was filed",
		maxPages*pageSize, since.UTC().Format(time.RFC3339))
}

// Changes lists the issues updated since since, oldest change first.
func (g *Issues) Changes(ctx context.Context, since time.Time) ([]backlog.Change, time.Time, error) {
	var out []backlog.Change
	next := since
	for page := 1; page <= maxPages; page++ {
		list, err := g.list(ctx, since, "updated", page)
		if err != nil {
			return out, next, err
		}
		for _, is := range list {
			if is.PullRequest != nil {
				continue
			}
			ch := backlog.Change{Ref: strconv.FormatInt(is.Number, 10), Closed: is.State == "closed", At: is.UpdatedAt, Tracker: g.Name()}
			if is.Body != nil {
				if m := markerRE.FindStringSubmatch(*is.Body); m != nil {
					ch.Marker = m[1]
				}
			}
			out = append(out, ch)
			if is.UpdatedAt.After(next) {
				next = is.UpdatedAt
			}
		}
		if len(list) < pageSize {
			break
		}
	}
	return out, next, nil
}

// Verify reads one issue of the repository: a bad token (401), a token
// without access to it (403, or 404 for a private one) say so.
func (g *Issues) Verify(ctx context.Context) error {
	if g.Token == "" || g.Owner == "" || g.Repo == "" {
		return errors.New("github: token, owner and repo are required")
	}
	var out []issue
	q := url.Values{"state": {"all"}, "per_page": {"1"}}
	return g.do(ctx, http.MethodGet, g.repoPath()+"/issues", q, nil, http.StatusOK, &out)
}

// apiError is GitHub's error body: basic-error, validation-error.
type apiError struct {
	Message          string `json:"message"`
	DocumentationURL string `json:"documentation_url"`
	Errors           []struct {
		Resource string `json:"resource"`
		Field    string `json:"field"`
		Code     string `json:"code"`
		Message  string `json:"message"`
	} `json:"errors"`
}

func (e apiError) String() string {
	s := e.Message
	for _, x := range e.Errors {
		s += fmt.Sprintf("; %s.%s %s", x.Resource, x.Field, cmpOr(x.Message, x.Code))
	}
	return s
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// do makes one call and classifies its failure: waits GitHub asks for
// (429; 403 or 503 with Retry-After or an exhausted rate limit) are
// RetryAfterErrors; refusals (401, 403, 404, 410, 422) RefusedErrors;
// anything else (5xx, the network, a timeout) a plain error, tried again.
func (g *Issues) do(ctx context.Context, method, path string, q url.Values, body []byte, want int, out any) error {
	u := g.base() + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return &backlog.RefusedError{Err: fmt.Errorf("github: %w", err)}
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", APIVersion)
	req.Header.Set("User-Agent", "sitrep-backlog")
	req.Header.Set("Authorization", "Bearer "+g.Token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	what := method + " " + path
	resp, raw, err := backlog.Exchange(g.client(), req, "github: "+what)
	if err != nil {
		return err
	}
	if resp.StatusCode == want {
		if len(raw) > backlog.MaxAnswer {
			return fmt.Errorf("github: %s: answer over %d bytes", what, backlog.MaxAnswer)
		}
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("github: %s: answer does not read: %w", what, err)
		}
		return nil
	}
	var ae apiError
	_ = json.Unmarshal(raw, &ae)
	msg := fmt.Sprintf("github: %s: %s", what, resp.Status)
	if ae.Message != "" {
		msg += ": " + ae.String()
	}
	if wait, ok := retryAfter(resp); ok {
		return &backlog.RetryAfterError{After: wait, Err: errors.New(msg)}
	}
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		return backlog.Refusal(resp.StatusCode, msg, "the token is wrong or expired: backlog.github.token")
	case http.StatusForbidden:
		return backlog.Refusal(resp.StatusCode, msg, "the token lacks Issues: read and write on "+g.Owner+"/"+g.Repo)
	case http.StatusNotFound:
		return backlog.Refusal(resp.StatusCode, msg, "no repository "+g.Owner+"/"+g.Repo+" this token can see")
	case http.StatusGone:
		return backlog.Refusal(resp.StatusCode, msg, "issues are turned off in "+g.Owner+"/"+g.Repo)
	case http.StatusUnprocessableEntity, http.StatusBadRequest:
		return backlog.Refusal(resp.StatusCode, msg, "")
	}
	return errors.New(msg)
}

// retryAfter is the wait GitHub asks for: Retry-After in seconds (429,
// secondary rate limits, 503), or, when the primary limit is spent
// (x-ratelimit-remaining: 0), until x-ratelimit-reset.
func retryAfter(resp *http.Response) (time.Duration, bool) {
	if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusServiceUnavailable {
		return 0, false
	}
	if wait, ok := backlog.RetryAfterHeader(resp.Header.Get("Retry-After"), maxRetryAfter); ok {
		return wait, true
	}
	if resp.Header.Get("X-RateLimit-Remaining") == "0" {
		if reset, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			return min(max(time.Until(time.Unix(reset, 0)), time.Second), maxRetryAfter), true
		}
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		return time.Minute, true // GitHub: wait at least a minute when it says nothing
	}
	return 0, false
}

// Sign is the X-Hub-Signature-256 value of body under secret, as GitHub
// computes it: "sha256=" and the hex HMAC-SHA256.
func Sign(secret string, body []byte) string { return webhookSignature.Sign(secret, body) }

// webhookSignature is how GitHub signs a delivery, for ParseWebhook.
var webhookSignature = backlog.WebhookSignature{Tracker: "GitHub", Setting: "backlog.github.webhook_secret",
	Header: "X-Hub-Signature-256", Prefix: "sha256=", MaxBytes: MaxWebhookBytes}

// hookEvent is what sitrep reads of an "issues" webhook delivery.
type hookEvent struct {
	Action string `json:"action"`
	Issue  *issue `json:"issue"`
	Repo   struct {
		FullName string `json:"full_name"`
	} `json:"repository"`
	Sender struct {
		Login string `json:"login"`
	} `json:"sender"`
}

// ParseWebhook checks X-Hub-Signature-256 against the body (in constant
// time) before reading anything, then reads an "issues" event of the
// configured repository: closed and reopened are changes, every other
// event and action is none.
func (g *Issues) ParseWebhook(h http.Header, body []byte) ([]backlog.Change, error) {
	if err := webhookSignature.Check(g.WebhookSecret, h.Get("X-Hub-Signature-256"), body); err != nil {
		return nil, err
	}
	if h.Get("X-GitHub-Event") != "issues" {
		return nil, nil // ping and anything else: nothing to do
	}
	var ev hookEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, errs.E(errs.Invalid, "the issues event does not read: %v", err)
	}
	if ev.Issue == nil || ev.Issue.Number <= 0 || !strings.EqualFold(ev.Repo.FullName, g.Owner+"/"+g.Repo) {
		return nil, nil
	}
	var closed bool
	switch ev.Action {
	case "closed":
		closed = true
	case "reopened":
	default:
		return nil, nil
	}
	ch := backlog.Change{Ref: strconv.FormatInt(ev.Issue.Number, 10), Closed: closed, At: ev.Issue.UpdatedAt, ByWhom: ev.Sender.Login, Tracker: g.Name()}
	if ev.Issue.Body != nil {
		if m := markerRE.FindStringSubmatch(*ev.Issue.Body); m != nil {
			ch.Marker = m[1]
		}
	}
	return []backlog.Change{ch}, nil
}
