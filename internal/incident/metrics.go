package incident

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sitrep-dev/sitrep/internal/store"
)

var (
	promiseRateDesc = prometheus.NewDesc("sitrep_incident_promise_kept_ratio",
		"Status updates sent on or before the promised time / updates promised, per active incident.", []string{"incident", "severity"}, nil)
	promiseOverdueDesc = prometheus.NewDesc("sitrep_incident_update_overdue",
		"1 when the incident's next promised update is overdue.", []string{"incident", "severity"}, nil)
)

// RegisterMetrics registers the next-update promise's gauges. They are
// read from the database at scrape time, so every replica reports the same.
func RegisterMetrics(reg prometheus.Registerer, db *store.DB) {
	reg.MustRegister(&promiseCollector{db: db})
}

type promiseCollector struct{ db *store.DB }

func (c *promiseCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- promiseRateDesc
	ch <- promiseOverdueDesc
}

func (c *promiseCollector) Collect(ch chan<- prometheus.Metric) {
	rows, err := c.db.QueryContext(context.Background(), queries.Get("promise-gauges"), time.Now().UTC())
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
		// The overdue promise counts as missed already, as in Promise.derive.
		rate := KeptRate(kept, promised+overdue)
		ref := FormatRef(id)
		ch <- prometheus.MustNewConstMetric(promiseRateDesc, prometheus.GaugeValue, rate, ref, sev)
		ch <- prometheus.MustNewConstMetric(promiseOverdueDesc, prometheus.GaugeValue, float64(overdue), ref, sev)
	}
}
