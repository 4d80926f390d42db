package incident

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// CommsMetrics are the scorecard's figures as Prometheus histograms, each
// observed once, when it happens, on the replica where it happens (sum
// the replicas): the time to the first status update, the time to answer
// a stakeholder's question, and how late each next-update promise was
// met. The one label is the severity.
type CommsMetrics struct {
	firstUpdate *prometheus.HistogramVec
	answer      *prometheus.HistogramVec
	lateness    *prometheus.HistogramVec
}

// NewCommsMetrics registers the scorecard's histograms on reg. A series
// exists for every severity from the start, at zero.
func NewCommsMetrics(reg prometheus.Registerer) *CommsMetrics {
	m := &CommsMetrics{
		firstUpdate: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sitrep_incident_first_update_seconds",
			Help:    "Time from declaring an incident to its first status update, observed when that update is sent.",
			Buckets: []float64{60, 120, 300, 600, 900, 1800, 3600, 7200, 14400},
		}, []string{"severity"}),
		answer: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "sitrep_incident_question_answer_seconds",
			Help: "Time from a stakeholder's question to its answer, which a lead records (marking it answered, or sending an update that answers it), " +
				"observed when it is marked.",
			Buckets: []float64{60, 300, 600, 900, 1800, 3600, 7200, 14400, 28800},
		}, []string{"severity"}),
		lateness: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "sitrep_incident_promise_lateness_seconds",
			Help: "How late each next-update promise that came due was met, observed when the next update (or the resolution) settles it; " +
				"0 is kept (on or before the promised time).",
			Buckets: []float64{0, 60, 300, 600, 900, 1800, 3600, 7200},
		}, []string{"severity"}),
	}
	for _, sev := range Severities {
		m.firstUpdate.WithLabelValues(string(sev))
		m.answer.WithLabelValues(string(sev))
		m.lateness.WithLabelValues(string(sev))
	}
	reg.MustRegister(m.firstUpdate, m.answer, m.lateness)
	return m
}

func (m *CommsMetrics) promiseSettled(sev Severity, late time.Duration) {
	if m != nil {
		m.lateness.WithLabelValues(string(sev)).Observe(max(0, late.Round(time.Second).Seconds()))
	}
}

// Answered observes a stakeholder's question answered d after it was
// received: called once per question, when a lead marks it answered (the
// reply flow's QuestionBook) or sends an update that answers it, after
// the mark committed. A nil m observes nothing.
func (m *CommsMetrics) Answered(sev Severity, d time.Duration) {
	if m != nil {
		m.answer.WithLabelValues(string(sev)).Observe(max(0, d.Round(time.Second).Seconds()))
	}
}

// observeUpdate observes what status update number (1-based) of inc,
// sent at now, settled once its transaction committed: the first update,
// the promise the update kept or missed, and the questions it answered
// (asked: when each was received). inc is the incident as it was before
// the update.
func (c *Comms) observeUpdate(inc *Incident, number int, now time.Time, asked []time.Time) {
	m := c.Incidents.Metrics
	if m == nil {
		return
	}
	if number == 1 {
		m.firstUpdate.WithLabelValues(string(inc.Severity)).Observe(now.Sub(inc.DeclaredAt).Round(time.Second).Seconds())
	}
	if due := inc.Promise.NextUpdateAt; due != nil {
		m.promiseSettled(inc.Severity, now.Sub(*due))
	}
	for _, t := range asked {
		m.Answered(inc.Severity, now.Sub(t))
	}
}
