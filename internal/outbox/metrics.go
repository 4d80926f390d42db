package outbox

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics of the outbox, for /metrics.
type Metrics struct {
	delivered prometheus.Counter
}

// NewMetrics registers the outbox's metrics. Delivery states are read
// from the database at scrape time, so every replica reports the same.
func NewMetrics(reg prometheus.Registerer, o *Outbox) *Metrics {
	m := &Metrics{
		delivered: prometheus.NewCounter(prometheus.CounterOpts{Name: "sitrep_deliveries_sent_total", Help: "Recipients whose copy an SMTP server accepted (this replica)."}),
	}
	reg.MustRegister(m.delivered, &deliveryCollector{o: o})
	return m
}

func (m *Metrics) sent(n int) {
	if m != nil {
		m.delivered.Add(float64(n))
	}
}

var deliveriesDesc = prometheus.NewDesc("sitrep_deliveries", "Deliveries by state, over all messages.", []string{"state"}, nil)

type deliveryCollector struct{ o *Outbox }

func (c *deliveryCollector) Describe(ch chan<- *prometheus.Desc) { ch <- deliveriesDesc }

func (c *deliveryCollector) Collect(ch chan<- prometheus.Metric) {
	counts, err := stateCounts(c.o.DB.QueryContext(context.Background(), queries.Get("deliveries-by-state")))
	if err != nil {
		return
	}
	for state, n := range counts {
		ch <- prometheus.MustNewConstMetric(deliveriesDesc, prometheus.GaugeValue, float64(n), state)
	}
}
