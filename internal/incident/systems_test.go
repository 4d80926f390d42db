package incident_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
)

// systems is the directory's escalation lists, by system.
type systems []string

func (s systems) Systems() []string { return s }

// Issue 17: `sitrep declare --systems logins` (a typo for login) declared
// an incident whose heads-up reached nobody, and said nothing. A system
// without an escalation list is refused, naming the known ones; no
// systems at all still declares.
func TestDeclareRefusesUnknownSystemsNamingTheKnownOnes(t *testing.T) {
	t.Parallel()
	s, _ := newService(t)
	s.KnownSystems = systems{"checkout", "login", "search"}
	ctx := context.Background()

	_, err := s.Declare(ctx, "vp@x.test", incident.DeclareInput{Title: "Sign-in fails", Severity: "SEV2",
		Scope: incident.Scope{Systems: []string{"checkout", "logins"}}})
	var e *errs.Error
	if !errors.As(err, &e) || e.Code != errs.Invalid || e.Field != "scope.systems" {
		t.Fatalf("want an invalid scope.systems error, got %v", err)
	}
	for _, want := range []string{`"logins"`, `did you mean "login"`, "checkout, login, search"} {
		if !strings.Contains(e.Message, want) {
			t.Errorf("the error must say %q: %s", want, e.Message)
		}
	}
	if list, _ := s.List(ctx, incident.ListFilter{}); len(list) != 0 {
		t.Fatalf("a refused declaration stored %d incidents", len(list))
	}

	// Known systems in any case, and no systems at all, declare as before.
	inc, err := s.Declare(ctx, "vp@x.test", incident.DeclareInput{Title: "Sign-in fails", Severity: "SEV2",
		Scope: incident.Scope{Systems: []string{"Login"}}})
	if err != nil || strings.Join(inc.Scope.Systems, ",") != "login" {
		t.Fatalf("a known system: %v %+v", err, inc)
	}
	if _, err := s.Declare(ctx, "vp@x.test", incident.DeclareInput{Title: "Something is off", Severity: "SEV3"}); err != nil {
		t.Fatalf("no systems yet must still declare: %v", err)
	}

	// A directory without escalation lists knows no system, and says so.
	s.KnownSystems = systems{}
	_, err = s.Declare(ctx, "vp@x.test", incident.DeclareInput{Title: "x", Severity: "SEV2", Scope: incident.Scope{Systems: []string{"checkout"}}})
	if !errors.As(err, &e) || e.Field != "scope.systems" || !strings.Contains(e.Message, "no escalation lists") {
		t.Fatalf("no escalation lists: %v", err)
	}
}

// Editing an incident refuses a new unknown system, but keeps one the
// incident already had when the directory has since dropped it, so that
// the rest of the scope can still be edited.
func TestPatchRefusesNewUnknownSystemsOnly(t *testing.T) {
	t.Parallel()
	s, _ := newService(t)
	s.KnownSystems = systems{"checkout", "search"}
	ctx := context.Background()
	inc := declare(t, s) // systems: checkout
	s.KnownSystems = systems{"search"}

	sc := inc.Scope
	sc.Systems = append(sc.Systems, "serach")
	_, err := s.Patch(ctx, "vp@x.test", inc.Ref, incident.PatchInput{Scope: &sc})
	var e *errs.Error
	if !errors.As(err, &e) || e.Field != "scope.systems" || !strings.Contains(e.Message, `did you mean "search"`) {
		t.Fatalf("a new unknown system: %v", err)
	}
	sc = inc.Scope
	sc.Verified = true
	got, err := s.Patch(ctx, "vp@x.test", inc.Ref, incident.PatchInput{Scope: &sc})
	if err != nil || !got.Scope.Verified || strings.Join(got.Scope.Systems, ",") != "checkout" {
		t.Fatalf("editing an incident whose system the directory dropped: %v %+v", err, got)
	}
}
