package main

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/sitrep-dev/sitrep/internal/incident"
)

// The audit record's page in headless Chromium: it lists every message
// with its Message-ID and recipients, passes axe-core, and printed (the
// print media's styles, then Chromium's own PDF) it is A4, without the
// navigation or the links, a message's heading kept with its table and no
// recipient's row cut across two pages.
func TestAuditPagePrintsInChromium(t *testing.T) {
	t.Parallel()
	u, _ := startBrowser(t)
	ctx := context.Background()
	u.do("first visit", chromedp.Navigate(u.base+"/incidents"), chromedp.WaitVisible(chromedp.ID("email")))
	u.signIn()
	admin := eval[string](u, `document.querySelector("header.top .who span").textContent.split(" ")[0]`)
	inc, err := u.h.incidents.Declare(ctx, admin, incident.DeclareInput{Title: "Card payments failing", Severity: "SEV1",
		Scope: incident.Scope{Systems: []string{"checkout"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"Card payments fail for EU customers.", "Failing over to the backup provider."} {
		if _, err := u.h.comms.SendUpdate(ctx, admin, inc.Ref, incident.UpdateInput{Status: s}); err != nil {
			t.Fatal(err)
		}
	}
	msgs, err := u.h.outbox.Messages(ctx, inc.ID)
	if err != nil || len(msgs) < 3 {
		t.Fatalf("%d messages: %v", len(msgs), err)
	}

	u.do("incident", chromedp.Navigate(u.base+"/incidents/"+inc.Ref), chromedp.WaitVisible(chromedp.ID("messages-h")))
	u.do("the audit link", chromedp.Click(chromedp.CSS(`a[href$="/audit"]`)), chromedp.WaitVisible(chromedp.ID("audit-h")))
	text := eval[string](u, `document.querySelector("main").innerText`)
	for _, m := range msgs {
		if !strings.Contains(text, m.MessageID) {
			t.Errorf("the audit page lacks %s's Message-ID %s", m.Kind, m.MessageID)
		}
	}
	if n := eval[int](u, `document.querySelectorAll(".audit-message").length`); n != len(msgs) {
		t.Errorf("%d message sections, want %d", n, len(msgs))
	}
	if rows := eval[int](u, `document.querySelectorAll(".audit-table tbody tr").length`); rows < 3 {
		t.Errorf("%d recipient rows", rows)
	}
	u.accessible("the audit record")

	u.do("print media", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"})
		return err
	}))
	for js, want := range map[string]string{
		`getComputedStyle(document.querySelector("header.top")).display`:                           "none",
		`getComputedStyle(document.querySelector(".audit-head .no-print")).display`:                "none",
		`getComputedStyle(document.querySelector(".audit-table thead")).display`:                   "table-header-group",
		`getComputedStyle(document.querySelector(".audit-table tbody tr")).breakInside`:            "avoid",
		`getComputedStyle(document.querySelector(".audit-message h2")).breakAfter`:                 "avoid",
		`document.querySelector(".audit-message h2").getBoundingClientRect().width > 0 ? "" : "x"`: "",
	} {
		if got := eval[string](u, js); got != want {
			t.Errorf("printed, %s = %q, want %q", js, got, want)
		}
	}
	var pdf []byte
	u.do("print to PDF", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		prefer := true
		res, err := cdp.Call(ctx, tg, page.PrintToPDF, page.PrintToPDFParams{PreferCSSPageSize: &prefer})
		pdf = res.Data
		return err
	}))
	// A4 is 210 × 297 mm: 595 × 842 points.
	box := regexp.MustCompile(`/MediaBox \[\s*0 0 (\d+(?:\.\d+)?) (\d+(?:\.\d+)?)\s*\]`).FindSubmatch(pdf)
	if !strings.HasPrefix(string(pdf), "%PDF-") || box == nil || !strings.HasPrefix(string(box[1]), "59") || !strings.HasPrefix(string(box[2]), "84") {
		t.Errorf("the printed record is not A4: %q (%d bytes)", box, len(pdf))
	}
}
