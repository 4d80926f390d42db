package directory

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/errs"
)

func nested() *Directory {
	return &Directory{
		Organization: "Nest Inc",
		People: []Person{
			{Email: "ann@n.example", Name: "Ann", TimeZone: "America/New_York"},
			{Email: "ben@n.example", Name: "Ben"},
			{Email: "cat@n.example", Name: "Cat"},
			{Email: "dan@n.example", Name: "Dan", TimeZone: "Europe/Berlin"},
		},
		Groups: []Group{
			{Name: "top1", TimeZone: "Europe/London", Members: []string{"ben@n.example"}, Groups: []string{"sub"}},
			{Name: "sub", TimeZone: "Asia/Kolkata", Members: []string{"cat@n.example", "ann@n.example"}},
			{Name: "top2", Members: []string{"dan@n.example", "cat@n.example"}},
			{Name: "wrapper", Groups: []string{"top1", "top2"}, Members: []string{"ben@n.example"}},
		},
	}
}

func TestExpandNestingAndDeduplication(t *testing.T) {
	t.Parallel()
	d := nested()
	if err := d.Validate(); err != nil {
		t.Fatalf("fixture invalid: %v", err)
	}
	got, err := d.Expand("top2", "top1")
	if err != nil {
		t.Fatal(err)
	}
	want := []Recipient{
		{Email: "ann@n.example", Name: "Ann", TimeZone: "America/New_York", Group: "top1"}, // own zone wins
		{Email: "ben@n.example", Name: "Ben", TimeZone: "Europe/London", Group: "top1"},    // group's zone
		{Email: "cat@n.example", Name: "Cat", TimeZone: "", Group: "top2"},                 // reached through top2 first, which has no zone
		{Email: "dan@n.example", Name: "Dan", TimeZone: "Europe/Berlin", Group: "top2"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Expand(top2, top1) =\n%+v\nwant\n%+v", got, want)
	}

	// Alone, top1 reaches Cat through sub, whose zone is the nearest.
	got, err = d.Expand("top1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[2].Email != "cat@n.example" || got[2].TimeZone != "Asia/Kolkata" || got[2].Group != "top1" {
		t.Errorf("Expand(top1) = %+v; want ann, ben, cat with cat in Asia/Kolkata through top1", got)
	}

	// A group that contains all the others gives everyone once.
	got, err = d.Expand("wrapper", "top1", "sub")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Errorf("Expand(wrapper, top1, sub) gave %d recipients, want 4 distinct: %+v", len(got), got)
	}
	for _, r := range got {
		if r.Group != "wrapper" {
			t.Errorf("%s came through %q, want wrapper (named first)", r.Email, r.Group)
		}
	}
}

func TestExpandUnknownGroup(t *testing.T) {
	t.Parallel()
	d := nested()
	_, err := d.Expand("top1", "legal")
	if !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), `"legal"`) {
		t.Errorf("Expand(unknown) err = %v, want invalid naming legal", err)
	}
	d.Groups[1].Groups = []string{"ghost"} // unvalidated edit
	_, err = d.Expand("top1")
	if !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), `"sub" nests "ghost"`) {
		t.Errorf("Expand with a nested unknown err = %v, want invalid naming sub and ghost", err)
	}
}

func TestExpandUnvalidatedCycleTerminates(t *testing.T) {
	t.Parallel()
	d := &Directory{
		People: []Person{{Email: "x@c.example", Name: "X"}},
		Groups: []Group{
			{Name: "a", Groups: []string{"b"}, Members: []string{"X@C.example"}},
			{Name: "b", Groups: []string{"c", "a"}, Members: []string{"stranger@c.example"}},
			{Name: "c", Groups: []string{"c", "a"}},
		},
	}
	got, err := d.Expand("c")
	if err != nil {
		t.Fatal(err)
	}
	want := []Recipient{
		{Email: "stranger@c.example", Group: "c"}, // not a person: the address alone
		{Email: "x@c.example", Name: "X", Group: "c"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Expand(c) on a cycle = %+v, want %+v", got, want)
	}
}

func TestExpandNothing(t *testing.T) {
	t.Parallel()
	got, err := nested().Expand()
	if err != nil || len(got) != 0 {
		t.Errorf("Expand() = %v, %v; want no recipients", got, err)
	}
}

func TestValidateCyclic(t *testing.T) {
	t.Parallel()
	d := &Directory{
		Organization: "Loop Inc",
		People:       []Person{{Email: "a@l.example", Name: "A"}},
		Groups: []Group{
			{Name: "all", Groups: []string{"engineering"}},
			{Name: "engineering", Groups: []string{"sre"}, Members: []string{"a@l.example"}},
			{Name: "sre", Groups: []string{"all"}},
		},
	}
	err := d.Validate()
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 1 {
		t.Fatalf("Validate = %v, want exactly one problem", err)
	}
	p := ve.Problems[0]
	if p.Path != "groups[2].groups[0]" || p.Message != "groups nest in a cycle: all -> engineering -> sre -> all" {
		t.Errorf("problem = %q %q", p.Path, p.Message)
	}
	if p.File != "" || p.Line != 0 {
		t.Errorf("Validate gave a position %s:%d for an API edit", p.File, p.Line)
	}
	var e *errs.Error
	if !errors.As(err, &e) || e.Code != errs.Invalid || e.Field != "groups[2].groups[0]" {
		t.Errorf("as errs.Error = %+v, want invalid with the field", e)
	}
	var prob Problem
	if !errors.As(err, &prob) || prob.Path != "groups[2].groups[0]" {
		t.Errorf("errors.As(Problem) = %+v, want the cycle problem", prob)
	}
	if got := err.Error(); got != "groups[2].groups[0]: groups nest in a cycle: all -> engineering -> sre -> all" {
		t.Errorf("Error() = %q", got)
	}
}
