package changes

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/errs"
)

// Authenticate checks a deployment webhook against the shared secret. It
// accepts, in order: "Authorization: Bearer <secret>"; "X-Sitrep-Signature:
// sha256=<hex HMAC-SHA256 of the body>"; GitHub's own signature header
// X-Hub-Signature-256 (same form), so a GitHub webhook with the secret set
// works as it is; and GitLab's X-Gitlab-Token (the secret itself). An empty
// secret accepts nothing: the webhook is off until one is configured.
func Authenticate(secret string, h http.Header, body []byte) error {
	if secret == "" {
		return errs.E(errs.Unauthorized, "the deployment webhook is off: no changes.webhook_secret is configured")
	}
	equal := func(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
	if tok, ok := strings.CutPrefix(h.Get("Authorization"), "Bearer "); ok && equal(strings.TrimSpace(tok), secret) {
		return nil
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, name := range []string{"X-Sitrep-Signature", "X-Hub-Signature-256"} {
		v, ok := strings.CutPrefix(strings.TrimSpace(h.Get(name)), "sha256=")
		if !ok {
			continue
		}
		if got, err := hex.DecodeString(v); err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	if tok := h.Get("X-Gitlab-Token"); tok != "" && equal(tok, secret) {
		return nil
	}
	return errs.E(errs.Unauthorized, "missing or wrong webhook secret (Authorization: Bearer <secret>, or X-Sitrep-Signature: sha256=<hex HMAC-SHA256 of the body>)")
}

// ReceiveDeployment handles one deployment webhook delivery: it checks the
// shared secret, reads the payload and records the change once. A delivery
// that is not a finished deployment is answered with why it was ignored.
func (s *Service) ReceiveDeployment(ctx context.Context, h http.Header, body []byte) (c *Change, created bool, ignored string, err error) {
	if err := Authenticate(s.WebhookSecret, h, body); err != nil {
		return nil, false, "", err
	}
	in, ignored, err := ParseDeployment(h, body)
	if err != nil || in == nil {
		return nil, false, ignored, err
	}
	c, created, err = s.Record(ctx, *in)
	return c, created, "", err
}

// GenericDeployment is sitrep's own webhook form, for any CI/CD tool that
// can POST JSON.
type GenericDeployment struct {
	ID          string    `json:"id"`
	Service     string    `json:"service"`
	Version     string    `json:"version"`
	Environment string    `json:"environment"`
	TriggeredBy string    `json:"triggered_by"`
	At          time.Time `json:"at"`
	URL         string    `json:"url"`
	Description string    `json:"description"`
}

// ParseDeployment reads a deployment webhook body: sitrep's generic form,
// GitHub's deployment_status event or GitLab's deployment hook, told apart
// by the X-GitHub-Event / X-Gitlab-Event headers or by the body's shape.
// An event that is not a finished deployment (a pending status, a GitHub
// ping) returns a nil Input and why it was ignored.
func ParseDeployment(h http.Header, body []byte) (in *Input, ignored string, err error) {
	var probe struct {
		ObjectKind       string          `json:"object_kind"`
		DeploymentStatus json.RawMessage `json:"deployment_status"`
		Deployment       json.RawMessage `json:"deployment"`
	}
	if err := json.Unmarshal(body, &probe); err != nil {
		return nil, "", errs.E(errs.Invalid, "malformed JSON: %v", err)
	}
	switch ghEvent, glEvent := h.Get("X-GitHub-Event"), h.Get("X-Gitlab-Event"); {
	case ghEvent != "" && ghEvent != "deployment_status":
		return nil, "GitHub event " + ghEvent + " is not a deployment status", nil
	case ghEvent == "deployment_status" || (probe.DeploymentStatus != nil && probe.Deployment != nil):
		return parseGitHub(body)
	case glEvent != "" && !strings.EqualFold(glEvent, "Deployment Hook"):
		return nil, "GitLab event " + glEvent + " is not a deployment", nil
	case glEvent != "" || probe.ObjectKind == "deployment":
		return parseGitLab(body)
	case probe.ObjectKind != "":
		return nil, "GitLab event " + probe.ObjectKind + " is not a deployment", nil
	}
	var g GenericDeployment
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&g); err != nil {
		return nil, "", errs.E(errs.Invalid, "bad deployment: %v (want {service, version, environment, triggered_by, at, url, description, id})", err)
	}
	return &Input{Source: "webhook", ExternalID: g.ID, Kind: Deployment, Service: g.Service, Version: g.Version,
		Environment: g.Environment, TriggeredBy: g.TriggeredBy, At: g.At, URL: g.URL, Summary: g.Description}, "", nil
}

// githubDeploymentStatus is the part of GitHub's deployment_status webhook
// event that sitrep reads (docs.github.com, "Webhook events and payloads",
// deployment_status).
type githubDeploymentStatus struct {
	Action           string `json:"action"`
	DeploymentStatus struct {
		State       string    `json:"state"`
		CreatedAt   time.Time `json:"created_at"`
		TargetURL   string    `json:"target_url"`
		LogURL      string    `json:"log_url"`
		Description string    `json:"description"`
		Environment string    `json:"environment"`
	} `json:"deployment_status"`
	Deployment struct {
		ID          int64  `json:"id"`
		SHA         string `json:"sha"`
		Ref         string `json:"ref"`
		Environment string `json:"environment"`
		Description string `json:"description"`
		Creator     struct {
			Login string `json:"login"`
		} `json:"creator"`
	} `json:"deployment"`
	Repository struct {
		FullName string `json:"full_name"`
		HTMLURL  string `json:"html_url"`
	} `json:"repository"`
}

func parseGitHub(body []byte) (*Input, string, error) {
	var e githubDeploymentStatus
	if err := json.Unmarshal(body, &e); err != nil {
		return nil, "", errs.E(errs.Invalid, "bad GitHub deployment_status event: %v", err)
	}
	// States: error, failure, inactive, in_progress, queued, pending,
	// success. Only a deployment that went out is a change.
	if st := e.DeploymentStatus.State; st != "success" {
		return nil, fmt.Sprintf("GitHub deployment status %q is not a finished deployment", st), nil
	}
	if e.Repository.FullName == "" || e.Deployment.ID == 0 {
		return nil, "", errs.E(errs.Invalid, "GitHub deployment_status event without repository.full_name or deployment.id")
	}
	env := e.Deployment.Environment
	if env == "" {
		env = e.DeploymentStatus.Environment
	}
	summary := e.DeploymentStatus.Description
	if summary == "" {
		summary = e.Deployment.Description
	}
	link := firstNonEmpty(e.DeploymentStatus.TargetURL, e.DeploymentStatus.LogURL)
	return &Input{Source: "github", ExternalID: e.Repository.FullName + "#" + strconv.FormatInt(e.Deployment.ID, 10), Kind: Deployment,
		Service: e.Repository.FullName, Version: version(e.Deployment.Ref, e.Deployment.SHA), Environment: env,
		TriggeredBy: e.Deployment.Creator.Login, At: e.DeploymentStatus.CreatedAt, URL: link, Summary: summary}, "", nil
}

// gitlabDeployment is the part of GitLab's deployment hook that sitrep
// reads (docs.gitlab.com, "Webhook events", Deployment events).
type gitlabDeployment struct {
	ObjectKind      string `json:"object_kind"`
	Status          string `json:"status"`
	StatusChangedAt string `json:"status_changed_at"`
	DeploymentID    int64  `json:"deployment_id"`
	DeployableURL   string `json:"deployable_url"`
	Environment     string `json:"environment"`
	Ref             string `json:"ref"`
	SHA             string `json:"sha"`
	ShortSHA        string `json:"short_sha"`
	CommitTitle     string `json:"commit_title"`
	Project         struct {
		PathWithNamespace string `json:"path_with_namespace"`
	} `json:"project"`
	User struct {
		Username string `json:"username"`
	} `json:"user"`
}

func parseGitLab(body []byte) (*Input, string, error) {
	var e gitlabDeployment
	if err := json.Unmarshal(body, &e); err != nil {
		return nil, "", errs.E(errs.Invalid, "bad GitLab deployment event: %v", err)
	}
	// Statuses: running, success, failed, canceled.
	if e.Status != "success" {
		return nil, fmt.Sprintf("GitLab deployment status %q is not a finished deployment", e.Status), nil
	}
	if e.Project.PathWithNamespace == "" {
		return nil, "", errs.E(errs.Invalid, "GitLab deployment event without project.path_with_namespace")
	}
	at, err := gitlabTime(e.StatusChangedAt)
	if err != nil {
		return nil, "", errs.InvalidField("status_changed_at", "%v", err)
	}
	id := ""
	if e.DeploymentID != 0 {
		id = e.Project.PathWithNamespace + "#" + strconv.FormatInt(e.DeploymentID, 10)
	}
	return &Input{Source: "gitlab", ExternalID: id, Kind: Deployment, Service: e.Project.PathWithNamespace,
		Version: version(e.Ref, firstNonEmpty(e.SHA, e.ShortSHA)), Environment: e.Environment, TriggeredBy: e.User.Username,
		At: at, URL: e.DeployableURL, Summary: e.CommitTitle}, "", nil
}

// gitlabTime reads GitLab's "2021-04-28 21:50:00 +0200" (and RFC 3339, in
// case a later version sends it).
func gitlabTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05 -0700", "2006-01-02 15:04:05 MST", time.RFC3339} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("want a time like 2021-04-28 21:50:00 +0200, got %q", s)
}

// version is "ref@sha7", or whichever of the two is known.
func version(ref, sha string) string {
	if len(sha) > 7 {
		sha = sha[:7]
	}
	switch {
	case ref == "" || strings.HasPrefix(sha, ref) || strings.HasPrefix(ref, sha) && sha != "":
		return sha
	case sha == "":
		return ref
	default:
		return ref + "@" + sha
	}
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}
