package intake

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/errs"
)

// Sources of alerts, each with its own endpoint and secret.
const (
	Alertmanager = "alertmanager"
	Pingdom      = "pingdom"
	Dynatrace    = "dynatrace"
	Generic      = "generic"
)

// Sources lists every source in a stable order.
var Sources = []string{Alertmanager, Pingdom, Dynatrace, Generic}

// Alert is one monitor's alert as sitrep reads it, whatever its source.
type Alert struct {
	Source string
	// Key is the monitor's identity of the alert: the same key firing
	// again attaches to the same draft.
	Key    string
	Firing bool // false: the monitor says it recovered
	Title  string
	// Names are the candidates for the suspected system, most specific
	// first (labels service, system, app, job; the check's name).
	Names    []string
	Detail   string
	URL      string
	Severity string // SEV1..SEV4 suggested by the monitor; "" unknown
	// SeverityMissing says why a monitor that should suggest a severity
	// did not; the draft then takes intake.default_severity and says it
	// was assumed, and why.
	SeverityMissing string
	// StartedAt is the first failure as the monitor saw it.
	StartedAt time.Time
	// EndedAt is when it recovered; zero when firing or unknown.
	EndedAt time.Time
}

// Parse reads one webhook delivery of source into its alerts.
func Parse(source string, body []byte) ([]Alert, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, errs.E(errs.Invalid, "empty body; want a JSON object")
	}
	var alerts []Alert
	var err error
	switch source {
	case Alertmanager:
		alerts, err = parseAlertmanager(body)
	case Pingdom:
		alerts, err = parsePingdom(body)
	case Dynatrace:
		alerts, err = parseDynatrace(body)
	case Generic:
		alerts, err = parseGeneric(body)
	default:
		return nil, errs.E(errs.NotFound, "no intake source %q (want one of %s)", source, strings.Join(Sources, ", "))
	}
	for i, a := range alerts {
		if len(a.Key) > 200 { // a key is an identity, not a document: keep the index small
			sum := sha256.Sum256([]byte(a.Key))
			alerts[i].Key = "sha256:" + hex.EncodeToString(sum[:])
		}
	}
	return alerts, err
}

func malformed(source string, err error) error {
	return errs.E(errs.Invalid, "malformed %s payload: %v", source, err)
}

// alertmanagerPayload is Alertmanager's webhook body, version 4
// (prometheus.io/docs/alerting/latest/configuration/#webhook_config).
type alertmanagerPayload struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
	Status            string            `json:"status"`
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []struct {
		Status       string            `json:"status"`
		Labels       map[string]string `json:"labels"`
		Annotations  map[string]string `json:"annotations"`
		StartsAt     time.Time         `json:"startsAt"`
		EndsAt       time.Time         `json:"endsAt"`
		GeneratorURL string            `json:"generatorURL"`
		Fingerprint  string            `json:"fingerprint"`
	} `json:"alerts"`
}

func parseAlertmanager(body []byte) ([]Alert, error) {
	var p alertmanagerPayload
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, malformed(Alertmanager, err)
	}
	if p.Version != "4" {
		return nil, errs.InvalidField("version", "Alertmanager webhook version %q; want \"4\"", p.Version)
	}
	if len(p.Alerts) == 0 {
		return nil, errs.InvalidField("alerts", "no alerts in the notification")
	}
	out := make([]Alert, 0, len(p.Alerts))
	for i, a := range p.Alerts {
		field := fmt.Sprintf("alerts[%d]", i)
		if a.Status != "firing" && a.Status != "resolved" {
			return nil, errs.InvalidField(field+".status", "want firing or resolved, got %q", a.Status)
		}
		if a.StartsAt.IsZero() {
			return nil, errs.InvalidField(field+".startsAt", "missing: the first failure time is what sitrep needs")
		}
		key := a.Fingerprint
		if key == "" {
			key = labelsHash(a.Labels) // Alertmanager's fingerprint is a hash of the label set too
		}
		title := firstNonEmpty(a.Annotations["summary"], a.Annotations["title"], a.Labels["alertname"])
		if title == "" {
			return nil, errs.InvalidField(field+".labels.alertname", "missing: an alert needs a name")
		}
		al := Alert{Source: Alertmanager, Key: key, Firing: a.Status == "firing", Title: title,
			Names:    nonEmpty(a.Labels["service"], a.Labels["system"], a.Labels["app"], a.Labels["job"]),
			Detail:   firstNonEmpty(a.Annotations["description"], a.Annotations["message"]),
			URL:      firstNonEmpty(a.GeneratorURL, p.ExternalURL),
			Severity: severityFrom(a.Labels["severity"]), StartedAt: a.StartsAt.UTC()}
		if !al.Firing && !a.EndsAt.IsZero() {
			al.EndedAt = a.EndsAt.UTC()
		}
		out = append(out, al)
	}
	return out, nil
}

// pingdomPayload is Pingdom's state-change webhook (Pingdom's "Webhooks"
// documentation, www.pingdom.com/resources/webhooks). It is sent for both
// kinds of check: uptime checks (check_type HTTP, TCP, PING, DNS, ...)
// change state UP ↔ DOWN and carry check_params; transaction checks
// (check_type TRANSACTION) change state SUCCESS ↔ FAILING and have no
// check_params. Everything else is common to both.
type pingdomPayload struct {
	CheckID     json.Number `json:"check_id"`
	CheckName   string      `json:"check_name"`
	CheckType   string      `json:"check_type"`
	CheckParams struct {
		FullURL  string `json:"full_url"`
		Hostname string `json:"hostname"`
	} `json:"check_params"`
	Tags                  []string `json:"tags"`
	PreviousState         string   `json:"previous_state"`
	CurrentState          string   `json:"current_state"`
	ImportanceLevel       string   `json:"importance_level"`
	StateChangedTimestamp int64    `json:"state_changed_timestamp"`
	StateChangedUTCTime   string   `json:"state_changed_utc_time"`
	LongDescription       string   `json:"long_description"`
	Description           string   `json:"description"`
	CustomMessage         string   `json:"custom_message"`
}

func parsePingdom(body []byte) ([]Alert, error) {
	var p pingdomPayload
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&p); err != nil {
		return nil, malformed(Pingdom, err)
	}
	if p.CheckID.String() == "" {
		return nil, errs.InvalidField("check_id", "missing")
	}
	// The state words say which kind of check it is; check_type is not
	// needed to read them, so a check type Pingdom adds later still reads.
	var firing bool
	failing := "down"
	switch strings.ToUpper(p.CurrentState) {
	case "DOWN":
		firing = true
	case "FAILING":
		firing, failing = true, "failing"
	case "UP":
	case "SUCCESS":
		failing = "failing"
	default:
		return nil, errs.InvalidField("current_state", "want DOWN or UP (an uptime check) or FAILING or SUCCESS (a transaction check), got %q", p.CurrentState)
	}
	if strings.EqualFold(p.CheckType, "TRANSACTION") {
		failing = "failing"
	}
	at := time.Unix(p.StateChangedTimestamp, 0).UTC()
	if p.StateChangedTimestamp == 0 {
		t, err := time.Parse("2006-01-02T15:04:05", p.StateChangedUTCTime)
		if err != nil {
			return nil, errs.InvalidField("state_changed_timestamp", "missing, and state_changed_utc_time %q is not a time", p.StateChangedUTCTime)
		}
		at = t.UTC()
	}
	name := firstNonEmpty(p.CheckName, "check "+p.CheckID.String())
	a := Alert{Source: Pingdom, Key: p.CheckID.String(), Firing: firing, Title: "Pingdom: " + name + " is " + failing,
		Names: nonEmpty(p.CheckName, p.CheckParams.Hostname), Detail: firstNonEmpty(p.LongDescription, p.Description, p.CustomMessage),
		URL: p.CheckParams.FullURL, Severity: severityFrom(p.ImportanceLevel), StartedAt: at}
	if !firing {
		a.EndedAt = at
	}
	return []Alert{a}, nil
}

// dynatracePayload is what a Dynatrace custom integration sends: the
// JSON payload template its owner writes, with Dynatrace's placeholders
// filled in (docs.dynatrace.com, "Problem notifications: Webhook
// integration"). The names are the template's, so both the template in
// docs/monitors.md and Dynatrace's own documented example read: that
// example names the link "Problem URL" (with a space) and sends neither
// {ProblemSeverity} nor {ProblemDetailsText}, only {ProblemDetailsHTML}.
type dynatracePayload struct {
	ProblemID       string  `json:"ProblemID"`
	PID             string  `json:"PID"`
	State           string  `json:"State"`
	ProblemTitle    string  `json:"ProblemTitle"`
	ProblemURL      *string `json:"ProblemURL"`
	ProblemURLSpace *string `json:"Problem URL"` // Dynatrace's documented example
	ProblemImpact   string  `json:"ProblemImpact"`
	ProblemSeverity string  `json:"ProblemSeverity"`
	ProblemDetails  string  `json:"ProblemDetailsText"`
	ProblemHTML     string  `json:"ProblemDetailsHTML"`
	Tags            string  `json:"Tags"`
	// ImpactedEntity ({ImpactedEntity}) is "name, name" or "N impacted
	// entities"; the list is in {ImpactedEntities}.
	ImpactedEntity   string          `json:"ImpactedEntity"`
	ImpactedEntities json.RawMessage `json:"ImpactedEntities"`
	// ProblemDetailsJSON ({ProblemDetailsJSON}) carries the problem's
	// startTime and endTime in epoch milliseconds: the first failure.
	ProblemDetailsJSON struct {
		StartTime int64 `json:"startTime"`
		EndTime   int64 `json:"endTime"`
	} `json:"ProblemDetailsJSON"`
}

func parseDynatrace(body []byte) ([]Alert, error) {
	var p dynatracePayload
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, malformed(Dynatrace, err)
	}
	key := firstNonEmpty(p.PID, p.ProblemID)
	if key == "" {
		return nil, errs.InvalidField("PID", "missing (and no ProblemID): the template must send {PID} or {ProblemID}")
	}
	var firing bool
	switch strings.ToUpper(p.State) {
	case "OPEN", "MERGED":
		firing = true
	case "RESOLVED", "CLOSED":
	default:
		return nil, errs.InvalidField("State", "want OPEN or RESOLVED, got %q", p.State)
	}
	if strings.TrimSpace(p.ProblemTitle) == "" {
		return nil, errs.InvalidField("ProblemTitle", "missing")
	}
	var entities []struct {
		Type   string `json:"type"`
		Name   string `json:"name"`
		Entity string `json:"entity"`
	}
	if len(p.ImpactedEntities) > 0 && string(p.ImpactedEntities) != "null" {
		if err := json.Unmarshal(p.ImpactedEntities, &entities); err != nil {
			return nil, errs.InvalidField("ImpactedEntities", "want the {ImpactedEntities} JSON list: %v", err)
		}
	}
	// The link is what takes the comms lead to the problem: a template
	// without it is refused, so that Dynatrace's "Send test notification"
	// says what to add, rather than every draft opening without its link.
	var url string
	switch {
	case p.ProblemURL != nil:
		url = *p.ProblemURL
	case p.ProblemURLSpace != nil:
		url = *p.ProblemURLSpace
	default:
		return nil, errs.InvalidField("ProblemURL", `missing: the template must send "ProblemURL": "{ProblemURL}" (or "Problem URL", as in Dynatrace's example)`)
	}
	var names []string
	for _, e := range entities {
		names = append(names, e.Name)
	}
	if len(entities) == 0 && !strings.HasSuffix(strings.TrimSpace(p.ImpactedEntity), "impacted entities") {
		names = append(names, strings.Split(p.ImpactedEntity, ",")...)
	}
	names = append(names, tagValues(p.Tags, "service", "system", "app")...)
	a := Alert{Source: Dynatrace, Key: key, Firing: firing, Title: p.ProblemTitle, Names: nonEmpty(names...),
		Detail: firstNonEmpty(p.ProblemDetails, htmlText(p.ProblemHTML), strings.TrimSpace(p.ProblemImpact+" "+p.ProblemSeverity)),
		URL:    strings.TrimSpace(url), Severity: dynatraceSeverity(p.ProblemSeverity, p.ProblemImpact)}
	if a.Severity == "" {
		if strings.TrimSpace(p.ProblemSeverity) == "" {
			a.SeverityMissing = "the Dynatrace payload has no ProblemSeverity (add \"ProblemSeverity\": \"{ProblemSeverity}\" to the template)"
		} else {
			a.SeverityMissing = fmt.Sprintf("Dynatrace's ProblemSeverity %q is not one sitrep knows", oneLine(p.ProblemSeverity, 40))
		}
	}
	if ms := p.ProblemDetailsJSON.StartTime; ms > 0 {
		a.StartedAt = time.UnixMilli(ms).UTC()
	}
	if ms := p.ProblemDetailsJSON.EndTime; ms > 0 && !firing {
		a.EndedAt = time.UnixMilli(ms).UTC()
	}
	return []Alert{a}, nil
}

// htmlText is the text of an HTML fragment such as {ProblemDetailsHTML}:
// tags dropped, character references decoded, white space collapsed. One
// pass over the input: it is a monitor's summary, not a page to render.
func htmlText(s string) string {
	var b strings.Builder
	inTag := false
	for _, r := range s {
		switch {
		case r == '<':
			inTag = true
			b.WriteByte(' ')
		case r == '>' && inTag:
			inTag = false
		case !inTag:
			b.WriteRune(r)
		}
	}
	return strings.Join(strings.Fields(html.UnescapeString(b.String())), " ")
}

// GenericAlert is sitrep's own form, for any monitor that can POST JSON:
// {"key", "status": "firing"|"resolved", "title", "system", "started_at",
// "ended_at", "url", "severity", "description"}.
type GenericAlert struct {
	Key         string    `json:"key"`
	Status      string    `json:"status"`
	Title       string    `json:"title"`
	System      string    `json:"system"`
	StartedAt   time.Time `json:"started_at"`
	EndedAt     time.Time `json:"ended_at"`
	URL         string    `json:"url"`
	Severity    string    `json:"severity"`
	Description string    `json:"description"`
}

func parseGeneric(body []byte) ([]Alert, error) {
	var g GenericAlert
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&g); err != nil {
		return nil, errs.E(errs.Invalid, "malformed generic alert: %v (want {key, status, title, system, started_at, ended_at, url, severity, description})", err)
	}
	switch {
	case strings.TrimSpace(g.Key) == "":
		return nil, errs.InvalidField("key", "missing: the same key firing again attaches to the same draft")
	case strings.TrimSpace(g.Title) == "":
		return nil, errs.InvalidField("title", "missing")
	case g.StartedAt.IsZero():
		return nil, errs.InvalidField("started_at", "missing: the first failure time, RFC 3339")
	}
	status := strings.ToLower(firstNonEmpty(g.Status, "firing"))
	if status != "firing" && status != "resolved" {
		return nil, errs.InvalidField("status", "want firing or resolved, got %q", g.Status)
	}
	a := Alert{Source: Generic, Key: g.Key, Firing: status == "firing", Title: g.Title, Names: nonEmpty(g.System),
		Detail: g.Description, URL: g.URL, Severity: severityFrom(g.Severity), StartedAt: g.StartedAt.UTC()}
	if !a.Firing && !g.EndedAt.IsZero() {
		a.EndedAt = g.EndedAt.UTC()
	}
	return []Alert{a}, nil
}

// severityFrom maps the monitors' usual words to SEV1..SEV4; unknown: "".
func severityFrom(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "sev1", "1", "critical", "page", "p1", "emergency":
		return "SEV1"
	case "sev2", "2", "high", "error", "major", "p2":
		return "SEV2"
	case "sev3", "3", "warning", "medium", "minor", "p3":
		return "SEV3"
	case "sev4", "4", "info", "low", "p4", "none":
		return "SEV4"
	}
	return ""
}

// dynatraceSeverity: an availability problem is an outage; errors and
// slowness less so; resource contention and custom alerts least.
func dynatraceSeverity(severity, impact string) string {
	sev := map[string]string{"AVAILABILITY": "SEV1", "ERROR": "SEV2", "PERFORMANCE": "SEV3", "RESOURCE_CONTENTION": "SEV3",
		"RESOURCE": "SEV3", "CUSTOM_ALERT": "SEV3", "MONITORING_UNAVAILABLE": "SEV4", "INFO": "SEV4"}[strings.ToUpper(severity)]
	if sev == "SEV2" && strings.EqualFold(impact, "APPLICATION") {
		return "SEV1" // errors seen by users of an application
	}
	return sev
}

// tagValues reads "key:value" pairs out of Dynatrace's comma-separated {Tags}.
func tagValues(tags string, keys ...string) []string {
	var out []string
	for _, t := range strings.Split(tags, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(t), ":")
		if !ok {
			continue
		}
		for _, want := range keys {
			if strings.EqualFold(strings.TrimSpace(k), want) {
				out = append(out, strings.TrimSpace(v))
			}
		}
	}
	return out
}

func labelsHash(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		h.Write([]byte(strconv.Quote(k) + "=" + strconv.Quote(labels[k]) + ","))
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

func nonEmpty(s ...string) []string {
	var out []string
	seen := map[string]bool{}
	for _, v := range s {
		v = strings.TrimSpace(v)
		if v != "" && !seen[strings.ToLower(v)] {
			seen[strings.ToLower(v)] = true
			out = append(out, v)
		}
	}
	return out
}
