package outbox_test

import (
	"bytes"
	"context"
	"database/sql"
	"slices"
	"sync"
	"testing"

	"github.com/jhillyerd/enmime/v2"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/jobs"
	"github.com/sitrep-dev/sitrep/internal/outbox"
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

// Groups and followers together: a follower who is also a member gets the
// group's copy once and no unsubscribe link; each other follower gets a
// copy of their own (a transaction of their own) with their own link; the
// members share theirs, which carries none.
func TestGroupsAndFollowersTogether(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.Open(t)
	dir := &directory.Store{DB: db}
	org := orgYAML("example.test", []string{"vp", "m1", "m2", "f1"}, nil, map[string][]string{"exec": {"m1", "m2"}}, nil)
	if _, err := dir.SyncFile(ctx, []byte(org), "groups.yaml"); err != nil {
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
	sent := &transactions{}
	ob := &outbox.Outbox{DB: db, Jobs: ins, Renderer: renderer, Directory: dir, Domain: "sitrep.test",
		From: "sitrep <status@sitrep.test>", ReplyPart: "status", Sender: sent, BatchSize: 50}
	data := compose.SampleData(compose.KindStatus)
	req := compose.Outgoing{Thread: compose.Thread{Audience: compose.Stakeholders, Ref: "INC-7"}, Kind: compose.KindStatus,
		Groups:    []string{"exec"},
		Followers: []string{"M1@example.test", "f1@example.test", "outside@partner.test", "f1@example.test"},
		Unsubscribe: map[string]string{"m1@example.test": "https://sitrep.test/unsubscribe/m1", "f1@example.test": "https://sitrep.test/unsubscribe/f1",
			"outside@partner.test": "https://sitrep.test/unsubscribe/outside"},
		Data: data}
	var msg *compose.Message
	if err := db.InTx(ctx, func(tx *sql.Tx) error { msg, err = ob.Queue(ctx, tx, req); return err }); err != nil {
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
