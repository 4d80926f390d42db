package outbox_test

import (
	"context"
	"slices"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/outbox"
)

// A message's recipients are listed a page at a time, in id order, each
// page after the last id of the one before, until next is 0: every
// recipient once, with and without a state filter. The API's list of
// 10,000 stopped at the first 1,000 with no sign that it had.
func TestDeliveriesAreListedPageByPage(t *testing.T) {
	t.Parallel()
	_, h, inc, people := sevenWithOneRefused(t)
	ctx := context.Background()
	res, err := h.comms.SendUpdate(ctx, "vp@example.test", inc.Ref, incident.UpdateInput{Status: "Investigating.", Groups: []string{"everyone"}})
	if err != nil {
		t.Fatal(err)
	}
	drain(t, h, 1)

	// pages reads every page of limit, returning their sizes and the
	// recipients in the order listed.
	pages := func(state string, limit int) (sizes []int, emails []string) {
		t.Helper()
		after := int64(0)
		for range 20 {
			list, next, err := h.outbox.Deliveries(ctx, res.Message.ID, outbox.DeliveryPage{State: state, After: after, Limit: limit})
			if err != nil {
				t.Fatal(err)
			}
			sizes = append(sizes, len(list))
			for i, d := range list {
				if d.ID <= after || (i > 0 && d.ID <= list[i-1].ID) {
					t.Fatalf("state %q, page after %d: ids out of order: %d", state, after, d.ID)
				}
				if state != "" && d.State != state {
					t.Errorf("state %q: %s is %s", state, d.Email, d.State)
				}
				emails = append(emails, d.Email)
			}
			if next == 0 {
				return sizes, emails
			}
			if next != list[len(list)-1].ID {
				t.Fatalf("state %q: next %d is not the page's last id %d", state, next, list[len(list)-1].ID)
			}
			after = next
		}
		t.Fatalf("state %q, limit %d: more than 20 pages", state, limit)
		return nil, nil
	}
	var want []string
	for _, p := range people {
		want = append(want, p+"@example.test")
	}
	slices.Sort(want)

	for _, c := range []struct {
		state string
		limit int
		sizes []int
		want  []string
	}{
		{"", 3, []int{3, 3, 1}, want},
		{"", 7, []int{7}, want}, // exactly one page: no empty one after it
		{"", 0, []int{7}, want}, // the default, 1,000
		{outbox.StateSent, 2, []int{2, 2, 2}, slices.DeleteFunc(slices.Clone(want), func(e string) bool { return e == "pb@example.test" })},
		{outbox.StateFailed, 2, []int{1}, []string{"pb@example.test"}},
		{outbox.StateDeferred, 2, []int{0}, nil},
	} {
		sizes, emails := pages(c.state, c.limit)
		slices.Sort(emails)
		if !slices.Equal(sizes, c.sizes) || !slices.Equal(emails, c.want) {
			t.Errorf("state %q, limit %d: pages of %v listing %v; want %v listing %v", c.state, c.limit, sizes, emails, c.sizes, c.want)
		}
	}
}

// sevenWithOneRefused is a harness (no worker: the test drains) whose
// group "everyone" has seven people, of whom the server refuses
// pb@example.test for good (550), and an incident declared.
func sevenWithOneRefused(t *testing.T) (*faultyServer, *harness, *incident.Incident, []string) {
	t.Helper()
	f := startFaulty(t)
	org, people := smallOrg(7)
	h := newHarness(t, f.addr, org, false)
	f.setReply("pb@example.test", &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"})
	return f, h, h.declare(t), people
}
