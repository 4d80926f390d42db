package changes_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/changes"
	"github.com/sitrep-dev/sitrep/internal/errs"
)

func payload(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	body := payload(t, "generic_deployment.json")
	const secret = "s3cret-webhook"
	for _, tc := range []struct {
		name   string
		secret string
		header map[string]string
		body   []byte
		ok     bool
	}{
		{"no header", secret, nil, body, false},
		{"bearer", secret, map[string]string{"Authorization": "Bearer " + secret}, body, true},
		{"wrong bearer", secret, map[string]string{"Authorization": "Bearer nope"}, body, false},
		{"bearer prefix of the secret", secret, map[string]string{"Authorization": "Bearer s3cret"}, body, false},
		{"signature", secret, map[string]string{"X-Sitrep-Signature": sign(secret, body)}, body, true},
		{"signature of another body", secret, map[string]string{"X-Sitrep-Signature": sign(secret, []byte("{}"))}, body, false},
		{"signature with another key", secret, map[string]string{"X-Sitrep-Signature": sign("other", body)}, body, false},
		{"signature not hex", secret, map[string]string{"X-Sitrep-Signature": "sha256=zz"}, body, false},
		{"github signature", secret, map[string]string{"X-Hub-Signature-256": sign(secret, body)}, body, true},
		{"gitlab token", secret, map[string]string{"X-Gitlab-Token": secret}, body, true},
		{"gitlab wrong token", secret, map[string]string{"X-Gitlab-Token": "x"}, body, false},
		{"no secret configured accepts nothing", "", map[string]string{"Authorization": "Bearer "}, body, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tc.header {
				h.Set(k, v)
			}
			err := changes.Authenticate(tc.secret, h, tc.body)
			if tc.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tc.ok && !errs.Is(err, errs.Unauthorized) {
				t.Fatalf("want unauthorized, got %v", err)
			}
		})
	}
}

func TestParseDeploymentShapes(t *testing.T) {
	t.Parallel()
	gh := http.Header{"X-Github-Event": {"deployment_status"}}
	gl := http.Header{"X-Gitlab-Event": {"Deployment Hook"}}
	for _, tc := range []struct {
		name    string
		header  http.Header
		file    string
		want    *changes.Input
		ignored string
	}{
		{"generic", nil, "generic_deployment.json", &changes.Input{Source: "webhook", ExternalID: "deploy-8812", Service: "checkout-api",
			Version: "v2.14.0", Environment: "production", TriggeredBy: "release-bot", URL: "https://ci.example.com/pipelines/8812",
			Summary: "Switch card tokenisation to the new vault", At: time.Date(2026, 11, 24, 10, 40, 0, 0, time.UTC)}, ""},
		{"github success", gh, "github_deployment_status.json", &changes.Input{Source: "github", ExternalID: "Codertocat/Hello-World#145988746",
			Service: "Codertocat/Hello-World", Version: "master@f95f852", Environment: "production", TriggeredBy: "Codertocat",
			URL: "https://example.com/deploys/145988746", At: time.Date(2019, 5, 15, 15, 20, 55, 0, time.UTC)}, ""},
		{"github success without the header", nil, "github_deployment_status.json", &changes.Input{Source: "github",
			ExternalID: "Codertocat/Hello-World#145988746", Service: "Codertocat/Hello-World", Version: "master@f95f852", Environment: "production",
			TriggeredBy: "Codertocat", URL: "https://example.com/deploys/145988746", At: time.Date(2019, 5, 15, 15, 20, 55, 0, time.UTC)}, ""},
		{"github pending", gh, "github_deployment_status_pending.json", nil, `GitHub deployment status "pending"`},
		{"github ping", http.Header{"X-Github-Event": {"ping"}}, "github_deployment_status.json", nil, "GitHub event ping"},
		{"gitlab success", gl, "gitlab_deployment.json", &changes.Input{Source: "gitlab", ExternalID: "root/test-deployment-webhooks#15",
			Service: "root/test-deployment-webhooks", Version: "279484c", Environment: "staging", TriggeredBy: "root",
			URL: "http://10.126.0.2:3000/root/test-deployment-webhooks/-/jobs/796", Summary: "Add new file",
			At: time.Date(2021, 4, 28, 19, 50, 0, 0, time.UTC)}, ""},
		{"gitlab without the header", nil, "gitlab_deployment.json", &changes.Input{Source: "gitlab", ExternalID: "root/test-deployment-webhooks#15",
			Service: "root/test-deployment-webhooks", Version: "279484c", Environment: "staging", TriggeredBy: "root",
			URL: "http://10.126.0.2:3000/root/test-deployment-webhooks/-/jobs/796", Summary: "Add new file",
			At: time.Date(2021, 4, 28, 19, 50, 0, 0, time.UTC)}, ""},
		{"gitlab running", gl, "gitlab_deployment_running.json", nil, `GitLab deployment status "running"`},
		{"gitlab push", http.Header{"X-Gitlab-Event": {"Push Hook"}}, "gitlab_deployment.json", nil, "GitLab event Push Hook"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.header
			if h == nil {
				h = http.Header{}
			}
			in, ignored, err := changes.ParseDeployment(h, payload(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == nil {
				if in != nil || !strings.Contains(ignored, tc.ignored) {
					t.Fatalf("want ignored (%s), got %+v %q", tc.ignored, in, ignored)
				}
				return
			}
			if in == nil {
				t.Fatalf("ignored: %s", ignored)
			}
			tc.want.Kind = changes.Deployment
			if !in.At.Equal(tc.want.At) {
				t.Errorf("at %s, want %s", in.At, tc.want.At)
			}
			in.At, tc.want.At = time.Time{}, time.Time{}
			if got, want := *in, *tc.want; got.Source != want.Source || got.ExternalID != want.ExternalID || got.Service != want.Service ||
				got.Version != want.Version || got.Environment != want.Environment || got.TriggeredBy != want.TriggeredBy ||
				got.URL != want.URL || got.Summary != want.Summary || got.Kind != want.Kind {
				t.Errorf("parsed\n %+v\nwant\n %+v", got, want)
			}
		})
	}
}

func TestParseDeploymentBadInput(t *testing.T) {
	t.Parallel()
	for _, body := range []string{`not json`, `{"service": "x", "at": "yesterday"}`, `[1,2]`,
		`{"object_kind":"deployment","status":"success","project":{"path_with_namespace":"a/b"},"status_changed_at":"28/04/2021"}`,
		`{"deployment":{},"deployment_status":{"state":"success"}}`} {
		if _, _, err := changes.ParseDeployment(http.Header{}, []byte(body)); !errs.Is(err, errs.Invalid) {
			t.Errorf("%s: want invalid, got %v", body, err)
		}
	}
}

func FuzzParseDeployment(f *testing.F) {
	for _, name := range []string{"generic_deployment.json", "github_deployment_status.json", "gitlab_deployment.json"} {
		b, _ := os.ReadFile(filepath.Join("testdata", name))
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		in, ignored, err := changes.ParseDeployment(http.Header{}, body)
		if err == nil && in == nil && ignored == "" {
			t.Fatal("neither a change, nor ignored, nor an error")
		}
		if err != nil && errs.CodeOf(err) != errs.Invalid {
			t.Fatalf("a bad body is the sender's fault: %v", err)
		}
	})
}
