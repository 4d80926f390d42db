package inbox

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sitrep-dev/sitrep/internal/mailmsg"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// Metrics are the inbox's figures on /metrics: the messages set aside
// (from the database, so every replica reports the same) and this
// replica's failed attempts.
type Metrics struct {
	failures, malformedN, quarantinedN prometheus.Counter
}

// NewMetrics registers the inbox's metrics.
func NewMetrics(reg prometheus.Registerer, db *store.DB) *Metrics {
	m := &Metrics{
		failures: prometheus.NewCounter(prometheus.CounterOpts{Name: "sitrep_inbox_act_failures_total",
			Help: "Attempts to act on an inbound message that failed or ran out of time (this replica)."}),
		malformedN: prometheus.NewCounter(prometheus.CounterOpts{Name: "sitrep_inbox_malformed_total",
			Help: "Inbound messages over a parsing limit, filed in triage as malformed (this replica)."}),
		quarantinedN: prometheus.NewCounter(prometheus.CounterOpts{Name: "sitrep_inbox_quarantined_total",
			Help: "Inbound messages quarantined after repeated failures (this replica)."}),
	}
	reg.MustRegister(m.failures, m.malformedN, m.quarantinedN, &setAsideCollector{db: db})
	return m
}

func (m *Metrics) failed() {
	if m != nil {
		m.failures.Inc()
	}
}

func (m *Metrics) malformed() {
	if m != nil {
		m.malformedN.Inc()
	}
}

func (m *Metrics) quarantined() {
	if m != nil {
		m.quarantinedN.Inc()
	}
}

var setAsideDesc = prometheus.NewDesc("sitrep_inbox_set_aside",
	"Inbound messages waiting in triage because they were malformed or quarantined.", []string{"class"}, nil)

type setAsideCollector struct{ db *store.DB }

func (c *setAsideCollector) Describe(ch chan<- *prometheus.Desc) { ch <- setAsideDesc }

func (c *setAsideCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts := map[mailmsg.Class]float64{mailmsg.ClassMalformed: 0, mailmsg.ClassQuarantined: 0}
	rows, err := c.db.QueryContext(ctx, queries.Get("set-aside-counts"),
		mailmsg.ClassMalformed, mailmsg.ClassQuarantined)
	if err != nil {
		return
	}
	defer rows.Close()
	for rows.Next() {
		var class string
		var n int64
		if err := rows.Scan(&class, &n); err != nil {
			return
		}
		counts[mailmsg.Class(class)] = float64(n)
	}
	if rows.Err() != nil {
		return
	}
	for class, n := range counts {
		ch <- prometheus.MustNewConstMetric(setAsideDesc, prometheus.GaugeValue, n, string(class))
	}
}
