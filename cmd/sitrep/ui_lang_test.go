package main

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sitrep-dev/sitrep/internal/mailmsg"
)

// TestStatusEmailPerLanguageInChromium: on the embedded default, one
// status update reaches the example organisation's executives and its
// international support, and each reads it in the sandbox in their own
// language, with the time in their zone (issue 18). SITREP_SCREENSHOTS=1
// writes docs/screenshots/status-email-<lang>.png.
func TestStatusEmailPerLanguageInChromium(t *testing.T) {
	t.Parallel()
	u, _ := startBrowser(t)
	cli(t, u.env, "declare", "--title", "Card payments failing for EU customers", "--severity", "SEV1", "--systems", "payments")
	cli(t, u.env, "update", "INC-1", "--status", "Card payments fail for about a third of EU customers. We are rolling back this morning's payments release.",
		"--next", "30m", "--to", "exec,support-international")
	readers := []struct{ lang, email, frame, zone string }{
		{"en", "mark.delaney@sitrep.example", "Next update by", "EST"},
		{"de", "lukas.brandt@sitrep.example", "Nächstes Update bis", "CET"},
		{"fr", "camille.moreau@sitrep.example", "Prochain point au plus tard à", "CET"},
		{"es", "lucia.romero@sitrep.example", "Próxima actualización antes de las", "CET"},
		{"ja", "hanako.sato@sitrep.example", "次回の報告", "JST"},
	}
	u.do("open", chromedp.Navigate(u.base+"/sandbox"), chromedp.WaitVisible(chromedp.ID("email")))
	u.signIn()
	for _, r := range readers {
		id, raw := u.waitForMail(r.email, "[INC-1] Card payments failing for EU customers")
		m, err := mailmsg.Parse(raw, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(m.Text, r.frame) || !strings.Contains(m.Text, " "+r.zone+" (") {
			t.Errorf("%s (%s) reads:\n%s\nwant %q and the time in %s", r.email, r.lang, m.Text, r.frame, r.zone)
		}
		if !strings.Contains(m.HTML, `<html lang="`+r.lang+`">`) || !strings.Contains(string(raw), "Content-Language: "+r.lang) {
			t.Errorf("%s: the email does not say it is in %s", r.email, r.lang)
		}
		// The sandbox shows the HTML part (in a sandboxed frame) as the
		// reader's client would.
		u.do("mail "+r.lang, chromedp.Navigate(u.base+"/sandbox/"+url.PathEscape(r.email)+"/"+id), chromedp.WaitVisible(chromedp.ID("body")))
		u.shot("status-email-" + r.lang)
	}
}

// waitForMail is the sandbox id and the raw message of the first message
// to mailbox with subject.
func (u *uiSession) waitForMail(mailbox, subject string) (string, []byte) {
	u.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		msgs, err := u.h.sandbox.Messages(context.Background(), mailbox)
		if err != nil {
			u.t.Fatal(err)
		}
		for _, m := range msgs {
			if m.Subject == subject {
				return m.ID, m.Raw
			}
		}
		if time.Now().After(deadline) {
			u.t.Fatalf("%s has no %q after 30s", mailbox, subject)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
