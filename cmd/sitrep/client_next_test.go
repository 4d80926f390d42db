package main

import (
	"testing"
	"time"
)

// Before its first status update an incident owes the policy's first
// update: sitrep show and list say by when, and that it is late once it is.
func TestNextUpdateBeforeTheFirstSaysThePolicysDeadline(t *testing.T) {
	declared := time.Date(2026, 12, 7, 2, 18, 0, 0, time.UTC)
	inc := incidentOut{State: "investigating", DeclaredAt: declared}
	if got := firstUpdateDue(inc, declared); got != "-" {
		t.Errorf("no policy: got %q, want -", got)
	}
	inc.Policy = &struct {
		Phase               string `json:"phase"`
		NextIntervalMinutes int    `json:"next_interval_minutes"`
		FirstUpdateWithin   string `json:"first_update_within"`
		AnswerWithin        string `json:"answer_within"`
	}{FirstUpdateWithin: "5m0s"}
	want := declared.Add(5 * time.Minute).Local().Format("15:04")
	if got := firstUpdateDue(inc, declared.Add(time.Minute)); got != "first by "+want {
		t.Errorf("at +1m: got %q, want %q", got, "first by "+want)
	}
	if got := firstUpdateDue(inc, declared.Add(6*time.Minute)); got != "first by "+want+" OVERDUE" {
		t.Errorf("at +6m: got %q, want it overdue", got)
	}
	inc.State = "resolved"
	if got := firstUpdateDue(inc, declared.Add(6*time.Minute)); got != "-" {
		t.Errorf("resolved: got %q, want -", got)
	}
}
