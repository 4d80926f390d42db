package directory

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func escalations() *Directory {
	return &Directory{
		Organization: "Esc Inc",
		People: []Person{
			{Email: "lena@e.example", Name: "Lena", Roles: []string{RoleIncidentLead}},
			{Email: "dan@e.example", Name: "Dan"},
			{Email: "ray@e.example", Name: "Ray", Roles: []string{RoleIncidentLead, RoleCommsLead}},
			{Email: "will@e.example", Name: "Will"},
		},
		Groups: []Group{{Name: "product"}, {Name: "exec"}, {Name: "legal"}},
		Escalations: []Escalation{
			{System: "checkout", Responders: []string{"lena@e.example", "dan@e.example"}, Backup: "will@e.example"},
			{System: "cdn", Responders: []string{"ray@e.example", "lena@e.example"}, Backup: "will@e.example"},
		},
	}
}

func emails(ps []Person) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Email)
	}
	return out
}

func TestResponders(t *testing.T) {
	t.Parallel()
	d := escalations()
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	got := emails(d.Responders("Checkout", "no-such-system", "cdn"))
	want := []string{"lena@e.example", "dan@e.example", "ray@e.example"} // escalation order, each once, no backup
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Responders = %v, want %v", got, want)
	}
	got = emails(d.Responders("cdn", "checkout"))
	want = []string{"ray@e.example", "lena@e.example", "dan@e.example"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Responders(cdn, checkout) = %v, want %v", got, want)
	}
	if ps := d.Responders("checkout"); ps[0].Name != "Lena" {
		t.Errorf("responder carries no person details: %+v", ps[0])
	}
	if got := d.Responders("unknown"); len(got) != 0 {
		t.Errorf("Responders(unknown) = %v", got)
	}
	if e, ok := d.Escalation("CDN"); !ok || e.Backup != "will@e.example" {
		t.Errorf("Escalation(CDN) = %+v, %v", e, ok)
	}
}

func TestLookups(t *testing.T) {
	t.Parallel()
	d := escalations()
	if p, ok := d.Person("RAY@e.example"); !ok || p.Name != "Ray" {
		t.Errorf("Person(RAY@...) = %+v, %v", p, ok)
	}
	if _, ok := d.Person("nobody@e.example"); ok {
		t.Error("Person(nobody) found")
	}
	if g, ok := d.Group("exec"); !ok || g.Name != "exec" {
		t.Errorf("Group(exec) = %+v, %v", g, ok)
	}
	if _, ok := d.Group("marketing"); ok {
		t.Error("Group(marketing) found")
	}
	if got := emails(d.PeopleWithRole(RoleIncidentLead)); !reflect.DeepEqual(got, []string{"lena@e.example", "ray@e.example"}) {
		t.Errorf("incident leads = %v", got)
	}
	if got := d.PeopleWithRole(RoleFacilitator); len(got) != 0 {
		t.Errorf("facilitators = %v, want none", got)
	}
}

func TestAudience(t *testing.T) {
	t.Parallel()
	d := escalations() // has product, exec, legal only
	if got := d.Audience(KindStatus); !reflect.DeepEqual(got, []string{"exec", "product", "legal"}) {
		t.Errorf("default status audience = %v; want the defaults this directory has", got)
	}
	if got := d.Audience(KindPostmortem); !reflect.DeepEqual(got, []string{"product"}) {
		t.Errorf("default postmortem audience = %v", got)
	}
	if got := d.Audience(KindHeadsUp); got != nil {
		t.Errorf("default headsup audience = %v, want nil (the caller adds responders)", got)
	}
	d.Audiences = map[string][]string{KindStatus: {"product"}}
	got := d.Audience(KindStatus)
	if !reflect.DeepEqual(got, []string{"product"}) {
		t.Errorf("status audience from the file = %v", got)
	}
	got[0] = "changed"
	if d.Audiences[KindStatus][0] != "product" {
		t.Error("Audience returned the directory's own slice")
	}
	if got := d.Audience(KindResolved); !reflect.DeepEqual(got, []string{"exec", "product", "legal"}) {
		t.Errorf("resolved falls back to the default = %v", got)
	}
}

func TestValidateReportsEverything(t *testing.T) {
	t.Parallel()
	d := escalations()
	d.People = append(d.People, Person{Email: "Lena@E.example", Name: "Lena Again", TimeZone: "Nowhere/City", Roles: []string{"boss"}})
	d.Groups = append(d.Groups, Group{Name: "exec", Members: []string{"zed@e.example"}})
	d.Escalations[0].Responders = append(d.Escalations[0].Responders, "ghost@e.example")
	d.Audiences = map[string][]string{"status": {"sales"}}
	err := d.Validate()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Validate = %v", err)
	}
	wantPaths := []string{
		"people[4].email", "people[4].time_zone", "people[4].roles[0]",
		"groups[3].name", "groups[3].members[0]",
		"escalations[0].responders[2]", "audiences.status[0]",
	}
	var gotPaths []string
	for _, p := range ve.Problems {
		gotPaths = append(gotPaths, p.Path)
	}
	if !reflect.DeepEqual(gotPaths, wantPaths) {
		t.Errorf("paths = %v\nwant    %v\n%v", gotPaths, wantPaths, err)
	}
	if !strings.Contains(err.Error(), "person lena@e.example is listed twice (first people[0].email)") {
		t.Errorf("duplicate not named with its first place:\n%v", err)
	}
	if d.People[4].Email != "Lena@E.example" {
		t.Error("Validate modified the directory")
	}
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	d := &Directory{
		People:      []Person{{Email: " Ann@X.Example "}},
		Groups:      []Group{{Name: "g", Members: []string{"ANN@x.example"}}},
		Escalations: []Escalation{{System: "s", Responders: []string{"Ann@x.EXAMPLE"}, Backup: "ANN@X.EXAMPLE"}},
	}
	d.Normalize()
	for _, got := range []string{d.People[0].Email, d.Groups[0].Members[0], d.Escalations[0].Responders[0], d.Escalations[0].Backup} {
		if got != "ann@x.example" {
			t.Errorf("normalised email = %q", got)
		}
	}
}

func TestValidEmail(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{
		"alice@example.org":           true,
		"first.last+tag@example.org":  true,
		"Alice <alice@example.org>":   false,
		"alice":                       false,
		"alice@":                      false,
		"@example.org":                false,
		"alice@example.org, bob@x.io": false,
		"":                            false,
	} {
		if got := validEmail(s); got != want {
			t.Errorf("validEmail(%q) = %v, want %v", s, got, want)
		}
	}
}
