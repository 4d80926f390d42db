package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/sitrep-dev/sitrep/internal/config"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/store"
	"github.com/sitrep-dev/sitrep/internal/web/statuspage"
)

// cmdStatus is `sitrep status export DIR`: the public status page
// (status_page.public) written as static files, for a web server or a
// bucket, from the database, as the server would serve it. It runs beside
// a running server (a cron job or a timer), or without one.
func cmdStatus(ctx context.Context, e env, args []string) error {
	const synopsis = "status export DIR [--config FILE]"
	fs := newFlagSet(e, "status", synopsis)
	path := configFlag(fs, e)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 || pos[0] != "export" {
		fs.Usage()
		return &usageError{errors.New("want: sitrep " + synopsis)}
	}
	cfg, err := config.Load(*path, e.environ)
	if err != nil {
		return err
	}
	if !cfg.StatusPage.Public.Enabled {
		return errors.New("the public status page is off: set status_page.public.enabled: true (and its components) to export it; docs/status-page.md")
	}
	db, err := store.Open(ctx, cfg.DatabaseURL())
	if err != nil {
		return err
	}
	defer db.Close()
	site := &statuspage.PublicSite{Reader: &statuspage.Reader{Incidents: &incident.Service{DB: db, DueSoon: cfg.Cadence.ReminderBefore}},
		Title: cfg.StatusPage.Public.Title, URL: cfg.StatusPage.Public.URL, Logger: newLogger(cfg, e)}
	if pub := cfg.StatusPage.Public; pub.Subscriptions && pub.Listen != "" && pub.URL != "" {
		// The listener takes the form's posts: the exported page has the
		// form, posting there (no JavaScript, no relative link that the
		// static host would not answer).
		site.SubscribeURL = strings.TrimSuffix(pub.URL, "/") + "/subscribe"
	}
	for _, c := range cfg.StatusPage.Public.Components {
		site.Components = append(site.Components, statuspage.Component{Name: c.Name, Systems: c.Systems})
	}
	res, err := site.Export(ctx, pos[1])
	if err != nil {
		return err
	}
	incidents := "incidents"
	if res.Incidents == 1 {
		incidents = "incident"
	}
	fmt.Fprintf(e.stdout, "wrote the public status page to %s: %d files, %d %s", res.Dir, res.Files, res.Incidents, incidents)
	if res.Removed > 0 {
		fmt.Fprintf(e.stdout, "; removed %d pages of incidents no longer on it", res.Removed)
	}
	fmt.Fprintln(e.stdout)
	return nil
}
