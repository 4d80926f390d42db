package outbox_test

import (
	"bytes"
	"context"
	"database/sql"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jhillyerd/enmime/v2"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/jobs"
	"github.com/sitrep-dev/sitrep/internal/outbox"
	"github.com/sitrep-dev/sitrep/internal/store"
	"github.com/sitrep-dev/sitrep/internal/storetest"
)

// transactions records each SMTP transaction as the server would see it.
type transactions struct {
	mu  sync.Mutex
	txs []struct {
		to  []string
		raw []byte
	}
}

func (c *transactions) Send(_ context.Context, _ string, to []string, msg []byte) ([]error, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.txs = append(c.txs, struct {
		to  []string
		raw []byte
	}{append([]string{}, to...), append([]byte{}, msg...)})
	return make([]error, len(to)), nil
}

func (c *transactions) Concurrency() int { return 1 }

// recordingOutbox is an outbox on a fresh database with org as its
// directory, whose SMTP transactions are kept by sent instead of sent.
func recordingOutbox(t *testing.T, org string) (ob *outbox.Outbox, db *store.DB, sent *transactions) {
	t.Helper()
	db = storetest.Open(t)
	dir := &directory.Store{DB: db}
	if _, err := dir.SyncFile(context.Background(), []byte(org), "groups.yaml"); err != nil {
		t.Fatal(err)
	}
	renderer, err := compose.New("")
	if err != nil {
		t.Fatal(err)
	}
	ins, err := jobs.NewInserter(db)
	if err != nil {
		t.Fatal(err)
	}
	sent = &transactions{}
	ob = &outbox.Outbox{DB: db, Jobs: ins, Renderer: renderer, Directory: dir, Domain: "sitrep.test",
		From: "sitrep <status@sitrep.test>", ReplyPart: "status", Sender: sent, BatchSize: 50}
	return ob, db, sent
}

// Groups and followers together: a follower who is also a member gets the
// group's copy once and no unsubscribe link; each other follower gets a
// copy of their own (a transaction of their own) with their own link; the
// members share theirs, which carries none.
func TestGroupsAndFollowersTogether(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	org := orgYAML("example.test", []string{"vp", "m1", "m2", "f1"}, nil, map[string][]string{"exec": {"m1", "m2"}}, nil)
	ob, db, sent := recordingOutbox(t, org)
	data := compose.SampleData(compose.KindStatus)
	req := compose.Outgoing{Thread: compose.Thread{Audience: compose.Stakeholders, Ref: "INC-7"}, Kind: compose.KindStatus,
		Groups:    []string{"exec"},
		Followers: []string{"M1@example.test", "f1@example.test", "outside@partner.test", "f1@example.test"},
		Unsubscribe: map[string]string{"m1@example.test": "https://sitrep.test/unsubscribe/m1", "f1@example.test": "https://sitrep.test/unsubscribe/f1",
			"outside@partner.test": "https://sitrep.test/unsubscribe/outside"},
		Data: data}
	var msg *compose.Message
	if err := db.InTx(ctx, func(tx *sql.Tx) (err error) { msg, err = ob.Queue(ctx, tx, req); return err }); err != nil {
		t.Fatal(err)
	}
	if msg.Total != 4 {
		t.Fatalf("%d recipients, want 4 (m1, m2 through exec; f1 and outside as followers; m1 once)", msg.Total)
	}
	for {
		n, err := ob.DeliverBatch(ctx, msg.ID)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	byRcpt := map[string][]string{} // recipient -> List-Unsubscribe of each copy
	for _, tx := range sent.txs {
		env, err := enmime.ReadEnvelope(bytes.NewReader(tx.raw))
		if err != nil {
			t.Fatal(err)
		}
		lu := env.GetHeader("List-Unsubscribe")
		if lu != "" && len(tx.to) != 1 {
			t.Errorf("a follower's copy shared a transaction with %v", tx.to)
		}
		if lu != "" && !bytes.Contains(tx.raw, []byte("List-Unsubscribe=One-Click")) {
			t.Errorf("a follower's copy lacks List-Unsubscribe-Post")
		}
		for _, r := range tx.to {
			byRcpt[r] = append(byRcpt[r], lu)
		}
	}
	want := map[string]string{"m1@example.test": "", "m2@example.test": "", "f1@example.test": "<https://sitrep.test/unsubscribe/f1>",
		"outside@partner.test": "<https://sitrep.test/unsubscribe/outside>"}
	for r, lu := range want {
		if got := byRcpt[r]; !slices.Equal(got, []string{lu}) {
			t.Errorf("%s: copies with List-Unsubscribe %q, want one with %q", r, got, lu)
		}
	}
	if len(byRcpt) != len(want) {
		t.Errorf("recipients %v", byRcpt)
	}
}

// A follower's copy as its reader receives it, built by the delivery:
// a planned-maintenance note to Fay, who follows the checkout system, and
// to Abe, who follows everything, beside the group it is for. Each To:
// names what they follow (never "MAINT-7 maintenance", the thread's own
// name); the text says why they got it and links to their own
// unsubscribe; it does not say it was sent to the group. The group's
// member reads "Sent to" the group, with no footer. Mail to named people
// carries the thread's name for them ("INC-7 reporters"), kept with the
// message, not rebuilt from its audience.
func TestFollowersCopiesNameWhatTheyFollow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	org := orgYAML("example.test", []string{"vp", "m1", "fay", "abe"}, nil, map[string][]string{"cs": {"m1"}}, nil)
	ob, db, sent := recordingOutbox(t, org)
	note := compose.SampleData(compose.KindMaintenance).(compose.MaintenanceData)
	note.Audience = ""
	req := compose.Outgoing{Thread: compose.Thread{Key: -7, Audience: compose.Maintenance, Ref: "MAINT-7", ToName: "MAINT-7 maintenance"},
		Kind: compose.KindMaintenance, Groups: []string{"cs"}, Data: &note}
	req.SetFollowers(compose.FollowerSet{Emails: []string{"fay@example.test", "abe@example.test"},
		Unsubscribe: map[string]string{"fay@example.test": "https://sitrep.test/unsubscribe/fay", "abe@example.test": "https://sitrep.test/unsubscribe/abe"},
		Follows: map[string][]compose.Followed{"fay@example.test": {{Kind: compose.FollowsSystem, Target: "checkout"}},
			"abe@example.test": {{Kind: compose.FollowsAll}}}})
	confirm := compose.Outgoing{Thread: compose.Thread{Key: 7, Audience: "reporter-1a2b3c", Ref: "INC-7", ToName: "INC-7 reporters"},
		Kind: compose.KindConfirm, People: []string{"vp@example.test"}, Data: compose.SampleData(compose.KindConfirm)}
	var ids []int64
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		for _, r := range []compose.Outgoing{req, confirm} {
			msg, err := ob.Queue(ctx, tx, r)
			if err != nil {
				return err
			}
			ids = append(ids, msg.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		for {
			n, err := ob.DeliverBatch(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
		}
	}
	read := map[string]*enmime.Envelope{}
	for _, tx := range sent.txs {
		env, err := enmime.ReadEnvelope(bytes.NewReader(tx.raw))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range tx.to {
			read[r] = env
		}
	}
	for who, want := range map[string][2]string{
		"fay@example.test": {"Followers of checkout:;", "You receive this because you follow the checkout system (its incidents and planned maintenance)."},
		"abe@example.test": {"Followers of all incidents and maintenance:;", "You receive this because you follow all incidents and planned maintenance."},
	} {
		env := read[who]
		if env == nil {
			t.Fatalf("%s got nothing", who)
		}
		text := strings.Join(strings.Fields(env.Text), " ")
		if to := env.GetHeader("To"); to != want[0] {
			t.Errorf("%s: To: %q, want %q", who, to, want[0])
		}
		if !strings.Contains(text, want[1]) || !strings.Contains(text, "/unsubscribe/"+strings.TrimSuffix(who, "@example.test")+">") {
			t.Errorf("%s: the last line does not say why, with their link:\n%s", who, text)
		}
		for _, never := range []string{"MAINT-7 maintenance", "Sent to", "what it is about"} {
			if strings.Contains(text+env.GetHeader("To"), never) {
				t.Errorf("%s reads %q:\n%s", who, never, text)
			}
		}
	}
	member := read["m1@example.test"]
	if member == nil || member.GetHeader("To") != "Cs team:;" || !strings.Contains(member.Text, "Sent to Cs team because") || strings.Contains(member.Text, "You receive this") {
		t.Errorf("the group's member's copy:\n%v", member)
	}
	if to := read["vp@example.test"].GetHeader("To"); to != "INC-7 reporters:;" {
		t.Errorf("mail to named people is To: %q, want the thread's name for them", to)
	}
}
