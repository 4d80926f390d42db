// Package linear files the backlog's items as Linear issues through
// Linear's GraphQL API (issueCreate), with a personal API key (or an OAuth
// app's access token), and reads their state back from Linear's "Issues"
// webhook (signed: Linear-Signature, the hex HMAC-SHA256 of the body, and
// webhookTimestamp no more than a minute off) and, as a fallback, by
// asking for the team's issues updated since the last poll. An issue is
// closed when its workflow state's type is completed or canceled.
//
// The idempotency marker is the issue's id. IssueCreateInput takes the id
// of the issue to create ("The identifier in UUID v4 format. If none is
// provided, the backend will generate one", Linear's schema says), so the
// client derives a UUID from the marker (IssueID) and creates the issue
// under it: a retry cannot make a second issue with the same id, and an
// earlier try is found by that id (issues(filter: {id: {eq: ...}})), read
// from Linear's database, not from its search index, which lags.
package linear

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sitrep-dev/sitrep/internal/backlog"
	"github.com/sitrep-dev/sitrep/internal/errs"
)

const (
	// DefaultURL is Linear's GraphQL endpoint.
	DefaultURL = "https://api.linear.app/graphql"
	// pageSize and maxPages bound a poll.
	pageSize = 100
	maxPages = 10
	// MaxWebhookBytes bounds a webhook delivery read.
	MaxWebhookBytes = 1 << 20
	// maxRetryAfter caps a wait Linear asks for.
	maxRetryAfter = time.Hour
	// WebhookTolerance is how far webhookTimestamp may be from sitrep's
	// clock: Linear's SDK refuses a delivery more than a minute off, so
	// that a captured delivery cannot be replayed later.
	WebhookTolerance = time.Minute
	// pollMargin widens a poll's window: the clocks may differ, and a
	// change read twice changes nothing.
	pollMargin = 10 * time.Minute
)

// Issues is one Linear team's issues.
type Issues struct {
	URL string // "" is DefaultURL
	// APIKey is a personal API key (sent as it is, as Linear wants), or
	// "Bearer " and an OAuth access token. A secret: never in errors or logs.
	APIKey string
	Team   string   // the team's key: ENG
	Labels []string // label names, put on every issue (they must exist in the team or the workspace)
	// WebhookSecret is the webhook's signing secret; "" refuses every delivery.
	WebhookSecret string
	Client        *http.Client
	Logger        *slog.Logger
	// Now is the clock of the webhook's freshness check; nil: time.Now.
	Now func() time.Time

	mu       sync.Mutex
	teamID   string
	labelIDs []string
}

var (
	_ backlog.Tracker = (*Issues)(nil)
	_ backlog.Webhook = (*Issues)(nil)
	_ backlog.Updater = (*Issues)(nil)
)

func (l *Issues) Name() string { return "linear" }

func (l *Issues) url() string {
	if l.URL != "" {
		return l.URL
	}
	return DefaultURL
}

func (l *Issues) client() *http.Client {
	if l.Client != nil {
		return l.Client
	}
	return &http.Client{Timeout: 30 * time.Second}
}

func (l *Issues) logger() *slog.Logger {
	if l.Logger != nil {
		return l.Logger
	}
	return slog.Default()
}

func (l *Issues) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

// IssueID is the id the item's issue is created under: a UUID (version 4
// format, as Linear asks) made from the marker's SHA-256, so that the
// same marker always names the same issue.
func IssueID(marker string) string {
	sum := sha256.Sum256([]byte("sitrep-linear-issue:" + marker))
	b := sum[:16]
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// issue is what sitrep reads of Linear's Issue.
type issue struct {
	ID         string `json:"id"`
	Identifier string `json:"identifier"`
	URL        string `json:"url"`
	UpdatedAt  string `json:"updatedAt"`
	State      *struct {
		Type string `json:"type"`
	} `json:"state"`
}

func (is issue) closed() bool {
	return is.State != nil && (is.State.Type == "completed" || is.State.Type == "canceled")
}

func (is issue) backlog() backlog.Issue {
	return backlog.Issue{Ref: is.Identifier, ID: is.ID, URL: is.URL, Closed: is.closed()}
}

const issueFields = `id identifier url updatedAt state { type }`

const teamQuery = `query SitrepTeam($key: String!) {
  teams(filter: {key: {eq: $key}}, first: 2) { nodes { id key } }
}`

const labelsQuery = `query SitrepLabels($names: [String!]) {
  issueLabels(filter: {name: {in: $names}}, first: 100) { nodes { id name team { id } } }
}`

const userQuery = `query SitrepUser($email: String!) {
  users(filter: {email: {eqIgnoreCase: $email}}, first: 2) { nodes { id active } }
}`

const createMutation = `mutation SitrepCreate($input: IssueCreateInput!) {
  issueCreate(input: $input) { success issue { ` + issueFields + ` } }
}`

const findQuery = `query SitrepFind($id: ID!) {
  issues(filter: {id: {eq: $id}}, includeArchived: true, first: 1) { nodes { ` + issueFields + ` } }
}`

const changesQuery = `query SitrepChanges($team: ID!, $since: DateTimeOrDuration!, $after: String) {
  issues(filter: {team: {id: {eq: $team}}, updatedAt: {gte: $since}}, includeArchived: true, orderBy: updatedAt, first: ` +
	"100" + `, after: $after) {
    nodes { ` + issueFields + ` }
    pageInfo { hasNextPage endCursor }
  }
}`

const viewerQuery = `query SitrepViewer { viewer { id active } }`

const statesQuery = `query SitrepStates($team: ID!, $types: [String!]) {
  workflowStates(filter: {team: {id: {eq: $team}}, type: {in: $types}}, first: 50) { nodes { id type } }
}`

const updateMutation = `mutation SitrepUpdate($id: String!, $input: IssueUpdateInput!) {
  issueUpdate(id: $id, input: $input) { success }
}`

// team is the team's id (looked up by its key once) and the labels' ids.
func (l *Issues) team(ctx context.Context) (string, []string, error) {
	l.mu.Lock()
	id, labels := l.teamID, l.labelIDs
	l.mu.Unlock()
	if id != "" {
		return id, labels, nil
	}
	var teams struct {
		Teams struct {
			Nodes []struct {
				ID  string `json:"id"`
				Key string `json:"key"`
			} `json:"nodes"`
		} `json:"teams"`
	}
	if err := l.do(ctx, teamQuery, map[string]any{"key": l.Team}, &teams); err != nil {
		return "", nil, err
	}
	if len(teams.Teams.Nodes) != 1 {
		return "", nil, &backlog.RefusedError{Err: fmt.Errorf("linear: no team %q this API key can see: backlog.linear.team is the team's key (ENG in ENG-123)", l.Team)}
	}
	id = teams.Teams.Nodes[0].ID
	labels = nil
	if len(l.Labels) > 0 {
		var out struct {
			IssueLabels struct {
				Nodes []struct {
					ID   string `json:"id"`
					Name string `json:"name"`
					Team *struct {
						ID string `json:"id"`
					} `json:"team"`
				} `json:"nodes"`
			} `json:"issueLabels"`
		}
		if err := l.do(ctx, labelsQuery, map[string]any{"names": l.Labels}, &out); err != nil {
			return "", nil, err
		}
		for _, name := range l.Labels {
			found := ""
			for _, n := range out.IssueLabels.Nodes {
				// The team's own label before a workspace one of the same name.
				if n.Name == name && (n.Team == nil && found == "" || n.Team != nil && n.Team.ID == id) {
					found = n.ID
				}
			}
			if found == "" {
				return "", nil, &backlog.RefusedError{Err: fmt.Errorf("linear: no label %q in team %s or the workspace: create it in Linear, or change backlog.linear.labels", name, l.Team)}
			}
			labels = append(labels, found)
		}
	}
	l.mu.Lock()
	l.teamID, l.labelIDs = id, labels
	l.mu.Unlock()
	return id, labels, nil
}

// userID is the active Linear user whose email is email; "" none.
func (l *Issues) userID(ctx context.Context, email string) (string, error) {
	var out struct {
		Users struct {
			Nodes []struct {
				ID     string `json:"id"`
				Active bool   `json:"active"`
			} `json:"nodes"`
		} `json:"users"`
	}
	if err := l.do(ctx, userQuery, map[string]any{"email": email}, &out); err != nil {
		return "", err
	}
	for _, u := range out.Users.Nodes {
		if u.Active {
			return u.ID, nil
		}
	}
	return "", nil
}

// Create files item as an issue of the team, under the id its marker names.
func (l *Issues) Create(ctx context.Context, item backlog.Item, marker string) (backlog.Issue, error) {
	teamID, labelIDs, err := l.team(ctx)
	if err != nil {
		return backlog.Issue{}, err
	}
	input := map[string]any{"id": IssueID(marker), "teamId": teamID, "title": item.Title, "description": item.Body}
	if len(labelIDs) > 0 {
		input["labelIds"] = labelIDs
	}
	if item.Due != "" {
		input["dueDate"] = item.Due
	}
	if item.Assignee != "" {
		id, err := l.userID(ctx, item.Assignee)
		if err != nil {
			return backlog.Issue{}, err
		}
		if id != "" {
			input["assigneeId"] = id
		} else {
			l.logger().Info("linear: no Linear user for the owner; filing unassigned")
		}
	}
	var out struct {
		IssueCreate struct {
			Success bool   `json:"success"`
			Issue   *issue `json:"issue"`
		} `json:"issueCreate"`
	}
	err = l.do(ctx, createMutation, map[string]any{"input": input}, &out)
	if err != nil {
		if _, limited := backlog.RetryAfter(err); limited {
			return backlog.Issue{}, err
		}
		// An issue with this id may exist already (an earlier try that was
		// not looked for, a second worker): then it is the item's.
		if is, found, ferr := l.Find(ctx, marker, time.Time{}); ferr == nil && found {
			return is, nil
		}
		return backlog.Issue{}, err
	}
	if !out.IssueCreate.Success || out.IssueCreate.Issue == nil {
		return backlog.Issue{}, errors.New("linear: issueCreate: success false")
	}
	return out.IssueCreate.Issue.backlog(), nil
}

// Find looks the issue up by the id the marker names, archived or not.
func (l *Issues) Find(ctx context.Context, marker string, since time.Time) (backlog.Issue, bool, error) {
	var out struct {
		Issues struct {
			Nodes []issue `json:"nodes"`
		} `json:"issues"`
	}
	if err := l.do(ctx, findQuery, map[string]any{"id": IssueID(marker)}, &out); err != nil {
		return backlog.Issue{}, false, err
	}
	if len(out.Issues.Nodes) == 0 {
		return backlog.Issue{}, false, nil
	}
	return out.Issues.Nodes[0].backlog(), true, nil
}

// Changes lists the team's issues updated since since (less a margin for
// the clocks), with the newest update seen.
func (l *Issues) Changes(ctx context.Context, since time.Time) ([]backlog.Change, time.Time, error) {
	teamID, _, err := l.team(ctx)
	if err != nil {
		return nil, since, err
	}
	from := since.Add(-pollMargin)
	if since.IsZero() {
		from = l.now().Add(-30 * 24 * time.Hour)
	}
	var out []backlog.Change
	next := since
	after := any(nil)
	for page := 1; page <= maxPages; page++ {
		var res struct {
			Issues struct {
				Nodes    []issue `json:"nodes"`
				PageInfo struct {
					HasNextPage bool   `json:"hasNextPage"`
					EndCursor   string `json:"endCursor"`
				} `json:"pageInfo"`
			} `json:"issues"`
		}
		vars := map[string]any{"team": teamID, "since": from.UTC().Format(time.RFC3339Nano), "after": after}
		if err := l.do(ctx, changesQuery, vars, &res); err != nil {
			return out, next, err
		}
		for _, is := range res.Issues.Nodes {
			ch := backlog.Change{Ref: is.Identifier, ID: is.ID, Closed: is.closed(), Tracker: l.Name()}
			if is.State == nil {
				continue
			}
			if t, err := time.Parse(time.RFC3339Nano, is.UpdatedAt); err == nil {
				ch.At = t
				if t.After(next) {
					next = t
				}
			}
			out = append(out, ch)
		}
		if !res.Issues.PageInfo.HasNextPage || res.Issues.PageInfo.EndCursor == "" {
			break
		}
		after = res.Issues.PageInfo.EndCursor
	}
	return out, next, nil
}

// Update carries a change made in sitrep to the issue (issueUpdate): its
// workflow state (the team's first completed state to close; unstarted,
// else started, else backlog to reopen), only when the issue is not in
// such a state already (a canceled issue stays canceled); its assignee
// (null to unassign) and its due date (null to clear).
func (l *Issues) Update(ctx context.Context, is backlog.Issue, u backlog.Update) error {
	id := is.ID
	if id == "" {
		return &backlog.RefusedError{Err: fmt.Errorf("linear: issue %s has no id recorded", is.Ref)}
	}
	input := map[string]any{}
	if u.Closed != nil {
		var cur struct {
			Issues struct {
				Nodes []issue `json:"nodes"`
			} `json:"issues"`
		}
		if err := l.do(ctx, findQuery, map[string]any{"id": id}, &cur); err != nil {
			return err
		}
		if len(cur.Issues.Nodes) == 0 {
			return &backlog.RefusedError{Err: fmt.Errorf("linear: issue %s is gone (deleted, or the key cannot see it)", is.Ref)}
		}
		if cur.Issues.Nodes[0].closed() != *u.Closed {
			teamID, _, err := l.team(ctx)
			if err != nil {
				return err
			}
			types := []string{"completed"}
			if !*u.Closed {
				types = []string{"unstarted", "started", "backlog"}
			}
			var states struct {
				WorkflowStates struct {
					Nodes []struct {
						ID   string `json:"id"`
						Type string `json:"type"`
					} `json:"nodes"`
				} `json:"workflowStates"`
			}
			if err := l.do(ctx, statesQuery, map[string]any{"team": teamID, "types": types}, &states); err != nil {
				return err
			}
		pick:
			for _, t := range types {
				for _, st := range states.WorkflowStates.Nodes {
					if st.Type == t {
						input["stateId"] = st.ID
						break pick
					}
				}
			}
			if input["stateId"] == nil {
				return &backlog.RefusedError{Err: fmt.Errorf("linear: team %s has no workflow state of type %s", l.Team, strings.Join(types, " or "))}
			}
		}
	}
	if u.Assignee != nil {
		input["assigneeId"] = nil
		if *u.Assignee != "" {
			uid, err := l.userID(ctx, *u.Assignee)
			if err != nil {
				return err
			}
			if uid != "" {
				input["assigneeId"] = uid
			}
		}
	}
	if u.Due != nil {
		input["dueDate"] = nil
		if *u.Due != "" {
			input["dueDate"] = *u.Due
		}
	}
	if len(input) == 0 {
		return nil
	}
	var out struct {
		IssueUpdate struct {
			Success bool `json:"success"`
		} `json:"issueUpdate"`
	}
	if err := l.do(ctx, updateMutation, map[string]any{"id": id, "input": input}, &out); err != nil {
		return err
	}
	if !out.IssueUpdate.Success {
		return errors.New("linear: issueUpdate: success false")
	}
	return nil
}

// Verify signs in and finds the team and the labels: a bad key, a team
// the key's user cannot see, a missing label say so.
func (l *Issues) Verify(ctx context.Context) error {
	if l.APIKey == "" || l.Team == "" {
		return errors.New("linear: api_key and team are required")
	}
	var out struct {
		Viewer struct {
			ID string `json:"id"`
		} `json:"viewer"`
	}
	if err := l.do(ctx, viewerQuery, nil, &out); err != nil {
		return err
	}
	_, _, err := l.team(ctx)
	return err
}

// gqlError is one of Linear's GraphQL errors.
type gqlError struct {
	Message    string `json:"message"`
	Extensions struct {
		Code                   string `json:"code"`
		Type                   string `json:"type"`
		UserPresentableMessage string `json:"userPresentableMessage"`
	} `json:"extensions"`
}

// do posts one GraphQL operation and classifies its failure: a rate limit
// (HTTP 429, or an error whose extensions say RATELIMITED, which Linear
// answers with HTTP 400) is a RetryAfterError with the reset Linear
// gives; an authentication or permission error, or input Linear refuses,
// a RefusedError naming the fix; anything else (5xx, the network, a
// timeout) a plain error, tried again.
func (l *Issues) do(ctx context.Context, query string, vars map[string]any, out any) error {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return fmt.Errorf("linear: %w", err)
	}
	op := operationName(query)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.url(), bytes.NewReader(body))
	if err != nil {
		return &backlog.RefusedError{Err: fmt.Errorf("linear: %w", err)}
	}
	req.Header.Set("Authorization", l.APIKey)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "sitrep-backlog")
	resp, raw, err := backlog.Exchange(l.client(), req, "linear: "+op)
	if err != nil {
		return err
	}
	if len(raw) > backlog.MaxAnswer {
		return fmt.Errorf("linear: %s: answer over %d bytes", op, backlog.MaxAnswer)
	}
	var answer struct {
		Data   json.RawMessage `json:"data"`
		Errors []gqlError      `json:"errors"`
	}
	readable := json.Unmarshal(raw, &answer) == nil
	if resp.StatusCode == http.StatusOK && readable && len(answer.Errors) == 0 {
		if err := json.Unmarshal(answer.Data, out); err != nil {
			return fmt.Errorf("linear: %s: answer does not read: %w", op, err)
		}
		return nil
	}
	msg := fmt.Sprintf("linear: %s: %s", op, resp.Status)
	var code, typ string
	if len(answer.Errors) > 0 {
		e := answer.Errors[0]
		code, typ = strings.ToUpper(e.Extensions.Code), strings.ToLower(e.Extensions.Type)
		msg += ": " + e.Message
		if e.Extensions.UserPresentableMessage != "" && e.Extensions.UserPresentableMessage != e.Message {
			msg += " (" + e.Extensions.UserPresentableMessage + ")"
		}
	}
	refuse := func(fix string) error { return backlog.Refusal(resp.StatusCode, msg, fix) }
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || code == "RATELIMITED" || typ == "ratelimited":
		return &backlog.RetryAfterError{After: retryAfter(resp.Header, l.now()), Err: errors.New(msg)}
	case resp.StatusCode == http.StatusUnauthorized || code == "AUTHENTICATION_ERROR" || typ == "authentication error":
		return refuse("backlog.linear.api_key is wrong, revoked or expired: make one under Settings → Security & access → Personal API keys")
	case resp.StatusCode == http.StatusForbidden || code == "FORBIDDEN" || typ == "forbidden":
		return refuse("the key's user cannot do this in team " + l.Team + ": a member of the team, with a key allowed to create issues")
	case resp.StatusCode == http.StatusNotFound:
		return refuse("no GraphQL endpoint at " + l.url() + ": backlog.linear.api_url")
	case resp.StatusCode >= 500 || code == "INTERNAL_SERVER_ERROR" || typ == "internal error" || typ == "lock timeout" || typ == "network error":
		return errors.New(msg)
	case resp.StatusCode == http.StatusBadRequest || code == "INVALID_INPUT" || typ == "invalid input" || code == "GRAPHQL_VALIDATION_FAILED":
		return refuse("")
	case resp.StatusCode == http.StatusOK && readable:
		return refuse("")
	}
	return errors.New(msg)
}

// retryAfter is the wait Linear asks for: Retry-After in seconds, else the
// latest of its reset headers (X-RateLimit-Requests-Reset and the
// complexity and endpoint ones: UTC epoch milliseconds), else a minute.
func retryAfter(h http.Header, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			return min(time.Duration(n)*time.Second, maxRetryAfter)
		}
	}
	var until time.Time
	for _, k := range []string{"X-RateLimit-Requests-Reset", "X-RateLimit-Complexity-Reset", "X-RateLimit-Endpoint-Requests-Reset"} {
		n, err := strconv.ParseInt(strings.TrimSpace(h.Get(k)), 10, 64)
		if err != nil || n <= 0 {
			continue
		}
		var t time.Time
		if n > 1e12 {
			t = time.UnixMilli(n)
		} else {
			t = time.Unix(n, 0) // seconds, should it ever say so
		}
		if t.After(until) {
			until = t
		}
	}
	if !until.IsZero() {
		return min(max(until.Sub(now), time.Second), maxRetryAfter)
	}
	return time.Minute
}

// operationName is the name of the operation in query, for messages.
func operationName(query string) string {
	f := strings.Fields(query)
	if len(f) >= 2 {
		return strings.TrimSuffix(strings.SplitN(f[1], "(", 2)[0], "{")
	}
	return "query"
}

// Sign is the Linear-Signature value of body under secret: the hex
// HMAC-SHA256 of the raw body.
func Sign(secret string, body []byte) string { return webhookSignature.Sign(secret, body) }

// webhookSignature is how Linear signs a delivery, for ParseWebhook.
var webhookSignature = backlog.WebhookSignature{Tracker: "Linear", Setting: "backlog.linear.webhook_secret",
	Header: "Linear-Signature", MaxBytes: MaxWebhookBytes}

// idRE and identifierRE are what an issue's id (a UUID) and identifier
// (ENG-123) look like.
var (
	idRE         = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	identifierRE = regexp.MustCompile(`^[A-Z0-9_]+-[0-9]+$`)
)

// hookEvent is what sitrep reads of a webhook delivery.
type hookEvent struct {
	Action           string          `json:"action"`
	Type             string          `json:"type"`
	Data             json.RawMessage `json:"data"`
	WebhookTimestamp *int64          `json:"webhookTimestamp"`
	Actor            *struct {
		Name string `json:"name"`
	} `json:"actor"`
}

// ParseWebhook checks Linear-Signature against the body (in constant
// time) before reading anything, then that webhookTimestamp (or the
// Linear-Timestamp header) is within WebhookTolerance of now, then reads an
// Issue create or update: the state's type says closed or open (the sync
// ignores what it knows already, and issues not its own); every other
// type and action is none.
func (l *Issues) ParseWebhook(h http.Header, body []byte) ([]backlog.Change, error) {
	if err := webhookSignature.Check(l.WebhookSecret, strings.TrimSpace(h.Get("Linear-Signature")), body); err != nil {
		return nil, err
	}
	var ev hookEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, errs.E(errs.Invalid, "the Linear event does not read: %v", err)
	}
	var ts int64
	switch {
	case ev.WebhookTimestamp != nil:
		ts = *ev.WebhookTimestamp
	default:
		n, err := strconv.ParseInt(strings.TrimSpace(h.Get("Linear-Timestamp")), 10, 64)
		if err != nil {
			return nil, errs.E(errs.Unauthorized, "the delivery has no webhookTimestamp: it cannot be told from a replay")
		}
		ts = n
	}
	if d := l.now().Sub(time.UnixMilli(ts)); d > WebhookTolerance || d < -WebhookTolerance {
		return nil, errs.E(errs.Unauthorized, "the delivery's webhookTimestamp is %s off this clock (more than %s): a replay, or a clock to fix", d.Round(time.Second), WebhookTolerance)
	}
	if ev.Type != "Issue" || ev.Action != "update" && ev.Action != "create" {
		return nil, nil
	}
	var is issue
	if err := json.Unmarshal(ev.Data, &is); err != nil {
		return nil, errs.E(errs.Invalid, "the Linear issue does not read: %v", err)
	}
	if !idRE.MatchString(is.ID) || !identifierRE.MatchString(is.Identifier) || is.State == nil || is.State.Type == "" {
		return nil, nil
	}
	ch := backlog.Change{Ref: is.Identifier, ID: is.ID, Closed: is.closed(), Tracker: l.Name()}
	if t, err := time.Parse(time.RFC3339Nano, is.UpdatedAt); err == nil {
		ch.At = t
	}
	if ev.Actor != nil {
		ch.ByWhom = ev.Actor.Name
	}
	return []backlog.Change{ch}, nil
}
