package statuspage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// ExportResult says what Export wrote.
type ExportResult struct {
	Dir       string
	Files     int
	Incidents int
	// Removed are the pages of incidents no longer on the page (out of the
	// 90 days), deleted so that the directory is the page as it is now.
	Removed int
}

// incidentFile is a page or feed Export writes under incidents/.
var incidentFile = regexp.MustCompile(`^INC-[0-9]+\.(html|atom)$`)

// Export writes the public page into dir as static files (the layout in
// public.go), each written whole and renamed into place, so that a web
// server serving dir never shows half a page. Run it on a schedule (cron,
// a systemd timer) and serve dir as it is. Links between the pages are
// relative; the feeds' links are absolute when URL is set. The index has
// the subscription form only with SubscribeURL, posting there.
func (p *PublicSite) Export(ctx context.Context, dir string) (*ExportResult, error) {
	if err := p.Load(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "incidents"), 0o755); err != nil {
		return nil, fmt.Errorf("statuspage: export: %w", err)
	}
	pg, b, err := p.indexPage(ctx)
	if err != nil {
		return nil, err
	}
	// The form, when the listener takes subscriptions: a plain HTML form
	// posting to its absolute URL, which works without JavaScript.
	pg.Subscribe, pg.SubscribeAction = p.SubscribeURL != "", p.SubscribeURL
	res := &ExportResult{Dir: dir}
	write := func(name string, body []byte) error {
		path := filepath.Join(dir, filepath.FromSlash(name))
		tmp, err := os.CreateTemp(filepath.Dir(path), ".export-*")
		if err != nil {
			return fmt.Errorf("statuspage: export %s: %w", name, err)
		}
		defer os.Remove(tmp.Name()) // gone once renamed
		if _, err := tmp.Write(body); err != nil {
			tmp.Close()
			return fmt.Errorf("statuspage: export %s: %w", name, err)
		}
		if err := tmp.Chmod(0o644); err != nil {
			tmp.Close()
			return fmt.Errorf("statuspage: export %s: %w", name, err)
		}
		if err := tmp.Close(); err != nil {
			return fmt.Errorf("statuspage: export %s: %w", name, err)
		}
		if err := os.Rename(tmp.Name(), path); err != nil {
			return fmt.Errorf("statuspage: export %s: %w", name, err)
		}
		res.Files++
		return nil
	}
	base, site := "", ""
	if p.URL != "" {
		base, site = strings.TrimSuffix(p.URL, "/")+"/", strings.TrimSuffix(p.URL, "/")
	}
	for _, f := range []string{"status.css", "status.js"} {
		body, err := publicFS.ReadFile("public/" + f)
		if err != nil {
			return nil, err
		}
		if err := write(f, body); err != nil {
			return nil, err
		}
	}
	keep := map[string]bool{}
	for _, inc := range b.All() {
		page, err := p.render("incident", p.incidentPage(inc, b.Now))
		if err != nil {
			return nil, err
		}
		if err := write("incidents/"+inc.Ref+".html", page); err != nil {
			return nil, err
		}
		feed, err := p.atom(p.feed([]*Incident{inc}, base, site, "incidents/"+inc.Ref+".atom", inc.Ref))
		if err != nil {
			return nil, err
		}
		if err := write("incidents/"+inc.Ref+".atom", feed); err != nil {
			return nil, err
		}
		keep[inc.Ref+".html"], keep[inc.Ref+".atom"] = true, true
		res.Incidents++
	}
	feed, err := p.atom(p.feed(b.All(), base, site, "feed.atom", "all"))
	if err != nil {
		return nil, err
	}
	if err := write("feed.atom", feed); err != nil {
		return nil, err
	}
	index, err := p.render("index", pg)
	if err != nil {
		return nil, err
	}
	if err := write("index.html", index); err != nil { // last: it links the others
		return nil, err
	}
	entries, err := os.ReadDir(filepath.Join(dir, "incidents"))
	if err != nil {
		return nil, fmt.Errorf("statuspage: export: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() && incidentFile.MatchString(e.Name()) && !keep[e.Name()] {
			if err := os.Remove(filepath.Join(dir, "incidents", e.Name())); err != nil {
				return nil, fmt.Errorf("statuspage: export: %w", err)
			}
			res.Removed++
		}
	}
	return res, nil
}
