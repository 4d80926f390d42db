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
// thread's subject, without storing anything: one preview per group and
// language its members read. recipients counts everyone once.
func (o *Outbox) Preview(ctx context.Context, req compose.Outgoing, subject string) (previews []compose.Preview, recipients int, err error) {
	d := o.Directory.Current()
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
			rendered, err := o.render(req.Kind, []byte(store.JSON(req.Data)), commonest(v.recipients, p.Zones), display)
			if err != nil {
				return nil, 0, err
			}
			p.Subject, p.Text, p.HTML = subject, rendered.Text, rendered.HTML
			fromName, fromAddr := o.fromAddress()
			p.Headers = map[string]string{
				"From":     fmt.Sprintf("%s <%s>", fromName, fromAddr),
				"To":       display + ":;",
				"Reply-To": o.ReplyAddress(req.Thread.ReplyToken),
				"Subject":  subject,
				"List-Id":  fmt.Sprintf("%s %s <%s.%s.%s>", req.Thread.Ref, req.Thread.Audience, strings.ToLower(req.Thread.Ref), req.Thread.Audience, o.Domain),
			}
			previews = append(previews, p)
		}
	}
	return previews, recipients, nil
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
