package main

import (
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/jobs"
	"github.com/sitrep-dev/sitrep/internal/mailmsg"
	"github.com/sitrep-dev/sitrep/internal/outbox"
	"github.com/sitrep-dev/sitrep/internal/reply"
	"github.com/sitrep-dev/sitrep/internal/resolution"
)

// pastClock is the scripted incidents' clock: the hub runs on the real
// one, the script on this, over the hub's own database.
type pastClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *pastClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *pastClock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

type repliesDone struct {
	mu   sync.Mutex
	done map[int64]bool
}

func (r *repliesDone) Finish(_ context.Context, _ *sql.Tx, id int64, _ mailmsg.Outcome) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done[id] {
		return mailmsg.ErrAlreadyDone
	}
	r.done[id] = true
	return nil
}

// pastScript writes incidents of the past into the hub's database through
// the same services the hub runs, on a clock the script sets: the hub's
// workers deliver what it queues.
type pastScript struct {
	t          *testing.T
	clock      *pastClock
	incidents  *incident.Service
	comms      *incident.Comms
	replies    *reply.Service
	resolution *resolution.Service
	inbound    int64
}

func newPastScript(t *testing.T, h *testHub) *pastScript {
	t.Helper()
	renderer, err := compose.New("")
	if err != nil {
		t.Fatal(err)
	}
	ins, err := jobs.NewInserter(h.db)
	if err != nil {
		t.Fatal(err)
	}
	s := &pastScript{t: t, clock: &pastClock{}, inbound: 900000}
	s.incidents = &incident.Service{DB: h.db, People: h.directory, CommsLeads: h.directory, KnownSystems: h.directory, Now: s.clock.now}
	ob := &outbox.Outbox{DB: h.db, Jobs: ins, Renderer: renderer, Directory: h.directory, Now: s.clock.now,
		Domain: h.cfg.Mail.Domain, From: h.cfg.Mail.From, ReplyPart: h.cfg.Mail.ReplyLocalPart}
	s.comms = &incident.Comms{DB: h.db, Incidents: s.incidents, Directory: h.directory, Mail: ob, Now: s.clock.now, Messages: ob}
	s.incidents.OnDeclare = []incident.DeclareListener{s.comms}
	s.replies = &reply.Service{DB: h.db, Incidents: s.incidents, Comms: s.comms, Mail: ob, Directory: h.directory,
		Inbox: &repliesDone{done: map[int64]bool{}}, Now: s.clock.now, LocalPart: h.cfg.Mail.ReplyLocalPart}
	s.comms.QuestionLog = s.replies
	// A question is answered when a lead says so: here, by an update sent
	// as answering the open questions (answer).
	s.comms.Questions = &reply.QuestionBook{DB: h.db, Now: s.clock.now}
	s.resolution = &resolution.Service{DB: h.db, Incidents: s.incidents, Mail: ob, Comms: s.comms, Directory: h.directory, Now: s.clock.now}
	return s
}

func (s *pastScript) at(t time.Time) { s.clock.set(t) }

func (s *pastScript) declare(at time.Time, sev string, systems ...string) *incident.Incident {
	s.t.Helper()
	s.at(at)
	inc, err := s.incidents.Declare(context.Background(), "grace.okafor@sitrep.example", incident.DeclareInput{
		Title: "Scripted " + sev + " " + at.Format("Jan 2"), Severity: sev, Scope: incident.Scope{Systems: systems}})
	if err != nil {
		s.t.Fatal(err)
	}
	return inc
}

func (s *pastScript) update(inc *incident.Incident, at time.Time, next string) {
	s.t.Helper()
	s.send(inc, at, next, false)
}

// answer is an update the comms lead sends as answering the open
// questions: the questions are answered at its time.
func (s *pastScript) answer(inc *incident.Incident, at time.Time, next string) {
	s.t.Helper()
	s.send(inc, at, next, true)
}

func (s *pastScript) send(inc *incident.Incident, at time.Time, next string, answers bool) {
	s.t.Helper()
	s.at(at)
	if _, err := s.comms.SendUpdate(context.Background(), "grace.okafor@sitrep.example", inc.Ref,
		incident.UpdateInput{Status: "Scripted status at " + at.Format("15:04") + ".", Next: next, Groups: []string{"exec"}, AnswersQuestions: answers}); err != nil {
		s.t.Fatal(err)
	}
}

func (s *pastScript) ask(inc *incident.Incident, at time.Time, from string) {
	s.t.Helper()
	s.at(at)
	s.inbound++
	raw := fmt.Sprintf("From: %s\r\nTo: status+%s@sitrep.example\r\nSubject: Re: [%s] %s\r\nMessage-ID: <scripted-%d@sitrep.example>\r\nContent-Type: text/plain\r\n\r\nWhen will it be fixed?\r\n",
		from, inc.ReplyToken, inc.Ref, inc.Title, s.inbound)
	m, err := mailmsg.Parse([]byte(raw), 0)
	if err != nil {
		s.t.Fatal(err)
	}
	out := mailmsg.Outcome{Class: string(mailmsg.Classify(m)), Sender: strings.ToLower(m.From.Email), SenderName: m.From.Name, Subject: m.Subject, NewText: m.NewText}
	if err := s.replies.Handle(context.Background(), &mailmsg.Received{ID: s.inbound, Message: m, Outcome: out}); err != nil {
		s.t.Fatal(err)
	}
}

func (s *pastScript) resolve(inc *incident.Incident, at time.Time) {
	s.t.Helper()
	s.at(at)
	if _, err := s.resolution.Resolve(context.Background(), "grace.okafor@sitrep.example", inc.Ref,
		resolution.ResolveInput{RootCause: "A scripted cause.", Impact: "Scripted."}); err != nil {
		s.t.Fatal(err)
	}
}

// reportCell is one figure of the report page: its text and its value.
type reportCell struct {
	Text  string `json:"text"`
	Value string `json:"value"`
}

// TestReportPageInChromium: two months of scripted incidents with known
// timings, the report page at a phone's and a desktop's width, every
// figure shown equal to the value worked out by hand below, the charts
// accessible, and the CSV and JSON (the page's and the API's) holding the
// figures the page shows.
//
// October 2025
//
//	A SEV1 checkout, Oct 6 10:00. Updates 10:04 (+30m: 10:34), 10:34 (kept; +30m: 11:04), 11:10 (missed by 6m).
//	  Mark asks 10:20, answered by the 10:34 update (sent as answering the open questions): 14m. Resolved 11:20. First update 4m.
//	B SEV2 search, Oct 20 09:00. Updates 09:10 (+1h: 10:10), 10:05 (kept; answering). Mark asks 09:30, answered 10:05: 35m.
//	  Resolved 10:30. First update 10m.
//
// November 2025
//
//	C SEV1 checkout and payments, Nov 3 14:00. Updates 14:02 (+15m: 14:17), 14:17 (kept; answering; +15m: 14:32), 14:40 (missed by 8m; answering).
//	  Mark asks 14:05 (answered 14:17: 12m), Rose asks 14:30 (answered 14:40: 10m). Resolved 14:50. First update 2m.
//	D SEV3 no system, Nov 17 08:00. Update 08:30 (+2h); resolved 09:00 before it came due. First update 30m.
//	E SEV2 search, Nov 24 16:00. No update; Mark asks 16:10, never marked answered. Resolved 16:20.
//
// Months: Oct 2 incidents, 2 of 3 promises kept (66.7%), first update median 4m p90 10m, answers median 14m p90 35m (2 of 2);
// Nov 3 incidents, 1 of 2 (50.0%), first update median 2m p90 30m, answers median 10m p90 12m (2 of 3).
// All: 5 incidents, 3 of 5 (60.0%), first update [2m 4m 10m 30m] median 4m p90 30m, answers [10m 12m 14m 35m] median 12m p90 35m (4 of 5).
// SEV1: A, C: 2 of 4 (50.0%), first update median 2m p90 4m, answers [10m 12m 14m] median 12m p90 14m (3 of 3).
// SEV2: B, E: 1 of 1 (100.0%), first update 10m, answers 35m (1 of 2). SEV3: D: no promise due, first update 30m. SEV4: none.
// Systems: checkout 2 (Oct 1, Nov 1), search 2 (Oct 1, Nov 1), payments 1 (Nov 1), none named 1 (Nov 1).
func TestReportPageInChromium(t *testing.T) {
	t.Parallel()
	u, _ := startBrowser(t)
	u.do("open", chromedp.Navigate(u.base+"/reports"), chromedp.WaitVisible(chromedp.ID("email")))
	u.signIn()

	s := newPastScript(t, u.h)
	d := func(month time.Month, day, hh, mm int) time.Time {
		return time.Date(2025, month, day, hh, mm, 0, 0, time.UTC)
	}
	const mark, rose = "Mark Delaney <mark.delaney@sitrep.example>", "Rose Nakamura <rose.nakamura@sitrep.example>"

	a := s.declare(d(10, 6, 10, 0), "SEV1", "checkout")
	s.update(a, d(10, 6, 10, 4), "30m")
	s.ask(a, d(10, 6, 10, 20), mark)
	s.answer(a, d(10, 6, 10, 34), "30m")
	s.update(a, d(10, 6, 11, 10), "30m")
	s.resolve(a, d(10, 6, 11, 20))

	b := s.declare(d(10, 20, 9, 0), "SEV2", "search")
	s.update(b, d(10, 20, 9, 10), "1h")
	s.ask(b, d(10, 20, 9, 30), mark)
	s.answer(b, d(10, 20, 10, 5), "1h")
	s.resolve(b, d(10, 20, 10, 30))

	c := s.declare(d(11, 3, 14, 0), "SEV1", "checkout", "payments")
	s.update(c, d(11, 3, 14, 2), "15m")
	s.ask(c, d(11, 3, 14, 5), mark)
	s.answer(c, d(11, 3, 14, 17), "15m")
	s.ask(c, d(11, 3, 14, 30), rose)
	s.answer(c, d(11, 3, 14, 40), "15m")
	s.resolve(c, d(11, 3, 14, 50))

	dd := s.declare(d(11, 17, 8, 0), "SEV3")
	s.update(dd, d(11, 17, 8, 30), "2h")
	s.resolve(dd, d(11, 17, 9, 0))

	e := s.declare(d(11, 24, 16, 0), "SEV2", "search")
	s.ask(e, d(11, 24, 16, 10), mark)
	s.resolve(e, d(11, 24, 16, 20))

	// What the page must show, by row and column (data-row, data-col).
	want := map[string]map[string]string{
		"2025-10":  {"incidents": "2", "kept": "2 of 3", "kept-pct": "66.7%", "first-median": "4m", "first-p90": "10m", "answered": "2 of 2", "answer-median": "14m", "answer-p90": "35m"},
		"2025-11":  {"incidents": "3", "kept": "1 of 2", "kept-pct": "50.0%", "first-median": "2m", "first-p90": "30m", "answered": "2 of 3", "answer-median": "10m", "answer-p90": "12m"},
		"total":    {"incidents": "5", "kept": "3 of 5", "kept-pct": "60.0%", "first-median": "4m", "first-p90": "30m", "answered": "4 of 5", "answer-median": "12m", "answer-p90": "35m"},
		"SEV1":     {"incidents": "2", "kept": "2 of 4", "kept-pct": "50.0%", "first-median": "2m", "first-p90": "4m", "answered": "3 of 3", "answer-median": "12m", "answer-p90": "14m"},
		"SEV2":     {"incidents": "2", "kept": "1 of 1", "kept-pct": "100.0%", "first-median": "10m", "first-p90": "10m", "answered": "1 of 2", "answer-median": "35m", "answer-p90": "35m"},
		"SEV3":     {"incidents": "1", "kept": "0 of 0", "kept-pct": "—", "first-median": "30m", "first-p90": "30m", "answered": "0 of 0", "answer-median": "—", "answer-p90": "—"},
		"SEV4":     {"incidents": "0", "kept": "0 of 0", "kept-pct": "—", "first-median": "—", "first-p90": "—", "answered": "0 of 0", "answer-median": "—", "answer-p90": "—"},
		"checkout": {"incidents": "2"}, "search": {"incidents": "2"}, "payments": {"incidents": "1"}, "": {"incidents": "1"},
	}
	const query = "from=2025-10&to=2025-11"
	for _, vp := range []struct {
		name string
		w, h int64
	}{{"phone", 390, 844}, {"desktop", 1280, 800}} {
		u.do(vp.name, chromedp.EmulateViewport(vp.w, vp.h))
		u.fits("/reports?" + query)
		u.visible("main h1", "#chart-kept", "#chart-first-update", "#chart-answer", "#chart-systems", "#by-month", "#by-severity", "#by-system",
			`a[href="/reports.csv?`+query+`"]`)
		cells := eval[map[string]map[string]reportCell](u, `(() => {
		  const out = {};
		  document.querySelectorAll("table.report tr[data-row]").forEach(tr => {
		    const row = out[tr.dataset.row] = {};
		    tr.querySelectorAll("[data-col]").forEach(td => { row[td.dataset.col] = {text: td.innerText.replace(/^.*:\s*/s, "").trim(), value: td.dataset.value}; });
		  });
		  return out;
		})()`)
		for row, cols := range want {
			for col, text := range cols {
				if got := cells[row][col].Text; got != text {
					t.Errorf("%s: row %q, %s shows %q, want %q", vp.name, row, col, got, text)
				}
			}
		}
		// Every chart says what it shows to a screen reader, and its
		// numbers: the months and the first update's median.
		desc := eval[string](u, `document.querySelector("#chart-first-update desc").textContent`)
		if !strings.Contains(desc, "Oct 2025 4m") || !strings.Contains(desc, "Nov 2025 2m") || !strings.Contains(desc, "Nov 2025 30m") {
			t.Errorf("%s: the first-update chart's description: %q", vp.name, desc)
		}
		if got := eval[string](u, `document.querySelector("#chart-kept title").textContent`); !strings.Contains(got, "Oct 2025 to Nov 2025") {
			t.Errorf("%s: the promises chart's title: %q", vp.name, got)
		}
		if n := eval[int](u, `document.querySelectorAll("#chart-kept rect").length`); n != 2 {
			t.Errorf("%s: %d bars in the promises chart, want one per month", vp.name, n)
		}
		if got := innerText(u, ".report-facts"); !strings.Contains(got, "60.0%") || !strings.Contains(got, "median 4m, p90 30m") || !strings.Contains(got, "median 12m, p90 35m") {
			t.Errorf("%s: the totals: %q", vp.name, got)
		}
		u.accessible("the report page (" + vp.name + ")")
		if vp.name == "phone" {
			u.shot("report-phone")
		} else {
			u.shot("report")
		}

		// The incident page's scorecard, on the same screen.
		u.fits("/incidents/" + c.Ref)
		u.visible("#scorecard-h", `[data-figure="promises"]`, `[data-figure="questions"]`)
		card := innerText(u, "#scorecard")
		for _, w := range []string{"Time to first update", "2m", "1 of 2 (50.0%)", "was met 8m late (update 3)", "2 asked, 2 answered; median time to answer 10m"} {
			if !strings.Contains(card, w) {
				t.Errorf("%s: the scorecard of %s lacks %q:\n%s", vp.name, c.Ref, w, card)
			}
		}
		u.accessible("the incident page's scorecard (" + vp.name + ")")
		// Opened, its parts fit the screen too.
		eval[bool](u, `document.querySelectorAll("#scorecard details").forEach(d => d.open = true); true`)
		u.visible("#scorecard table.promises", "#scorecard table.questions", "#scorecard table.told")
		if bad := eval[[]string](u, overflow); len(bad) > 0 {
			t.Errorf("%s: the scorecard opened is wider than the screen: %v", vp.name, bad)
		}
	}

	// The exports hold the page's figures: the page's own CSV and JSON,
	// and the API's.
	csvText, jsonText := fetchText(u, "/reports.csv?"+query), fetchText(u, "/reports.json?"+query)
	req, _ := http.NewRequest("GET", u.base+"/api/v1/reports?"+query, nil)
	req.Header.Set("Authorization", "Bearer "+u.env.getenv("SITREP_TOKEN"))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	apiJSON, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("API report: %d %s", res.StatusCode, apiJSON)
	}
	var fromPage, fromAPI incident.CommsReport
	if err := json.Unmarshal([]byte(jsonText), &fromPage); err != nil {
		t.Fatalf("the page's JSON: %v\n%s", err, jsonText)
	}
	if err := json.Unmarshal(apiJSON, &fromAPI); err != nil {
		t.Fatal(err)
	}
	fromPage.AsOf, fromAPI.AsOf = time.Time{}, time.Time{}
	if a, b := mustJSON(fromPage), mustJSON(fromAPI); a != b {
		t.Errorf("the page's JSON and the API's differ:\n%s\n%s", a, b)
	}
	rows, err := csv.NewReader(strings.NewReader(csvText)).ReadAll()
	if err != nil {
		t.Fatalf("csv: %v\n%s", err, csvText)
	}
	byKey := map[string][]string{}
	for _, r := range rows[1:] {
		switch r[0] {
		case "total":
			byKey["total"] = r
		case "month":
			byKey[r[1]] = r
		case "severity":
			byKey[r[2]] = r
		case "system":
			byKey["system:"+r[3]] = r
		case "system_month":
			byKey["system_month:"+r[3]+":"+r[1]] = r
		}
	}
	dur := func(v *int64) string {
		if v == nil {
			return ""
		}
		return fmt.Sprint(*v)
	}
	pct := func(v *float64) string {
		if v == nil {
			return ""
		}
		return fmt.Sprintf("%.1f", *v)
	}
	check := func(key string, row incident.CommsRow) {
		t.Helper()
		r := byKey[key]
		want := []string{fmt.Sprint(row.Incidents), fmt.Sprint(row.PromisesKept), fmt.Sprint(row.PromisesMissed), pct(row.PromisesKeptPercent),
			fmt.Sprint(row.FirstUpdate.Count), dur(row.FirstUpdate.Median), dur(row.FirstUpdate.P90),
			fmt.Sprint(row.QuestionsAsked), fmt.Sprint(row.QuestionsAnswered), fmt.Sprint(row.Answer.Count), dur(row.Answer.Median), dur(row.Answer.P90)}
		if len(r) < 16 || strings.Join(r[4:], ",") != strings.Join(want, ",") {
			t.Errorf("CSV %s: %v, JSON says %v", key, r, want)
		}
	}
	check("total", fromPage.Total)
	for _, m := range fromPage.Months {
		check(m.Key, m)
	}
	for _, s := range fromPage.Severities {
		check(s.Key, s)
	}
	// And the JSON is the page: the figures in seconds the page wrote in words.
	seconds := map[string]map[string]int64{
		"2025-10": {"first-median": 240, "first-p90": 600, "answer-median": 840, "answer-p90": 2100},
		"2025-11": {"first-median": 120, "first-p90": 1800, "answer-median": 600, "answer-p90": 720},
		"total":   {"first-median": 240, "first-p90": 1800, "answer-median": 720, "answer-p90": 2100},
	}
	rowOf := map[string]incident.CommsRow{"total": fromPage.Total}
	for _, m := range fromPage.Months {
		rowOf[m.Key] = m
	}
	for key, cols := range seconds {
		r := rowOf[key]
		got := map[string]*int64{"first-median": r.FirstUpdate.Median, "first-p90": r.FirstUpdate.P90, "answer-median": r.Answer.Median, "answer-p90": r.Answer.P90}
		for col, v := range cols {
			if got[col] == nil || *got[col] != v {
				t.Errorf("JSON %s %s = %v, want %d s", key, col, got[col], v)
			}
		}
	}
	if len(fromPage.Systems) != 4 || fromPage.Systems[0].System != "checkout" || fromPage.Systems[0].Months["2025-10"] != 1 || fromPage.Systems[3].System != "" {
		t.Errorf("systems: %+v", fromPage.Systems)
	}
	if byKey["system:payments"] == nil || byKey["system:payments"][4] != "1" || byKey["system_month:search:2025-11"] == nil {
		t.Errorf("CSV systems: %v", rows)
	}
}

// fetchText is what the signed-in page fetches at path.
func fetchText(u *uiSession, path string) string {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(u.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch(`+fmt.Sprintf("%q", path)+`).then(r => r.text())`, chromedp.EvalAwaitPromise))
	if err != nil {
		u.t.Fatalf("fetch %s: %v", path, err)
	}
	return v
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
