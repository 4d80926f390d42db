package directory

import (
	"context"
	"strings"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/storetest"
)

// TestGitHubLogin: a person's github: login (an @ is dropped) is kept
// through the database and mapped from the email for the backlog; a login
// GitHub would not accept, or one given twice, is refused, and nothing is
// stored.
func TestGitHubLogin(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := &Store{DB: storetest.Open(t)}
	good := `organization: Hub Inc
people:
  - email: lena@hub.example
    name: Lena Vogel
    github: "@lena-vogel"
  - email: omar@hub.example
    name: Omar Haddad
`
	if _, err := s.SyncFile(ctx, []byte(good), "groups.yaml"); err != nil {
		t.Fatal(err)
	}
	if got := s.GitHubLogin("lena@hub.example"); got != "lena-vogel" {
		t.Errorf("lena's login %q", got)
	}
	if got := s.GitHubLogin("omar@hub.example"); got != "" {
		t.Errorf("omar has none, got %q", got)
	}
	fresh := &Store{DB: s.DB}
	if err := fresh.Load(ctx); err != nil || fresh.GitHubLogin("lena@hub.example") != "lena-vogel" {
		t.Errorf("the login must survive the database: %v %q", err, fresh.GitHubLogin("lena@hub.example"))
	}
	for name, bad := range map[string]string{
		"hyphen first": "-lena",
		"double":       "le--na",
		"space":        "lena vogel",
		"too long":     strings.Repeat("a", 40),
	} {
		src := strings.Replace(good, `"@lena-vogel"`, `"`+bad+`"`, 1)
		if _, err := s.SyncFile(ctx, []byte(src), "groups.yaml"); err == nil || !strings.Contains(err.Error(), "github") {
			t.Errorf("%s: want a github problem, got %v", name, err)
		}
	}
	dup := good + "    github: LENA-vogel\n"
	if _, err := s.SyncFile(ctx, []byte(dup), "groups.yaml"); err == nil || !strings.Contains(err.Error(), "already given") {
		t.Errorf("the same login twice: %v", err)
	}
	if got := s.GitHubLogin("lena@hub.example"); got != "lena-vogel" || s.GitHubLogin("omar@hub.example") != "" {
		t.Error("a refused file changed the directory")
	}
}
