package outbox_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/outbox"
)

// Every recipient of a large audience is queued as themselves, whichever
// way their chunk of rows is written: 1,000 members of a group (two
// chunks of 400 and a part), a third of them in a time zone of their own,
// one of them known to bounce (queued as skipped, with the reason, in the
// middle chunk), and a follower who is in no group (their unsubscribe
// link and what they follow on their row).
func TestEveryRecipientOfALargeAudienceIsQueuedAsThemselves(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var people, members []string
	zones := map[string]string{}
	for i := range 1000 {
		p := fmt.Sprintf("p%04d", i)
		people, members = append(people, p), append(members, p)
		if i%3 == 0 {
			zones[p] = "Asia/Tokyo"
		}
	}
	people = append(people, "vp", "fan")
	ob, db, _ := recordingOutbox(t, orgYAML("example.test", people, zones, map[string][]string{"everyone": members}, nil))
	const bouncing = "p0555@example.test"
	if err := outbox.MarkBouncing(ctx, db, bouncing, "550 5.1.1 no such user", time.Now()); err != nil {
		t.Fatal(err)
	}
	follows := []compose.Followed{{Kind: compose.FollowsSystem, Target: "checkout"}}
	req := compose.Outgoing{Thread: compose.Thread{Audience: compose.Stakeholders, Ref: "INC-7"}, Kind: compose.KindStatus,
		Groups: []string{"everyone"}, Followers: []string{"fan@example.test"},
		Unsubscribe: map[string]string{"fan@example.test": "https://sitrep.test/unsubscribe/fan"},
		Follows:     map[string][]compose.Followed{"fan@example.test": follows},
		Data:        compose.SampleData(compose.KindStatus)}
	var msg *compose.Message
	if err := db.InTx(ctx, func(tx *sql.Tx) (err error) { msg, err = ob.Queue(ctx, tx, req); return err }); err != nil {
		t.Fatal(err)
	}

	type row struct{ name, zone, group, state, reason, unsubscribe, follows string }
	want := map[string]row{}
	for i, p := range members {
		r := row{name: fmt.Sprintf("P%04d", i), group: "everyone", state: outbox.StateQueued}
		if z := zones[p]; z != "" {
			r.zone = z
		}
		want[p+"@example.test"] = r
	}
	want[bouncing] = row{name: "P0555", zone: "Asia/Tokyo", group: "everyone", state: outbox.StateSkipped, reason: "address bounces: 550 5.1.1 no such user"}
	want["fan@example.test"] = row{name: "Fan", state: outbox.StateQueued, unsubscribe: "https://sitrep.test/unsubscribe/fan",
		follows: compose.EncodeFollows(follows)}

	rows, err := db.QueryContext(ctx, `SELECT email, name, time_zone, via_group, state, last_error, unsubscribe, follows
		FROM deliveries WHERE message_id = $1`, msg.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]row{}
	for rows.Next() {
		var email string
		var r row
		if err := rows.Scan(&email, &r.name, &r.zone, &r.group, &r.state, &r.reason, &r.unsubscribe, &r.follows); err != nil {
			t.Fatal(err)
		}
		if _, twice := got[email]; twice {
			t.Errorf("%s queued twice", email)
		}
		got[email] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for email, w := range want {
		if g, ok := got[email]; !ok {
			t.Errorf("%s not queued", email)
		} else if g != w {
			t.Errorf("%s queued as %+v, want %+v", email, g, w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d rows queued, want %d", len(got), len(want))
	}
}
