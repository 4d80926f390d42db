package outbox

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// Preview renders what each of req's groups would receive, under the
// thread's subject, without storing anything; recipients counts everyone
// once.
func (o *Outbox) Preview(ctx context.Context, req compose.Outgoing, subject string) (previews []compose.Preview, recipients int, err error) {
	d := o.Directory.Current()
	seen := map[string]bool{}
	for _, g := range req.Groups {
		members, err := d.Expand(g)
		if err != nil {
			return nil, 0, err
		}
		p := compose.Preview{Group: g, Zones: map[string]int{}}
		for _, r := range members {
			z := r.TimeZone
			if z == "" {
				z = "UTC"
			}
			p.Zones[z]++
			if !seen[r.Email] {
				seen[r.Email] = true
				p.Recipients++
			}
		}
		recipients += p.Recipients
		if len(members) == 0 {
			previews = append(previews, p)
			continue
		}
		// The most common zone of the group stands for it in the preview.
		zones := make([]string, 0, len(p.Zones))
		for z := range p.Zones {
			zones = append(zones, z)
		}
		sort.Slice(zones, func(i, j int) bool {
			return p.Zones[zones[i]] > p.Zones[zones[j]] || (p.Zones[zones[i]] == p.Zones[zones[j]] && zones[i] < zones[j])
		})
		sample := members[0]
		for _, r := range members {
			if r.TimeZone == zones[0] || (zones[0] == "UTC" && r.TimeZone == "") {
				sample = r
				break
			}
		}
		snapshot := store.JSON(req.Data)
		display := g
		if gr, ok := d.Group(g); ok && gr.DisplayName != "" {
			display = gr.DisplayName
		}
		rendered, err := o.render(req.Kind, []byte(snapshot), sample, display)
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
	return previews, recipients, nil
}
