package ui

import (
	"fmt"
	"html/template"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/web"
)

// The report's charts, drawn here as SVG: no script, no library, readable
// on a phone. Each is horizontal bars, one row per month (or system), so
// that its labels keep their size when a narrow screen scales it down;
// each has a title and a description that says every number it shows
// (role="img"), and the page has the same numbers in a table.

// chartSeries is one bar per row: a figure (nil: none that month).
type chartSeries struct {
	Name   string
	Class  string // the bar's CSS class: its colour
	Values []*float64
}

// chart geometry, in the SVG's own units: the viewBox is chartWidth wide
// and scales to the page's width.
const (
	chartWidth  = 480
	labelMin    = 84  // the row labels' column, right-aligned before the bars, at least
	labelMax    = 180 // and at most
	charWidth   = 8   // a label's character, about, at fontSize
	valueWidth  = 78  // the value after each bar
	barHeight   = 14  // one series' bar
	rowGap      = 10  // between rows
	legendSpace = 26  // above the rows, when there are two series
	fontSize    = 13  // labels and values
	titleSpace  = 4   // above the first row without a legend
	minBarWidth = 1.5 // a value of 0 still shows where it is
)

// barChart draws rows of horizontal bars, one per series, each with its
// value written after it by format; a missing value is a dash. top is
// the value of a full-width bar.
func barChart(id, title, desc string, labels []string, series []chartSeries, top float64, format func(float64) string) template.HTML {
	esc := template.HTMLEscapeString
	head := titleSpace
	if len(series) > 1 {
		head = legendSpace
	}
	rowHeight := len(series)*barHeight + rowGap
	height := head + len(labels)*rowHeight + rowGap
	labelWidth := labelMin
	for _, l := range labels {
		labelWidth = max(labelWidth, min(labelMax, 12+charWidth*utf8.RuneCountInString(l)))
	}
	barsWidth := float64(chartWidth - labelWidth - valueWidth)
	if top <= 0 {
		top = 1
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" id="%s" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-title %s-desc" preserveAspectRatio="xMinYMin meet" font-size="%d">`,
		esc(id), chartWidth, height, esc(id), esc(id), fontSize)
	fmt.Fprintf(&b, `<title id="%s-title">%s</title><desc id="%s-desc">%s</desc>`, esc(id), esc(title), esc(id), esc(desc))
	if len(series) > 1 {
		x := labelWidth
		for _, s := range series {
			fmt.Fprintf(&b, `<rect class="%s" x="%d" y="6" width="12" height="12"/><text x="%d" y="17">%s</text>`, esc(s.Class), x, x+16, esc(s.Name))
			x += 16 + 8*len(s.Name) + 24
		}
	}
	for i, label := range labels {
		y := head + i*rowHeight + rowGap/2
		fmt.Fprintf(&b, `<text class="label" x="%d" y="%d" text-anchor="end">%s</text>`, labelWidth-8, y+len(series)*barHeight/2+fontSize/2-1, esc(label))
		for j, s := range series {
			by := y + j*barHeight
			v := s.Values[i]
			if v == nil {
				fmt.Fprintf(&b, `<text class="value" x="%d" y="%d">—</text>`, labelWidth+4, by+barHeight-2)
				continue
			}
			w := *v / top * barsWidth
			if w < minBarWidth {
				w = minBarWidth
			}
			fmt.Fprintf(&b, `<rect class="%s" x="%d" y="%d" width="%.1f" height="%d"><title>%s %s: %s</title></rect>`,
				esc(s.Class), labelWidth, by+1, w, barHeight-2, esc(label), esc(s.Name), esc(format(*v)))
			fmt.Fprintf(&b, `<text class="value" x="%.1f" y="%d">%s</text>`, float64(labelWidth)+w+4, by+barHeight-2, esc(format(*v)))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// reportCharts are the report page's four charts.
func reportCharts(r *incident.CommsReport) []reportChart {
	var labels, spoken []string
	for _, m := range r.Months {
		labels = append(labels, monthLabel(m.Key))
		spoken = append(spoken, monthLabel(m.Key))
	}
	span := monthLabel(r.From) + " to " + monthLabel(r.To)
	if r.Severity != "" {
		span += ", " + r.Severity + " only"
	}
	pct := func(v float64) string { return fmt.Sprintf("%.1f%%", v) }
	dur := func(v float64) string { return web.HumanDuration(time.Duration(v) * time.Second) }
	describe := func(name string, values []*float64, format func(float64) string, none string) string {
		parts := make([]string, len(values))
		for i, v := range values {
			parts[i] = spoken[i] + " " + none
			if v != nil {
				parts[i] = spoken[i] + " " + format(*v)
			}
		}
		return name + ": " + strings.Join(parts, "; ") + "."
	}

	kept := make([]*float64, len(r.Months))
	fuMedian, fuP90 := make([]*float64, len(r.Months)), make([]*float64, len(r.Months))
	anMedian, anP90 := make([]*float64, len(r.Months)), make([]*float64, len(r.Months))
	var fuMax, anMax float64
	for i, m := range r.Months {
		kept[i] = m.PromisesKeptPercent
		fuMedian[i], fuP90[i] = seconds(m.FirstUpdate.Median), seconds(m.FirstUpdate.P90)
		anMedian[i], anP90[i] = seconds(m.Answer.Median), seconds(m.Answer.P90)
		for _, v := range []*float64{fuMedian[i], fuP90[i]} {
			if v != nil && *v > fuMax {
				fuMax = *v
			}
		}
		for _, v := range []*float64{anMedian[i], anP90[i]} {
			if v != nil && *v > anMax {
				anMax = *v
			}
		}
	}
	charts := []reportChart{
		{ID: "chart-kept", Title: "Promises kept by month", SVG: barChart("chart-kept", "Promises kept by month, "+span,
			describe("Next-update promises kept, of those that came due", kept, pct, "none came due"),
			labels, []chartSeries{{Name: "kept", Class: "bar-kept", Values: kept}}, 100, pct)},
		{ID: "chart-first-update", Title: "Time to the first status update", SVG: barChart("chart-first-update", "Time to the first status update by month, "+span,
			describe("Median time from declaring to the first update", fuMedian, dur, "no update")+" "+
				describe("90th percentile", fuP90, dur, "no update"),
			labels, []chartSeries{{Name: "median", Class: "bar-median", Values: fuMedian}, {Name: "90th percentile", Class: "bar-p90", Values: fuP90}}, fuMax, dur)},
		{ID: "chart-answer", Title: "Time to answer a question", SVG: barChart("chart-answer", "Time to answer a stakeholder's question by month, "+span,
			describe("Median time to answer", anMedian, dur, "no answer")+" "+describe("90th percentile", anP90, dur, "no answer"),
			labels, []chartSeries{{Name: "median", Class: "bar-median", Values: anMedian}, {Name: "90th percentile", Class: "bar-p90", Values: anP90}}, anMax, dur)},
	}
	var sysLabels []string
	var sysValues []*float64
	var sysMax float64
	var sysSpoken []string
	for _, s := range r.Systems {
		name := s.System
		if name == "" {
			name = "none named"
		}
		n := float64(s.Incidents)
		sysLabels, sysValues = append(sysLabels, name), append(sysValues, &n)
		sysSpoken = append(sysSpoken, fmt.Sprintf("%s %d", name, s.Incidents))
		sysMax = max(sysMax, n)
	}
	if len(sysLabels) > 0 {
		count := func(v float64) string { return fmt.Sprintf("%d", int(v)) }
		charts = append(charts, reportChart{ID: "chart-systems", Title: "Incidents per system", SVG: barChart("chart-systems", "Incidents per suspected system, "+span,
			"Incidents that named each system: "+strings.Join(sysSpoken, "; ")+".", sysLabels,
			[]chartSeries{{Name: "incidents", Class: "bar-count", Values: sysValues}}, sysMax, count)})
	}
	return charts
}

// monthLabel is "2026-03" as "Mar 2026".
func monthLabel(key string) string {
	t, err := time.Parse("2006-01", key)
	if err != nil {
		return key
	}
	return t.Format("Jan 2006")
}

func seconds(v *int64) *float64 {
	if v == nil {
		return nil
	}
	f := float64(*v)
	return &f
}
