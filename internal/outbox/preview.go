package outbox

import (
	"cmp"
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// Preview renders what each of req's groups would receive, under the
// thread's subject ("": the message's own), without storing anything: one
// preview per group and language its members read. Then the followers no
// group reaches (req.Followers): one preview per language they read,
// rendered for one of them as their own copy is (the To: and last line
// naming what they follow, their one-click link), For
// compose.PreviewFollowers. A message to followers alone that has none
// gets one empty preview, which says so. recipients counts everyone once.
func (o *Outbox) Preview(ctx context.Context, req compose.Outgoing, subject string) (previews []compose.Preview, recipients int, err error) {
	d := o.Directory.Current()
	snapshot := []byte(store.JSON(req.Data))
	seen := map[string]bool{}
	for _, g := range req.Groups {
		members, err := d.Expand(g)
		if err != nil {
			return nil, 0, err
		}
		if len(members) == 0 {
			previews = append(previews, compose.Preview{Group: g, Zones: map[string]int{}})
			continue
		}
		display := g
		if gr, ok := d.Group(g); ok && gr.DisplayName != "" {
			display = gr.DisplayName
		}
		for _, v := range o.variants(members) {
			p := compose.Preview{Group: g, Language: v.lang, Zones: map[string]int{}}
			for _, r := range v.recipients {
				p.Zones[cmp.Or(r.TimeZone, "UTC")]++
				// A group's count is of those no group above reached:
				// the form says "N people (M not in the groups above)".
				if !seen[r.Email] {
					seen[r.Email] = true
					recipients++
					p.Recipients++
				}
			}
			rendered, err := o.render(req.Kind, snapshot, commonest(v.recipients, p.Zones), display)
			if err != nil {
				return nil, 0, err
			}
			o.fill(&p, req, rendered, subject, display, nil)
			previews = append(previews, p)
		}
	}
	followers, err := o.previewFollowers(d, req, snapshot, subject, seen)
	if err != nil {
		return nil, 0, err
	}
	for _, p := range followers {
		recipients += p.Recipients
	}
	return append(previews, followers...), recipients, nil
}

// previewFollowers is Preview's part for the followers no group reached
// (seen): each language's copy, rendered for the follower in the
// commonest zone through the code that renders their delivery.
func (o *Outbox) previewFollowers(d *directory.Directory, req compose.Outgoing, snapshot []byte, subject string, seen map[string]bool) ([]compose.Preview, error) {
	var fresh []string
	for _, e := range req.Followers {
		if e = strings.ToLower(strings.TrimSpace(e)); !seen[e] {
			fresh = append(fresh, e)
		}
	}
	if len(fresh) == 0 {
		if len(req.Groups) == 0 && len(req.People) == 0 {
			// A message to followers alone (the public email) with none.
			return []compose.Preview{{For: compose.PreviewFollowers, Zones: map[string]int{}}}, nil
		}
		return nil, nil
	}
	people, err := named(d, fresh, "")
	if err != nil {
		return nil, err
	}
	var out []compose.Preview
	for _, v := range o.variants(people) {
		p := compose.Preview{For: compose.PreviewFollowers, Language: v.lang, Zones: map[string]int{}, Recipients: len(v.recipients)}
		for _, r := range v.recipients {
			p.Zones[cmp.Or(r.TimeZone, "UTC")]++
			seen[r.Email] = true
		}
		reader := commonest(v.recipients, p.Zones)
		follower := &compose.FollowerCopy{Unsubscribe: req.Unsubscribe[reader.Email], Follows: req.Follows[reader.Email]}
		display := o.Renderer.FollowerTo(o.readerLanguage(reader), follower.Follows, namedTo(req.Thread))
		rendered, err := o.renderCopy(req.Kind, snapshot, reader, display, follower)
		if err != nil {
			return nil, err
		}
		o.fill(&p, req, rendered, subject, display, follower)
		p.Reader = display
		out = append(out, p)
	}
	return out, nil
}

// fill sets what a preview shows of a rendered copy: its subject, text
// and headers as the copy would carry them.
func (o *Outbox) fill(p *compose.Preview, req compose.Outgoing, rendered *compose.Rendered, subject, display string, follower *compose.FollowerCopy) {
	subject = cmp.Or(subject, rendered.Subject)
	p.Subject, p.Text, p.HTML = subject, rendered.Text, rendered.HTML
	fromName, fromAddr := o.fromAddress()
	p.Headers = map[string]string{
		"From":     fmt.Sprintf("%s <%s>", fromName, fromAddr),
		"To":       display + ":;",
		"Reply-To": o.ReplyAddress(req.Thread.ReplyToken),
		"Subject":  subject,
		"List-Id":  fmt.Sprintf("%s %s <%s.%s.%s>", req.Thread.Ref, req.Thread.Audience, strings.ToLower(req.Thread.Ref), req.Thread.Audience, o.Domain),
	}
	if follower != nil && follower.Unsubscribe != "" {
		p.Headers["List-Unsubscribe"] = "<" + follower.Unsubscribe + ">"
		p.Headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
	}
}

// commonest is a member in the most common zone, who stands for the
// others in a preview.
func commonest(members []directory.Recipient, zones map[string]int) directory.Recipient {
	names := make([]string, 0, len(zones))
	for z := range zones {
		names = append(names, z)
	}
	sort.Slice(names, func(i, j int) bool {
		return zones[names[i]] > zones[names[j]] || (zones[names[i]] == zones[names[j]] && names[i] < names[j])
	})
	for _, r := range members {
		if cmp.Or(r.TimeZone, "UTC") == names[0] {
			return r
		}
	}
	return members[0]
}
