package directory

import (
	"reflect"
	"testing"
)

func TestRolesAndLists(t *testing.T) {
	t.Parallel()
	d := escalations()
	d.People = append(d.People, Person{Email: "cora@e.example", Name: "Cora", Roles: []string{RoleCommsLead}})
	for email, want := range map[string]bool{
		"lena@e.example":   true, // incident lead
		"cora@e.example":   true, // comms lead
		"RAY@e.example ":   true, // both, spelt otherwise
		"dan@e.example":    false,
		"nobody@e.example": false,
	} {
		if got := d.IsLead(email); got != want {
			t.Errorf("IsLead(%q) = %v, want %v", email, got, want)
		}
	}
	// The declarer when a comms lead (as the directory spells them), else
	// the first comms lead in file order.
	for declarer, want := range map[string]string{
		"Cora@E.example": "cora@e.example",
		"ray@e.example":  "ray@e.example",
		"lena@e.example": "ray@e.example", // an incident lead only
		"admin-token":    "ray@e.example", // not a person
	} {
		if got := d.DefaultCommsLead(declarer); got != want {
			t.Errorf("DefaultCommsLead(%q) = %q, want %q", declarer, got, want)
		}
	}
	if got := (&Directory{People: []Person{{Email: "dan@e.example"}}}).DefaultCommsLead("dan@e.example"); got != "" {
		t.Errorf("no comms lead in the directory: DefaultCommsLead = %q, want none", got)
	}
	if got := d.CommsLeads(); !reflect.DeepEqual(got, []string{"ray@e.example", "cora@e.example"}) {
		t.Errorf("CommsLeads = %v", got)
	}
	if got := d.Systems(); !reflect.DeepEqual(got, []string{"checkout", "cdn"}) {
		t.Errorf("Systems = %v", got)
	}
	// The store answers from the directory in force, and before any load
	// from an empty one.
	var s Store
	if s.IsLead("ray@e.example") || s.DefaultCommsLead("ray@e.example") != "" || s.Systems() != nil || s.CommsLeads() != nil {
		t.Error("an empty store knows people")
	}
	if _, ok := s.Person("ray@e.example"); ok {
		t.Error("an empty store finds a person")
	}
	s.state.Store(&state{dir: d})
	if p, ok := s.Person("ray@e.example"); !ok || p.Name != "Ray" || !s.IsLead("cora@e.example") || s.DefaultCommsLead("dan@e.example") != "ray@e.example" ||
		!reflect.DeepEqual(s.Systems(), d.Systems()) || !reflect.DeepEqual(s.CommsLeads(), d.CommsLeads()) {
		t.Error("the store does not answer from the directory in force")
	}
}
