package outbox

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/store"
	"github.com/sitrep-dev/sitrep/internal/storetest"
)

// A claim reads the rows it takes, walking the message's rows in id order
// from the cursor, and not every row left to sort them: that made each
// claim of a fan-out cost in proportion to what was left (22 ms instead of
// 0.2 ms half-way through 100,000 on PostgreSQL). The rows here are fresh
// and not analyzed, as a fan-out's are when it starts.
func TestClaimWalksTheMessageInIDOrder(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	ctx := context.Background()
	var id int64
	err := db.QueryRowContext(ctx, `INSERT INTO messages (audience, kind, message_id, subject, to_display, created_at)
		VALUES ('everyone', 'update', '<plan@test>', 's', 'Everyone', $1) RETURNING id`, time.Now().UTC()).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	rows := `WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 5000)
		INSERT INTO deliveries (message_id, email, state) SELECT $1, 'p' || n || '@example.test', 'queued' FROM g`
	if db.Dialect == store.Postgres {
		rows = `INSERT INTO deliveries (message_id, email, state) SELECT $1, 'p' || n || '@example.test', 'queued' FROM generate_series(1, 5000) n`
	}
	if _, err := db.ExecContext(ctx, rows, id); err != nil {
		t.Fatal(err)
	}
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		explain := "EXPLAIN QUERY PLAN "
		if db.Dialect == store.Postgres {
			explain = "EXPLAIN "
			if _, err := tx.ExecContext(ctx, queries.SQL(db, "claim-in-id-order")); err != nil {
				return err
			}
		}
		plan, err := tx.QueryContext(ctx, explain+queries.Get("claim-queued"), id, 2500, 400)
		if err != nil {
			return err
		}
		defer plan.Close()
		cols, _ := plan.Columns()
		var lines []string
		for plan.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := plan.Scan(ptrs...); err != nil {
				return err
			}
			var b strings.Builder
			for _, v := range vals {
				switch v := v.(type) {
				case string:
					b.WriteString(v + " ")
				case []byte:
					b.WriteString(string(v) + " ")
				}
			}
			lines = append(lines, b.String())
		}
		text := strings.Join(lines, "\n")
		if !strings.Contains(text, "deliveries_by_message") || strings.Contains(text, "Sort") ||
			strings.Contains(text, "TEMP B-TREE") || strings.Contains(text, "Bitmap") {
			t.Errorf("claim-queued does not walk deliveries_by_message in id order:\n%s", text)
		}
		return plan.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
}
