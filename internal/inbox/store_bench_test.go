package inbox

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/jobs"
	"github.com/sitrep-dev/sitrep/internal/storetest"
)

// BenchmarkStoreBacklog stores 10,000 messages as the ingester does (ten
// transactions of 1,000: lookup, rows, act jobs, checkpoint), without
// IMAP, and reports the CPU time it took on each side: this process's,
// and on PostgreSQL the server backend's, read from /proc (the test
// database is local). CPU time moves far less than wall time when the
// machine is shared. Run with
//
//	SITREP_TEST_DB=postgres go test -run '^$' -bench StoreBacklog -benchtime 3x ./internal/inbox/
func BenchmarkStoreBacklog(b *testing.B) {
	const n, batchSize = 10000, 1000
	now := time.Now()
	var batches [][]fetched
	for lo := 0; lo < n; lo += batchSize {
		var batch []fetched
		for i := lo; i < lo+batchSize; i++ {
			// The messages of BenchmarkBacklog.
			raw := fmt.Sprintf("From: Ben <ben@example.test>\r\nTo: status+tok@example.test\r\nSubject: Re: [INC-9] Backlog %d\r\n"+
				"Date: %s\r\nMessage-ID: <backlog-%d@client.example.test>\r\nContent-Type: text/plain\r\n\r\n"+
				"Reply number %d of the backlog, a few lines long like a real one.\r\nBen\r\n\r\n> quoted update\r\n> more quoted text\r\n",
				i, now.Format(time.RFC1123Z), i, i)
			batch = append(batch, newFetched(uint32(i+1), []byte(raw), int64(len(raw)), now))
		}
		batches = append(batches, batch)
	}
	var wall, client, server time.Duration
	for range b.N {
		b.StopTimer()
		db := storetest.Open(b)
		db.SetMaxOpenConns(1) // one server backend to watch
		ins, err := jobs.NewInserter(db)
		if err != nil {
			b.Fatal(err)
		}
		g := &Ingester{DB: db, Jobs: ins}
		g.IMAP.Username = "status"
		g.init()
		ctx := context.Background()
		if ok, err := acquireLease(ctx, db, g.key(), g.Owner, g.now(), g.now().Add(time.Hour)); err != nil || !ok {
			b.Fatalf("lease: %v %v", ok, err)
		}
		var backend int
		if db.Dialect == "postgres" {
			if err := db.QueryRow(`SELECT pg_backend_pid()`).Scan(&backend); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		s0, c0, w0 := procCPU(backend), selfCPU(), time.Now()
		for _, batch := range batches {
			if _, err := g.store(ctx, 1, batch, time.Now().Add(time.Minute)); err != nil {
				b.Fatal(err)
			}
		}
		wall += time.Since(w0)
		client += selfCPU() - c0
		server += procCPU(backend) - s0
		b.StopTimer()
		var got int
		if err := db.QueryRow(`SELECT COUNT(*) FROM inbound_messages`).Scan(&got); err != nil || got != n {
			b.Fatalf("%d rows stored of %d (%v)", got, n, err)
		}
		b.StartTimer()
	}
	per := func(d time.Duration) float64 { return float64(d.Milliseconds()) / float64(b.N) }
	b.ReportMetric(per(wall), "wall-ms")
	b.ReportMetric(per(client), "client-cpu-ms")
	if server > 0 {
		b.ReportMetric(per(server), "server-cpu-ms")
	}
}

// selfCPU is this process's CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU is process pid's CPU time so far (user and system), or 0 when
// it cannot be read.
func procCPU(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	// Fields after the command, which is in parentheses: utime and stime
	// are the 14th and 15th of the line, in clock ticks (USER_HZ, 100).
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+st) * 10 * time.Millisecond
}
