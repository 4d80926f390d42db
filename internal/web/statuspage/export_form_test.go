package statuspage

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// exportFiles exports site into a new directory and returns every file
// written, by its path in it.
func exportFiles(t *testing.T, site *PublicSite) map[string]string {
	t.Helper()
	dir := t.TempDir()
	if _, err := site.Export(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		rel, _ := filepath.Rel(dir, path)
		out[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var formRE = regexp.MustCompile(`(?s)<form[^>]*>.*?</form>`)

// TestExportSubscribeForm: the exported page has the subscription form
// only when the public listener takes subscriptions (SubscribeURL, which
// `sitrep status export` sets from status_page.public.subscriptions and
// .url): then a plain HTML form on the index, posting to that absolute
// URL, with nothing that needs JavaScript. Otherwise no form, and no link
// to a subscribe page a static host would not answer. (The served page's
// form posts to its own listener: subscription's TestPublicDoubleOptIn.)
func TestExportSubscribeForm(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inc := e.declare("x", "checkout")
	e.update(inc, "internal", "Some card payments fail.", 30*time.Minute)

	site := newSite(e)
	for name, body := range exportFiles(t, site) {
		if strings.Contains(body, "<form") || strings.Contains(strings.ToLower(body), "subscribe") {
			t.Errorf("without a listener taking subscriptions, the exported %s has a form or a link to one:\n%s", name, body)
		}
	}

	site = newSite(e)
	site.SubscribeURL = "https://status.example.test/subscribe"
	files := exportFiles(t, site)
	forms := formRE.FindAllString(files["index.html"], -1)
	if len(forms) != 1 {
		t.Fatalf("the exported index has %d forms, want the subscription form:\n%s", len(forms), files["index.html"])
	}
	form := forms[0]
	for _, want := range []string{`method="post"`, `action="https://status.example.test/subscribe"`, `<input id="email" name="email" type="email" required`,
		`<select id="component" name="component"><option value="">Every component</option><option>Checkout</option>`, `<button type="submit">Subscribe</button>`} {
		if !strings.Contains(form, want) {
			t.Errorf("the exported form lacks %q:\n%s", want, form)
		}
	}
	if regexp.MustCompile(`(?i)\son[a-z]+=|javascript:`).MatchString(form) {
		t.Errorf("the exported form needs JavaScript:\n%s", form)
	}
	for name, body := range files {
		if name != "index.html" && strings.Contains(body, "<form") {
			t.Errorf("the exported %s has a form:\n%s", name, body)
		}
	}
}
