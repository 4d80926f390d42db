// Package jira files the backlog's items as Jira Cloud issues through the
// REST API v3, signed in with an Atlassian account's email and API token
// (HTTP Basic), and reads their state back from a Jira admin webhook
// registered with a secret (X-Hub-Signature: sha256=HMAC of the body)
// and, as a fallback, by a JQL search for the project's issues updated
// since the last poll. An issue is closed when its status is in the "done"
// status category, whatever the workflow calls it; any other category is
// open.
//
// The idempotency marker is a label, sitrep-improvement-<id>-<nonce>.
// Labels are a system field every issue type has, searchable with JQL by
// exact value (labels = "..."), and set in the same request that creates
// the issue. An issue entity property would be invisible to people, but
// JQL reaches a property only when an app (Connect or Forge) declares it
// for indexing, which an API token cannot do, and it would be set by a
// second call after the create: a crash between the two would leave an
// issue without its marker. JQL search reads an index that can lag behind
// an issue just created ("Recent updates might not be immediately visible
// in the returned search results", the search/jql operation says), so the
// client is backlog.Lagging: the sync waits SearchLag after an uncertain
// try before it looks.
package jira

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/backlog"
	"github.com/sitrep-dev/sitrep/internal/errs"
)

const (
	// SearchLag is how long the sync waits after an uncertain try before
	// it looks for the issue with JQL: Jira's search index is updated
	// within seconds of a create.
	SearchLag = 30 * time.Second
	// pageSize and maxPages bound a poll: 10 pages of 100 issues.
	pageSize = 100
	maxPages = 10
	// MaxWebhookBytes bounds a webhook delivery read: an issue event
	// carries the issue's fields, a few tens of KiB.
	MaxWebhookBytes = 1 << 20
	// maxRetryAfter caps a wait Jira asks for.
	maxRetryAfter = time.Hour
	// pollMargin widens a poll's window beyond the cursor: sitrep's clock
	// and Jira's may differ, and a change read twice changes nothing.
	pollMargin = 10 * time.Minute
)

// Issues is one Jira Cloud project's issues.
type Issues struct {
	BaseURL   string // https://your-domain.atlassian.net
	Email     string // the Atlassian account the API token belongs to
	Token     string // a secret: never in errors or logs
	Project   string // the project key: OPS
	IssueType string // "" is Task
	Labels    []string
	// WebhookSecret is the admin webhook's secret; "" refuses every delivery.
	WebhookSecret string
	Client        *http.Client
	Logger        *slog.Logger
}

var (
	_ backlog.Tracker = (*Issues)(nil)
	_ backlog.Webhook = (*Issues)(nil)
	_ backlog.Lagging = (*Issues)(nil)
	_ backlog.Updater = (*Issues)(nil)
)

func (j *Issues) Name() string { return "jira" }

// SearchLag: see the package comment.
func (j *Issues) SearchLag() time.Duration { return SearchLag }

func (j *Issues) base() string { return strings.TrimRight(j.BaseURL, "/") }

func (j *Issues) issueType() string {
	if j.IssueType == "" {
		return "Task"
	}
	return j.IssueType
}

func (j *Issues) client() *http.Client {
	if j.Client != nil {
		return j.Client
	}
	return &http.Client{Timeout: 30 * time.Second}
}

func (j *Issues) logger() *slog.Logger {
	if j.Logger != nil {
		return j.Logger
	}
	return slog.Default()
}

// MarkerLabel is the label an item's marker becomes: Jira labels take no
// spaces, and a hyphenated one reads plainly in JQL and on the issue.
func MarkerLabel(marker string) string { return strings.ReplaceAll(marker, ":", "-") }

var labelRE = regexp.MustCompile(`^sitrep-improvement-([0-9]+)-([0-9a-f]+)$`)

// keyRE and idRE are what an issue's key (OPS-42) and id (10042) look like.
var (
	keyRE = regexp.MustCompile(`^[A-Z][A-Z0-9_]*-[0-9]+$`)
	idRE  = regexp.MustCompile(`^[0-9]+$`)
)

// markerOf is the marker among an issue's labels; "" none.
func markerOf(labels []string) string {
	for _, l := range labels {
		if m := labelRE.FindStringSubmatch(l); m != nil {
			return "sitrep:improvement:" + m[1] + ":" + m[2]
		}
	}
	return ""
}

// issue is what sitrep reads of Jira's IssueBean.
type issue struct {
	ID     string `json:"id"`
	Key    string `json:"key"`
	Fields struct {
		Status *struct {
			Name           string `json:"name"`
			StatusCategory *struct {
				Key string `json:"key"`
			} `json:"statusCategory"`
		} `json:"status"`
		Labels  []string `json:"labels"`
		Updated string   `json:"updated"`
	} `json:"fields"`
	Changelog *struct {
		Histories []struct {
			Author *struct {
				DisplayName string `json:"displayName"`
			} `json:"author"`
			Created string `json:"created"`
			Items   []struct {
				Field string `json:"field"`
			} `json:"items"`
		} `json:"histories"`
	} `json:"changelog"`
}

func (is issue) closed() bool {
	return is.Fields.Status != nil && is.Fields.Status.StatusCategory != nil && is.Fields.Status.StatusCategory.Key == "done"
}

func (j *Issues) backlogIssue(is issue) backlog.Issue {
	return backlog.Issue{Ref: is.Key, ID: is.ID, URL: j.base() + "/browse/" + url.PathEscape(is.Key), Closed: is.closed()}
}

// statusBy is who made the issue's last status change, from its changelog.
func (is issue) statusBy() string {
	if is.Changelog == nil {
		return ""
	}
	var by string
	var at time.Time
	for _, h := range is.Changelog.Histories {
		for _, it := range h.Items {
			if it.Field != "status" || h.Author == nil {
				continue
			}
			if t, err := ParseTime(h.Created); err == nil && !t.Before(at) {
				by, at = h.Author.DisplayName, t
			}
		}
	}
	return by
}

// ParseTime reads Jira's timestamps: 2026-03-10T10:00:00.000+0000.
func ParseTime(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02T15:04:05.000-0700", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("jira: %q is not a Jira timestamp", s)
}

// user is what sitrep reads of Jira's User.
type user struct {
	AccountID    string `json:"accountId"`
	AccountType  string `json:"accountType"`
	Active       bool   `json:"active"`
	EmailAddress string `json:"emailAddress"`
}

// accountID finds the Atlassian account of email (user search): the
// active person whose address is email, or, where the site hides
// addresses, the only active person the search finds. "" none.
func (j *Issues) accountID(ctx context.Context, email string) (string, error) {
	var out []user
	q := url.Values{"query": {email}, "maxResults": {"10"}}
	if err := j.do(ctx, http.MethodGet, "/rest/api/3/user/search", q, nil, http.StatusOK, &out); err != nil {
		return "", err
	}
	var hidden []string
	for _, u := range out {
		if !u.Active || u.AccountType != "atlassian" {
			continue
		}
		if strings.EqualFold(u.EmailAddress, email) {
			return u.AccountID, nil
		}
		if u.EmailAddress == "" {
			hidden = append(hidden, u.AccountID)
		}
	}
	if len(hidden) == 1 {
		return hidden[0], nil
	}
	return "", nil
}

// createdIssue is Jira's CreatedIssue.
type createdIssue struct {
	ID  string `json:"id"`
	Key string `json:"key"`
}

// Create files item as an issue of the project (createIssue), with the
// marker as one of its labels.
func (j *Issues) Create(ctx context.Context, item backlog.Item, marker string) (backlog.Issue, error) {
	labels := append(append([]string{}, j.Labels...), MarkerLabel(marker))
	fields := map[string]any{
		"project":     map[string]any{"key": j.Project},
		"issuetype":   map[string]any{"name": j.issueType()},
		"summary":     item.Title,
		"description": ADF(item.Body),
		"labels":      labels,
	}
	if item.Due != "" {
		fields["duedate"] = item.Due
	}
	if item.Assignee != "" {
		id, err := j.accountID(ctx, item.Assignee)
		switch {
		case err != nil && backlog.Refused(err) && refusedStatus(err) == http.StatusForbidden:
			// Without "Browse users and groups" the search is refused: the
			// issue is filed unassigned rather than not at all.
			j.logger().Warn("jira: cannot look the owner up; filing unassigned", "err", err)
		case err != nil:
			return backlog.Issue{}, err
		case id != "":
			fields["assignee"] = map[string]any{"accountId": id}
		default:
			j.logger().Info("jira: no Jira account for the owner; filing unassigned")
		}
	}
	var out createdIssue
	err := j.create(ctx, fields, &out)
	var bad *fieldError
	if errors.As(err, &bad) {
		// A 400 creates nothing: without the fields this project's screens
		// refuse (an assignee who cannot be assigned, a due date not on the
		// create screen), the issue is still filed.
		dropped := []string{}
		for _, f := range []string{"assignee", "duedate"} {
			if _, ok := bad.fields[f]; ok {
				if _, set := fields[f]; set {
					delete(fields, f)
					dropped = append(dropped, f)
				}
			}
		}
		if len(dropped) > 0 && len(dropped) == len(bad.fields) {
			j.logger().Warn("jira: filing without the fields the project refused", "fields", strings.Join(dropped, ","), "err", err)
			err = j.create(ctx, fields, &out)
		}
	}
	if err != nil {
		return backlog.Issue{}, err
	}
	return backlog.Issue{Ref: out.Key, ID: out.ID, URL: j.base() + "/browse/" + url.PathEscape(out.Key)}, nil
}

func (j *Issues) create(ctx context.Context, fields map[string]any, out *createdIssue) error {
	body, err := json.Marshal(map[string]any{"fields": fields})
	if err != nil {
		return fmt.Errorf("jira: %w", err)
	}
	return j.do(ctx, http.MethodPost, "/rest/api/3/issue", nil, body, http.StatusCreated, out)
}

// Update carries a change made in sitrep to the issue: the assignee (by
// accountId, null to unassign) and the due date (editIssue), and the state
// by a transition of the workflow to a status of the Done category, or out
// of it (To Do first, else In Progress), when the issue is not there yet.
func (j *Issues) Update(ctx context.Context, is backlog.Issue, u backlog.Update) error {
	key := url.PathEscape(cmpOr(is.ID, is.Ref))
	fields := map[string]any{}
	if u.Assignee != nil {
		fields["assignee"] = nil
		if *u.Assignee != "" {
			id, err := j.accountID(ctx, *u.Assignee)
			if err != nil {
				return err
			}
			if id != "" {
				fields["assignee"] = map[string]any{"accountId": id}
			}
		}
	}
	if u.Due != nil {
		fields["duedate"] = nil
		if *u.Due != "" {
			fields["duedate"] = *u.Due
		}
	}
	if len(fields) > 0 {
		body, err := json.Marshal(map[string]any{"fields": fields})
		if err != nil {
			return fmt.Errorf("jira: %w", err)
		}
		err = j.do(ctx, http.MethodPut, "/rest/api/3/issue/"+key, nil, body, http.StatusNoContent, nil)
		var bad *fieldError
		if errors.As(err, &bad) && u.Closed != nil {
			// An owner who cannot be assigned, a due date not on the edit
			// screen: the state is still carried, the refusal still told.
			if terr := j.transition(ctx, key, *u.Closed); terr != nil {
				return terr
			}
		}
		if err != nil {
			return err
		}
	}
	if u.Closed != nil {
		return j.transition(ctx, key, *u.Closed)
	}
	return nil
}

func (j *Issues) transition(ctx context.Context, key string, closed bool) error {
	var cur issue
	if err := j.do(ctx, http.MethodGet, "/rest/api/3/issue/"+key, url.Values{"fields": {"status"}}, nil, http.StatusOK, &cur); err != nil {
		return err
	}
	if cur.closed() == closed {
		return nil // there already
	}
	var list struct {
		Transitions []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
			To   struct {
				StatusCategory struct {
					Key string `json:"key"`
				} `json:"statusCategory"`
			} `json:"to"`
		} `json:"transitions"`
	}
	if err := j.do(ctx, http.MethodGet, "/rest/api/3/issue/"+key+"/transitions", nil, nil, http.StatusOK, &list); err != nil {
		return err
	}
	want := []string{"done"}
	if !closed {
		want = []string{"new", "indeterminate"}
	}
	for _, cat := range want {
		for _, t := range list.Transitions {
			if t.To.StatusCategory.Key != cat {
				continue
			}
			body, _ := json.Marshal(map[string]any{"transition": map[string]any{"id": t.ID}})
			return j.do(ctx, http.MethodPost, "/rest/api/3/issue/"+key+"/transitions", nil, body, http.StatusNoContent, nil)
		}
	}
	status := ""
	if cur.Fields.Status != nil {
		status = cur.Fields.Status.Name
	}
	return &backlog.RefusedError{Err: fmt.Errorf("jira: issue %s: the workflow has no transition from %q to a status in %s that %s may make",
		key, status, strings.Join(want, " or "), j.Email)}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// searchResult is Jira's SearchAndReconcileResults.
type searchResult struct {
	Issues        []issue `json:"issues"`
	NextPageToken string  `json:"nextPageToken"`
	IsLast        bool    `json:"isLast"`
}

func (j *Issues) search(ctx context.Context, jql, token string, max int, expand string) (*searchResult, error) {
	q := url.Values{"jql": {jql}, "fields": {"status,labels,updated"}, "maxResults": {strconv.Itoa(max)}}
	if token != "" {
		q.Set("nextPageToken", token)
	}
	if expand != "" {
		q.Set("expand", expand)
	}
	var out searchResult
	if err := j.do(ctx, http.MethodGet, "/rest/api/3/search/jql", q, nil, http.StatusOK, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// jqlString quotes s as a JQL string.
func jqlString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// Find looks for the issue labelled with marker, in any project (it may
// have been moved since). since is not needed: the label is the item's.
func (j *Issues) Find(ctx context.Context, marker string, since time.Time) (backlog.Issue, bool, error) {
	res, err := j.search(ctx, "labels = "+jqlString(MarkerLabel(marker))+" ORDER BY created ASC", "", 10, "")
	if err != nil {
		return backlog.Issue{}, false, err
	}
	if len(res.Issues) == 0 {
		return backlog.Issue{}, false, nil
	}
	return j.backlogIssue(res.Issues[0]), true, nil
}

// Changes lists the project's issues updated since since (less a margin
// for the clocks), oldest change first, with who made the last status
// change (the changelog). The window is relative ("-90m"): Jira reads an
// absolute JQL date in the API user's own time zone, a relative one
// against its own clock.
func (j *Issues) Changes(ctx context.Context, since time.Time) ([]backlog.Change, time.Time, error) {
	minutes := 30 * 24 * 60
	if !since.IsZero() {
		minutes = int(math.Ceil((time.Since(since) + pollMargin).Minutes()))
	}
	jql := fmt.Sprintf(`project = %s AND updated >= "-%dm" ORDER BY updated ASC`, jqlString(j.Project), minutes)
	var out []backlog.Change
	next := since
	token := ""
	for page := 1; page <= maxPages; page++ {
		res, err := j.search(ctx, jql, token, pageSize, "changelog")
		if err != nil {
			return out, next, err
		}
		for _, is := range res.Issues {
			ch := backlog.Change{Ref: is.Key, ID: is.ID, Closed: is.closed(), Marker: markerOf(is.Fields.Labels), ByWhom: is.statusBy(), Tracker: j.Name()}
			if t, err := ParseTime(is.Fields.Updated); err == nil {
				ch.At = t
				if t.After(next) {
					next = t
				}
			}
			out = append(out, ch)
		}
		if res.NextPageToken == "" || res.IsLast {
			break
		}
		token = res.NextPageToken
	}
	return out, next, nil
}

// project is what sitrep reads of Jira's Project.
type project struct {
	Key        string `json:"key"`
	IssueTypes []struct {
		Name string `json:"name"`
	} `json:"issueTypes"`
}

// Verify reads the project with the credentials: a bad email or token
// (401), a project the account cannot browse (404), and an issue type the
// project does not have say so.
func (j *Issues) Verify(ctx context.Context) error {
	if j.BaseURL == "" || j.Email == "" || j.Token == "" || j.Project == "" {
		return errors.New("jira: base_url, email, api_token and project are required")
	}
	var p project
	if err := j.do(ctx, http.MethodGet, "/rest/api/3/project/"+url.PathEscape(j.Project), nil, nil, http.StatusOK, &p); err != nil {
		return err
	}
	var names []string
	for _, t := range p.IssueTypes {
		if strings.EqualFold(t.Name, j.issueType()) {
			return nil
		}
		names = append(names, t.Name)
	}
	sort.Strings(names)
	return &backlog.RefusedError{Err: fmt.Errorf("jira: project %s has no issue type %q (it has %s): set backlog.jira.issue_type",
		j.Project, j.issueType(), strings.Join(names, ", "))}
}

// errorCollection is Jira's error body.
type errorCollection struct {
	ErrorMessages []string          `json:"errorMessages"`
	Errors        map[string]string `json:"errors"`
}

func (e errorCollection) String() string {
	parts := append([]string{}, e.ErrorMessages...)
	keys := make([]string, 0, len(e.Errors))
	for k := range e.Errors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, k+": "+e.Errors[k])
	}
	return strings.Join(parts, "; ")
}

// fieldError is a 400 that names the fields Jira refused.
type fieldError struct {
	fields map[string]string
	err    error
}

func (e *fieldError) Error() string { return e.err.Error() }
func (e *fieldError) Unwrap() error { return e.err }

func refusedStatus(err error) int {
	var r *backlog.RefusedError
	if errors.As(err, &r) {
		return r.Status
	}
	return 0
}

// do makes one call and classifies its failure: a wait Jira asks for (429,
// or 503 with Retry-After) is a RetryAfterError; a refusal (400, 401, 403,
// 404, 422) a RefusedError naming the fix; anything else (5xx, the network,
// a timeout) a plain error, tried again.
func (j *Issues) do(ctx context.Context, method, path string, q url.Values, body []byte, want int, out any) error {
	u := j.base() + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return &backlog.RefusedError{Err: fmt.Errorf("jira: %w", err)}
	}
	req.SetBasicAuth(j.Email, j.Token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "sitrep-backlog")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	what := method + " " + path
	resp, raw, err := backlog.Exchange(j.client(), req, "jira: "+what)
	if err != nil {
		return err
	}
	if resp.StatusCode == want {
		if len(raw) > backlog.MaxAnswer {
			return fmt.Errorf("jira: %s: answer over %d bytes", what, backlog.MaxAnswer)
		}
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("jira: %s: answer does not read: %w", what, err)
		}
		return nil
	}
	var ec errorCollection
	_ = json.Unmarshal(raw, &ec)
	msg := fmt.Sprintf("jira: %s: %s", what, resp.Status)
	if s := ec.String(); s != "" {
		msg += ": " + s
	}
	if wait, ok := retryAfter(resp); ok {
		return &backlog.RetryAfterError{After: wait, Err: errors.New(msg)}
	}
	refuse := func(fix string) error { return backlog.Refusal(resp.StatusCode, msg, fix) }
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		return refuse("the email or API token is wrong, or the token expired or was revoked: backlog.jira.email and backlog.jira.api_token")
	case http.StatusForbidden:
		return refuse("the account " + j.Email + " lacks a permission in project " + j.Project +
			": Browse projects and Create issues (Assign issues to assign, Browse users and groups to look owners up)")
	case http.StatusNotFound:
		return refuse("no project " + j.Project + " at " + j.base() + " that " + j.Email + " can browse: backlog.jira.project and base_url")
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		err := refuse("")
		if len(ec.Errors) > 0 {
			return &fieldError{fields: ec.Errors, err: err}
		}
		return err
	}
	return errors.New(msg)
}

// retryAfter is the wait Jira asks for: Retry-After in seconds (429, and
// 503 when it says), else X-RateLimit-Reset (an ISO 8601 time) on a 429,
// else a minute for a 429 that says nothing.
func retryAfter(resp *http.Response) (time.Duration, bool) {
	if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable {
		return 0, false
	}
	if wait, ok := backlog.RetryAfterHeader(resp.Header.Get("Retry-After"), maxRetryAfter); ok {
		return wait, true
	}
	if resp.StatusCode != http.StatusTooManyRequests {
		return 0, false
	}
	if v := resp.Header.Get("X-RateLimit-Reset"); v != "" {
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return min(max(time.Until(t), time.Second), maxRetryAfter), true
		}
	}
	return time.Minute, true
}

// Sign is the X-Hub-Signature value of body under secret, as Jira
// computes it for an admin webhook registered with a secret: the WebSub
// form "sha256=" and the hex HMAC-SHA256 of the raw body.
func Sign(secret string, body []byte) string { return webhookSignature.Sign(secret, body) }

// webhookSignature is how Jira signs a delivery, for ParseWebhook.
var webhookSignature = backlog.WebhookSignature{Tracker: "Jira", Setting: "backlog.jira.webhook_secret",
	Header: "X-Hub-Signature", Prefix: "sha256=", MaxBytes: MaxWebhookBytes}

// hookEvent is what sitrep reads of an issue webhook delivery.
type hookEvent struct {
	WebhookEvent string `json:"webhookEvent"`
	Issue        *issue `json:"issue"`
	User         *struct {
		DisplayName string `json:"displayName"`
	} `json:"user"`
}

// ParseWebhook checks X-Hub-Signature against the body (in constant time)
// before reading anything, then reads a jira:issue_created or
// jira:issue_updated event: the issue's status category says closed or
// open (the sync ignores what it knows already, and issues not its own);
// every other event is none.
func (j *Issues) ParseWebhook(h http.Header, body []byte) ([]backlog.Change, error) {
	if err := webhookSignature.Check(j.WebhookSecret, h.Get("X-Hub-Signature"), body); err != nil {
		return nil, err
	}
	var ev hookEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, errs.E(errs.Invalid, "the Jira event does not read: %v", err)
	}
	if ev.WebhookEvent != "jira:issue_updated" && ev.WebhookEvent != "jira:issue_created" {
		return nil, nil
	}
	if ev.Issue == nil || !keyRE.MatchString(ev.Issue.Key) || !idRE.MatchString(ev.Issue.ID) || ev.Issue.Fields.Status == nil || ev.Issue.Fields.Status.StatusCategory == nil {
		return nil, nil
	}
	is := *ev.Issue
	ch := backlog.Change{Ref: is.Key, ID: is.ID, Closed: is.closed(), Marker: markerOf(is.Fields.Labels), Tracker: j.Name()}
	if t, err := ParseTime(is.Fields.Updated); err == nil {
		ch.At = t
	}
	if ev.User != nil {
		ch.ByWhom = ev.User.DisplayName
	}
	return []backlog.Change{ch}, nil
}
