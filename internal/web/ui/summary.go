package ui

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/blameless"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/resolution"
)

// The summary editor: the blameless summary's Markdown with the lint's
// findings marked in the source, and its rendered preview.

// srcLine is one line of the summary's source, cut where findings start
// and end, so that the template can mark the words in place.
type srcLine struct {
	N       int
	Segs    []srcSeg
	Finding bool
}

type srcSeg struct {
	Text    string
	Finding int // 1-based number in the findings list; 0: plain text
	Kind    string
	Message string
}

type findingView struct {
	N int
	blameless.Finding
}

// summaryCheck is the lint's findings in place and the rendered preview.
type summaryCheck struct {
	Findings []findingView
	Lines    []srcLine
	HTML     string
	Error    string
	Checked  bool
}

type summaryData struct {
	Inc      *incident.Incident
	Markdown string
	Override bool
	Check    *summaryCheck
	Archive  []resolution.SentSummary
	SentID   int64
	CanSend  bool
	// Audience is how many people the summary goes to: its send
	// confirmation names the number.
	Audience int
}

// markFindings cuts the source into lines and segments at the findings'
// columns (1-based, in runes, End exclusive). Overlapping findings mark
// the first; the list still names them all.
func markFindings(markdown string, findings []blameless.Finding) []srcLine {
	raw := strings.Split(strings.ReplaceAll(markdown, "\r\n", "\n"), "\n")
	byLine := map[int][]int{}
	for i, f := range findings {
		byLine[f.Line] = append(byLine[f.Line], i)
	}
	out := make([]srcLine, len(raw))
	for n, text := range raw {
		l := srcLine{N: n + 1}
		idx := byLine[n+1]
		sort.SliceStable(idx, func(a, b int) bool { return findings[idx[a]].Col < findings[idx[b]].Col })
		runes := []rune(text)
		pos := 0 // runes consumed
		for _, i := range idx {
			f := findings[i]
			from, to := f.Col-1, f.End-1
			if from < pos || from >= len(runes) || to <= from {
				continue
			}
			if to > len(runes) {
				to = len(runes)
			}
			if from > pos {
				l.Segs = append(l.Segs, srcSeg{Text: string(runes[pos:from])})
			}
			l.Segs = append(l.Segs, srcSeg{Text: string(runes[from:to]), Finding: i + 1, Kind: f.Kind, Message: f.Message})
			l.Finding = true
			pos = to
		}
		if pos < len(runes) || len(l.Segs) == 0 {
			l.Segs = append(l.Segs, srcSeg{Text: string(runes[pos:])})
		}
		out[n] = l
	}
	return out
}

// checkSummary lints and renders the Markdown (without sending).
func (s *Server) checkSummary(ctx context.Context, ref, markdown string) (*summaryCheck, error) {
	c := &summaryCheck{Checked: true}
	res, err := s.Resolution.SendSummary(ctx, "", ref, resolution.SummaryInput{Markdown: markdown, DryRun: true})
	if err != nil {
		if code := errs.CodeOf(err); code == errs.Internal || code == errs.NotFound {
			return nil, err
		}
		c.Error = errMessage(err)
		return c, nil
	}
	c.HTML = res.HTML
	c.Lines = markFindings(markdown, res.Findings)
	for i, f := range res.Findings {
		c.Findings = append(c.Findings, findingView{N: i + 1, Finding: f})
	}
	return c, nil
}

func (s *Server) summaryPage(w http.ResponseWriter, r *http.Request, sess *auth.Session, status int, d *summaryData, fill func(*page)) error {
	archive, err := s.Resolution.Summaries(r.Context(), d.Inc.Ref)
	if err != nil {
		return err
	}
	d.Archive = archive
	d.CanSend = !d.Inc.State.Active()
	who, err := s.Resolution.Audience(r.Context(), d.Inc.Ref, directory.KindSummary)
	if err != nil {
		return err
	}
	d.Audience = len(who)
	p := s.newPage(r, sess, "Summary of "+d.Inc.Ref, "incidents")
	if fill != nil {
		fill(p)
	}
	p.Data = d
	return s.render(w, status, "summary", p)
}

func (s *Server) needResolution() error {
	if s.Resolution == nil {
		return errs.E(errs.NotFound, "resolution is not configured on this server")
	}
	return nil
}

// uiSummary opens the editor on the draft written from the incident's own
// data, already checked: the findings are there before the first keystroke.
func (s *Server) uiSummary(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	if err := s.needResolution(); err != nil {
		return err
	}
	inc, err := s.Incidents.Get(r.Context(), r.PathValue("ref"))
	if err != nil {
		return err
	}
	md, err := s.Resolution.DraftSummary(r.Context(), inc.Ref)
	if err != nil {
		return err
	}
	d := &summaryData{Inc: inc, Markdown: md}
	if d.Check, err = s.checkSummary(r.Context(), inc.Ref, md); err != nil {
		return err
	}
	var id int64
	if _, err := fmt.Sscan(r.URL.Query().Get("sent"), &id); err == nil {
		d.SentID = id
	}
	return s.summaryPage(w, r, sess, http.StatusOK, d, func(p *page) {
		if d.SentID > 0 {
			p.Notice = "The summary was sent to everyone; it is archived below."
			if n, err := strconv.Atoi(r.URL.Query().Get("to")); err == nil && n > 0 {
				p.Notice = fmt.Sprintf("The summary was sent to %d recipients; it is archived below.", n)
			}
		}
	})
}
