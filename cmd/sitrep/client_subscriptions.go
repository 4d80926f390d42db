package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

type subscriptionOut struct {
	ID        int64     `json:"id"`
	Email     string    `json:"email"`
	Kind      string    `json:"kind"`
	Target    string    `json:"target"`
	Confirmed bool      `json:"confirmed"`
	Source    string    `json:"source"`
	CreatedAt time.Time `json:"created_at"`
}

func (s subscriptionOut) what() string {
	switch s.Kind {
	case "system":
		return "incidents affecting " + s.Target
	case "incident":
		return s.Target
	case "public":
		return "the public status page (a customer)"
	case "component":
		return "the public status page's " + s.Target + " (a customer)"
	}
	return "every incident"
}

// subscriptionFlags are --all, --system and --incident: what to follow.
type subscriptionFlags struct {
	all              *bool
	system, incident *string
}

func addSubscriptionFlags(fs *flag.FlagSet) subscriptionFlags {
	return subscriptionFlags{
		all:      fs.Bool("all", false, "every incident"),
		system:   fs.String("system", "", "incidents that affect this system (a key of the escalation list)"),
		incident: fs.String("incident", "", "one incident, like INC-42"),
	}
}

// kind is the API's kind and target, or an error when not exactly one
// of the flags is given.
func (f subscriptionFlags) kind(fs *flag.FlagSet) (kind, target string, err error) {
	n := 0
	if *f.all {
		n, kind = n+1, "all"
	}
	if *f.system != "" {
		n, kind, target = n+1, "system", *f.system
	}
	if *f.incident != "" {
		n, kind, target = n+1, "incident", *f.incident
	}
	if n != 1 {
		fs.Usage()
		return "", "", fmt.Errorf("want one of --all, --system SYSTEM or --incident INC-42")
	}
	return kind, target, nil
}

func cmdSubscribe(ctx context.Context, e env, args []string) error {
	fs, c := clientFlags(e, "subscribe", "subscribe [--system X | --incident INC-42 | --all] EMAIL")
	what := addSubscriptionFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return fmt.Errorf("want one email address")
	}
	kind, target, err := what.kind(fs)
	if err != nil {
		return err
	}
	var out struct {
		Subscription subscriptionOut `json:"subscription"`
		Pending      bool            `json:"pending"`
	}
	raw, err := c.do(ctx, "POST", "/subscriptions", map[string]string{"email": pos[0], "kind": kind, "target": target, "source": "cli"}, &out)
	if err != nil {
		return err
	}
	if c.json {
		c.printJSON(raw)
		return nil
	}
	s := out.Subscription
	if out.Pending {
		fmt.Fprintf(e.stdout, "%s must confirm first: a link was mailed to it (subscription %d, %s)\n", s.Email, s.ID, s.what())
		return nil
	}
	fmt.Fprintf(e.stdout, "%s follows %s (subscription %d)\n", s.Email, s.what(), s.ID)
	return nil
}

func cmdUnsubscribe(ctx context.Context, e env, args []string) error {
	fs, c := clientFlags(e, "unsubscribe", "unsubscribe [--system X | --incident INC-42 | --all | --id N] EMAIL")
	what := addSubscriptionFlags(fs)
	id := fs.Int64("id", 0, "the subscription's id (see sitrep subscriptions)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if *id == 0 {
		if len(pos) != 1 {
			fs.Usage()
			return fmt.Errorf("want one email address, or --id N")
		}
		kind, target, err := what.kind(fs)
		if err != nil {
			return err
		}
		var list struct {
			Subscriptions []subscriptionOut `json:"subscriptions"`
		}
		if _, err := c.do(ctx, "GET", "/subscriptions?email="+url.QueryEscape(pos[0]), nil, &list); err != nil {
			return err
		}
		for _, s := range list.Subscriptions {
			if s.Kind == kind && (kind == "all" || strings.EqualFold(s.Target, target)) {
				*id = s.ID
			}
		}
		if *id == 0 {
			return fmt.Errorf("%s has no such subscription; see sitrep subscriptions %s", pos[0], pos[0])
		}
	}
	raw, err := c.do(ctx, "DELETE", "/subscriptions/"+strconv.FormatInt(*id, 10), nil, nil)
	if err != nil {
		return err
	}
	if c.json {
		c.printJSON(raw)
		return nil
	}
	fmt.Fprintf(e.stdout, "subscription %d ended\n", *id)
	return nil
}

func cmdSubscriptions(ctx context.Context, e env, args []string) error {
	fs, c := clientFlags(e, "subscriptions", "subscriptions [EMAIL]")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	path := "/subscriptions"
	switch len(pos) {
	case 0:
	case 1:
		path += "?email=" + url.QueryEscape(pos[0])
	default:
		fs.Usage()
		return fmt.Errorf("want at most one email address")
	}
	var out struct {
		Subscriptions []subscriptionOut `json:"subscriptions"`
	}
	if printed, err := c.get(ctx, path, &out); printed || err != nil {
		return err
	}
	if len(out.Subscriptions) == 0 {
		fmt.Fprintln(e.stdout, "no subscriptions")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tEMAIL\tFOLLOWS\tCONFIRMED\tSOURCE")
	for _, s := range out.Subscriptions {
		confirmed := "yes"
		if !s.Confirmed {
			confirmed = "waiting for the link"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", s.ID, s.Email, s.what(), confirmed, s.Source)
	}
	return tw.Flush()
}
