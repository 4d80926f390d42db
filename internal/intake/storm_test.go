package intake_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/intake"
	"github.com/sitrep-dev/sitrep/internal/web"
	"github.com/sitrep-dev/sitrep/internal/web/api"
)

// An alert storm: 1,000 Alertmanager notifications in well under a minute,
// ~50 distinct alerts, posted 32 at a time through the real HTTP handler.
// One draft per distinct alert, every other delivery attached and counted,
// and /healthz answers quickly all along.
func TestAlertStormMakesOneDraftPerAlertAndTheServerStaysResponsive(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.svc.Now = nil // real time: the figures are real
	srv := &web.Server{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ts := httptest.NewServer(srv.Handler(&api.Server{Server: srv, Intake: h.svc}))
	defer ts.Close()

	const total, distinct, workers = 1000, 50, 32
	start := time.Now().UTC().Add(-3 * time.Minute)
	body := func(i int) []byte {
		fp := fmt.Sprintf("storm%04d", i%distinct)
		return []byte(fmt.Sprintf(`{"version":"4","status":"firing","receiver":"sitrep","groupLabels":{},"commonLabels":{},
"commonAnnotations":{},"externalURL":"http://am:9093","alerts":[{"status":"firing","labels":{"alertname":"NodeDown","instance":%q,
"job":"edge"},"annotations":{"summary":"Node %s down"},"startsAt":%q,"endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prom/g",
"fingerprint":%q}]}`, fp, fp, start.Add(time.Duration(i%distinct)*time.Second).Format(time.RFC3339Nano), fp))
	}

	stop := make(chan struct{})
	var health []time.Duration
	var healthDone sync.WaitGroup
	healthDone.Add(1)
	go func() {
		defer healthDone.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			t0 := time.Now()
			resp, err := http.Get(ts.URL + "/healthz")
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			health = append(health, time.Since(t0))
		}
	}()

	jobs := make(chan int)
	latencies := make([]time.Duration, total)
	var wg sync.WaitGroup
	began := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				req, _ := http.NewRequest("POST", ts.URL+"/api/v1/intake/alertmanager", bytes.NewReader(body(i)))
				req.Header.Set("Authorization", "Bearer "+secret)
				t0 := time.Now()
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				latencies[i] = time.Since(t0)
				if resp.StatusCode != http.StatusAccepted {
					t.Errorf("alert %d: %s", i, resp.Status)
				}
			}
		}()
	}
	for i := 0; i < total; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(began)
	close(stop)
	healthDone.Wait()

	drafts, err := h.svc.List(context.Background(), "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	fired := 0
	for _, d := range drafts {
		fired += d.Fired
	}
	if len(drafts) != distinct || fired != total {
		t.Errorf("%d drafts firing %d times in all; want %d drafts, %d alerts", len(drafts), fired, distinct, total)
	}
	if len(h.notes.jobs) != distinct {
		t.Errorf("%d notes to the comms lead; want one per draft (%d)", len(h.notes.jobs), distinct)
	}
	for _, d := range drafts {
		if d.State != intake.StateDraft || d.FirstFailureAt.Before(start.Add(-time.Second)) {
			t.Errorf("draft %+v", d)
			break
		}
	}
	p95 := percentile(latencies, 0.95)
	healthMax := percentile(health, 1)
	t.Logf("storm: %d alerts (%d distinct) in %s = %.0f alerts/s; intake latency p50 %s p95 %s max %s; /healthz %d probes, p95 %s, max %s",
		total, distinct, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds(), percentile(latencies, 0.5).Round(time.Microsecond),
		p95.Round(time.Microsecond), percentile(latencies, 1).Round(time.Microsecond), len(health),
		percentile(health, 0.95).Round(time.Microsecond), healthMax.Round(time.Microsecond))
	if elapsed > time.Minute {
		t.Errorf("1,000 alerts took %s; a storm of 1,000 a minute would pile up", elapsed)
	}
	if healthMax > time.Second {
		t.Errorf("/healthz took up to %s during the storm", healthMax)
	}
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(p*float64(len(s))+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}
