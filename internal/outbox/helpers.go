package outbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"sync"
	"time"

	"github.com/sitrep-dev/sitrep/internal/store"
)

// A large fan-out is shared by the replicas on one PostgreSQL. Its job
// runs on one of them; once one of its claims comes back full, it queues a
// helper job (askForHelp), which any replica's worker may take. A replica
// that is not sending the message yet joins: its fan-out claims from the
// same cursor (claims take turns on it, and no row goes to two of them)
// over its own SMTP connections, and asks in turn for the next helper. A
// replica already sending the message puts the helper back for later
// (DeliverWorker.Work), so that another one takes it. So every replica
// joins, one after another, and one helper is left waiting until the
// fan-out ends, when it finds nothing to claim.
//
// Nothing else changes: each replica bounds its own unrecorded
// transactions (the duplicates a crash can cause), the outgoing rate
// limit is the account's whatever the replicas (SharedLimiter), and a
// helper lost with its replica is rescued by River like any job.

// defaultHelpFrom is the size of fan-out other replicas join: below it,
// the helper would arrive (a job poll, new SMTP connections) when little
// is left.
const defaultHelpFrom = 5000

func (o *Outbox) helpFrom() int {
	if o.HelpFrom > 0 {
		return o.HelpFrom
	}
	return defaultHelpFrom
}

// helperWait is how long a helper that found its replica busy with the
// message waits before it is offered again, after it has done so
// snoozes times: soon at first, then every second, so that over a long,
// rate-limited fan-out on one replica it costs a job poll a second.
func helperWait(snoozes int) time.Duration {
	d := 100 * time.Millisecond
	for i := 0; i < snoozes && d < time.Second; i++ {
		d *= 2
	}
	return min(d, time.Second)
}

// snoozes is how many times River has put a job back for later (its
// metadata's count: a snooze does not count as an attempt).
func snoozes(metadata []byte) int {
	var m struct {
		Snoozes int `json:"snoozes"`
	}
	_ = json.Unmarshal(metadata, &m) // none yet: 0
	return m.Snoozes
}

// runningFanOuts counts the fan-outs of each message this replica's
// worker runs.
type runningFanOuts struct {
	mu sync.Mutex
	n  map[int64]int
}

func (r *runningFanOuts) add(messageID int64) (done func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == nil {
		r.n = map[int64]int{}
	}
	r.n[messageID]++
	return func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.n[messageID]--; r.n[messageID] == 0 {
			delete(r.n, messageID)
		}
	}
}

func (r *runningFanOuts) has(messageID int64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n[messageID] > 0
}

// askForHelp queues the next helper of a large fan-out whose claim came
// back full, once per run. SQLite has one writer, and so one replica: no
// one to ask. A helper that cannot be queued only leaves this replica to
// do the work alone: logged, not returned.
func (f *fanOut) askForHelp(ctx context.Context, claimed, limit int) {
	if f.askedForHelp || claimed < limit || f.msg.total < f.o.helpFrom() || f.o.DB.Dialect != store.Postgres {
		return
	}
	f.askedForHelp = true
	args := DeliverArgs{MessageID: f.messageID, Urgent: urgent(f.msg.audience), Share: f.share + 1}
	err := f.o.DB.InTx(ctx, func(tx *sql.Tx) error {
		_, err := f.o.Jobs.InsertTx(ctx, tx, args, nil)
		return err
	})
	if err != nil {
		f.o.logger().Warn("outbox: could not ask another replica to share a large fan-out; this one goes on alone",
			"message", f.messageID, "recipients", f.msg.total, "err", err)
	}
}
