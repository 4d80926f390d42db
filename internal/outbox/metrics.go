package outbox

import (
	"context"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics of the outbox, for /metrics.
type Metrics struct {
	delivered prometheus.Counter
}

// NewMetrics registers the outbox's metrics. The promise-kept rate is
// read from the database at scrape time, so every replica reports the same.
func NewMetrics(reg prometheus.Registerer, o *Outbox) *Metrics {
	m := &Metrics{
		delivered: prometheus.NewCounter(prometheus.CounterOpts{Name: "sitrep_deliveries_sent_total", Help: "Recipients whose copy an SMTP server accepted (this replica)."}),
	}
	reg.MustRegister(m.delivered, &promiseCollector{o: o}, &deliveryCollector{o: o})
	return m
}

func (m *Metrics) sent(n int) {
	if m != nil {
		m.delivered.Add(float64(n))
	}
}

var (
	promiseRateDesc = prometheus.NewDesc("sitrep_incident_promise_kept_ratio",
		"Status updates sent on or before the promised time / updates promised, per active incident.", []string{"incident", "severity"}, nil)
	promiseOverdueDesc = prometheus.NewDesc("sitrep_incident_update_overdue",
		"1 when the incident's next promised update is overdue.", []string{"incident", "severity"}, nil)
	deliveriesDesc = prometheus.NewDesc("sitrep_deliveries", "Deliveries by state, over all messages.", []string{"state"}, nil)
)

type promiseCollector struct{ o *Outbox }

func (c *promiseCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- promiseRateDesc
	ch <- promiseOverdueDesc
}

func (c *promiseCollector) Collect(ch chan<- prometheus.Metric) {
	rows, err := c.o.DB.QueryContext(context.Background(), `SELECT id, severity, updates_promised, updates_on_time,
    CASE WHEN next_update_at IS NOT NULL AND next_update_at < $1 THEN 1 ELSE 0 END
FROM incidents WHERE state IN ('investigating', 'identified', 'monitoring')`, c.o.now())
	if err != nil {
		return
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var sev string
		var promised, kept, overdue int
		if rows.Scan(&id, &sev, &promised, &kept, &overdue) != nil {
			return
		}
		rate := 1.0
		if promised > 0 {
			rate = float64(kept) / float64(promised)
		}
		ref := "INC-" + strconv.FormatInt(id, 10)
		ch <- prometheus.MustNewConstMetric(promiseRateDesc, prometheus.GaugeValue, rate, ref, sev)
		ch <- prometheus.MustNewConstMetric(promiseOverdueDesc, prometheus.GaugeValue, float64(overdue), ref, sev)
	}
}

type deliveryCollector struct{ o *Outbox }

func (c *deliveryCollector) Describe(ch chan<- *prometheus.Desc) { ch <- deliveriesDesc }

func (c *deliveryCollector) Collect(ch chan<- prometheus.Metric) {
	rows, err := c.o.DB.QueryContext(context.Background(), `SELECT state, COUNT(*) FROM deliveries GROUP BY state`)
	if err != nil {
		return
	}
	defer rows.Close()
	for rows.Next() {
		var state string
		var n int
		if rows.Scan(&state, &n) != nil {
			return
		}
		ch <- prometheus.MustNewConstMetric(deliveriesDesc, prometheus.GaugeValue, float64(n), state)
	}
}
