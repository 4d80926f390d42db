package resolution_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/resolution"
)

// The service writes the draft in the organisation's language, and an
// unfinished German or Japanese summary is refused like an English one.
func TestAnUnfinishedSummaryIsRefusedInEveryLanguage(t *testing.T) {
	t.Parallel()
	cases := map[string]struct{ heading, rootCause, finished string }{
		"de": {"## Zusammenfassung\n", "## Ursache\n\nA bad config.", "# Zusammenfassung\n\nDer Checkout ist eine Stunde lang ausgefallen; eine fehlerhafte Konfiguration wurde zurückgenommen.\n"},
		"ja": {"## 概要\n", "## 根本原因\n\nA bad config.", "# 概要\n\nチェックアウトが1時間利用できませんでした。誤った設定を元に戻しました。\n"},
	}
	for lang, c := range cases {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s, inc, _ := newFlow(t)
			s.Language = lang
			if _, err := s.Resolve(ctx, "vp@x.test", inc.Ref, resolution.ResolveInput{RootCause: "A bad config."}); err != nil {
				t.Fatal(err)
			}
			draft, err := s.DraftSummary(ctx, inc.Ref)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{c.heading, c.rootCause, "_TODO: "} {
				if !strings.Contains(draft, want) {
					t.Fatalf("draft lacks %q:\n%s", want, draft)
				}
			}
			for _, en := range []string{"## Summary", "## Root cause", "_TODO: describe", "Thank you"} {
				if strings.Contains(draft, en) {
					t.Errorf("draft in %s has English %q:\n%s", lang, en, draft)
				}
			}
			for _, override := range []bool{false, true} {
				_, err := s.SendSummary(ctx, "vp@x.test", inc.Ref, resolution.SummaryInput{Markdown: draft, Override: override})
				var e *errs.Error
				if !errors.As(err, &e) || e.Code != errs.Conflict || e.Field != "markdown" || !strings.Contains(e.Message, "TODO placeholder") {
					t.Fatalf("override %v: an unfinished %s summary: %v", override, lang, err)
				}
			}
			if sent, err := s.Summaries(ctx, inc.Ref); err != nil || len(sent) != 0 {
				t.Fatalf("%d summaries sent with TODOs (%v)", len(sent), err)
			}
			if _, err := s.SendSummary(ctx, "vp@x.test", inc.Ref, resolution.SummaryInput{Markdown: c.finished}); err != nil {
				t.Fatalf("a finished %s summary: %v", lang, err)
			}
		})
	}
}
