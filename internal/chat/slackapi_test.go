package chat_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/chat"
	"github.com/sitrep-dev/sitrep/internal/chat/slackfake"
)

// incidentEvent is the n-th event of INC-7, as the mirror hands it.
func incidentEvent(n int, event, state, thread string) chat.Message {
	return chat.Message{Incident: "INC-7", Title: "Checkout <down> & out", Severity: "SEV1", State: state,
		Event: event, Text: "Rolled back release 2026.11.24-3.\nError rate < 1% & falling.",
		URL: "https://sitrep.example.com/incidents/INC-7", At: time.Now().Add(-time.Minute),
		Key: "sitrep-INC-7-" + string(rune('0'+n)), Thread: thread}
}

func slackAPI(fake *slackfake.Server) *chat.SlackAPI {
	return &chat.SlackAPI{BaseURL: fake.URL, Token: slackfake.Token, Channel: slackfake.Channel,
		Client: &http.Client{Timeout: 2 * time.Second}}
}

func sectionText(m slackfake.Message) string {
	var out []string
	for _, b := range m.Blocks {
		if o, _ := b.(map[string]any); o["type"] == "section" {
			t, _ := o["text"].(map[string]any)
			s, _ := t["text"].(string)
			out = append(out, s)
		}
	}
	return strings.Join(out, "\n")
}

func TestSlackAPIKeepsOneThreadPerIncident(t *testing.T) {
	t.Parallel()
	fake := slackfake.New(t)
	s := slackAPI(fake)
	ctx := context.Background()

	first, err := s.Post(ctx, incidentEvent(1, "Declared", "investigating", ""))
	if err != nil {
		t.Fatal(err)
	}
	parents := fake.Messages(slackfake.Channel)
	if len(parents) != 1 || first.Thread != parents[0].TS || first.Ref == "" || first.Ref == first.Thread {
		t.Fatalf("posted %+v; channel has %+v", first, parents)
	}
	parent := parents[0]
	if !slices.Contains(parent.BlockIDs(), "sitrep-thread-INC-7") || !strings.Contains(parent.Text, "INC-7 Checkout <down> & out") ||
		!strings.Contains(sectionText(parent), "*State:* investigating") ||
		!strings.Contains(sectionText(parent), "<https://sitrep.example.com/incidents/INC-7|Open incident>") {
		t.Errorf("parent %+v", parent)
	}
	replies := fake.Replies(slackfake.Channel, first.Thread)
	if len(replies) != 1 || replies[0].TS != first.Ref || !slices.Contains(replies[0].BlockIDs(), "sitrep-INC-7-1") {
		t.Fatalf("replies %+v", replies)
	}
	// mrkdwn needs &, < and > escaped; a header is plain text.
	if got := sectionText(replies[0]); !strings.HasPrefix(got, "*Declared* · ") || !strings.HasSuffix(got, "\nRolled back release 2026.11.24-3.\nError rate &lt; 1% &amp; falling.") {
		t.Errorf("reply %q", got)
	}

	second, err := s.Post(ctx, incidentEvent(2, "Status update sent", "investigating", first.Thread))
	if err != nil {
		t.Fatal(err)
	}
	if second.Thread != first.Thread || second.Ref == first.Ref {
		t.Errorf("second post %+v, first %+v", second, first)
	}
	// The state changes: the parent shows it, edited in place.
	third, err := s.Post(ctx, incidentEvent(3, "Resolved", "resolved", first.Thread))
	if err != nil {
		t.Fatal(err)
	}
	parents = fake.Messages(slackfake.Channel)
	if len(parents) != 1 || parents[0].Edits == 0 || !strings.Contains(sectionText(parents[0]), "*State:* resolved") ||
		!strings.Contains(sectionText(parents[0]), "*Latest:* Resolved") || !strings.Contains(parents[0].Text, "resolved") {
		t.Errorf("after resolving, the channel shows %+v", parents)
	}
	replies = fake.Replies(slackfake.Channel, first.Thread)
	if len(replies) != 3 || replies[2].TS != third.Ref {
		t.Errorf("replies %+v", replies)
	}

	// Another incident, another thread.
	other := incidentEvent(1, "Declared", "investigating", "")
	other.Incident, other.Key = "INC-8", "sitrep-INC-8-1"
	p, err := s.Post(ctx, other)
	if err != nil || p.Thread == first.Thread || len(fake.Messages(slackfake.Channel)) != 2 {
		t.Errorf("INC-8: %+v %v", p, err)
	}

	// Reads are GETs with a query; writes are JSON; the fake checks every
	// argument against Slack's description and fails the test otherwise.
	for _, r := range fake.Requests() {
		if r.Answer != "ok" {
			t.Errorf("%s answered %s", r.Method, r.Answer)
		}
	}
}

func TestSlackAPIMakesOneParentWhenTheReplyFails(t *testing.T) {
	t.Parallel()
	fake := slackfake.New(t)
	s := slackAPI(fake)
	ctx := context.Background()
	m := incidentEvent(1, "Declared", "investigating", "")
	// The parent is made, the reply is refused for the moment.
	fake.FailAfter("chat.postMessage", 1, "internal_error")
	p, err := s.Post(ctx, m)
	if err == nil || chat.Permanent(err) || chat.Uncertain(err) {
		t.Fatalf("internal_error: %v; want a temporary failure", err)
	}
	if p.Thread == "" {
		t.Errorf("the thread made is not reported: %+v", p)
	}
	// The next try, even one that forgot the thread, finds the parent.
	p, err = s.Post(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	parents := fake.Messages(slackfake.Channel)
	if len(parents) != 1 || p.Thread != parents[0].TS || len(fake.Replies(slackfake.Channel, p.Thread)) != 1 {
		t.Errorf("after a retry the channel has %d parents: %+v", len(parents), parents)
	}
}

func TestSlackAPIHonoursRateLimits(t *testing.T) {
	t.Parallel()
	fake := slackfake.New(t)
	s := slackAPI(fake)
	first, err := s.Post(context.Background(), incidentEvent(1, "Declared", "investigating", ""))
	if err != nil {
		t.Fatal(err)
	}
	fake.FailNext("chat.update", "ratelimited")
	_, err = s.Post(context.Background(), incidentEvent(2, "Status update sent", "investigating", first.Thread))
	if after, ok := chat.RetryAfter(err); !ok || after != time.Second {
		t.Fatalf("ratelimited: %v; want retry after 1s", err)
	}
	if n := len(fake.Replies(slackfake.Channel, first.Thread)); n != 1 {
		t.Errorf("a rate-limited post posted: %d replies", n)
	}
	if _, err := s.Post(context.Background(), incidentEvent(2, "Status update sent", "investigating", first.Thread)); err != nil {
		t.Fatal(err)
	}
	if n := len(fake.Replies(slackfake.Channel, first.Thread)); n != 2 {
		t.Errorf("%d replies, want 2", n)
	}
}

func TestSlackAPIErrorsSayHowToFix(t *testing.T) {
	t.Parallel()
	fake := slackfake.New(t)
	fake.AddChannel(slackfake.ChannelInfo{ID: "C0OUTSIDE1"})
	fake.AddChannel(slackfake.ChannelInfo{ID: "C0ARCHIVED", Member: true, Archived: true})
	fake.AddToken("xoxb-3333-4444-writeonly", "chat:write")
	m := incidentEvent(1, "Declared", "investigating", "")
	post := func(token, channel string, m chat.Message) error {
		s := slackAPI(fake)
		s.Token, s.Channel = token, channel
		_, err := s.Post(context.Background(), m)
		if err != nil && strings.Contains(err.Error(), token) {
			t.Errorf("the token in an error: %v", err)
		}
		return err
	}
	for _, c := range []struct {
		name, token, channel, fix string
	}{
		{"not in the channel", slackfake.Token, "C0OUTSIDE1", "/invite @sitrep"},
		{"no such channel", slackfake.Token, "C0NOWHERE1", "channel's ID"},
		{"archived", slackfake.Token, "C0ARCHIVED", "unarchive"},
		{"unknown token", "xoxb-9999-9999-revokedtoken", slackfake.Channel, "chat.slack.token"},
		{"no history scope", "xoxb-3333-4444-writeonly", slackfake.Channel, "channels:history"},
	} {
		err := post(c.token, c.channel, m)
		if !chat.Permanent(err) || !strings.Contains(err.Error(), c.fix) {
			t.Errorf("%s: %v; want a permanent error saying %q", c.name, err, c.fix)
		}
	}
	// Check (for sitrep doctor) finds the same troubles before any post.
	good := slackAPI(fake)
	if err := good.Verify(context.Background()); err != nil {
		t.Errorf("Check: %v", err)
	}
	good.Channel = "C0OUTSIDE1"
	if err := good.Verify(context.Background()); !chat.Permanent(err) || !strings.Contains(err.Error(), "/invite") {
		t.Errorf("Check of a channel the app is not in: %v", err)
	}
	// Slack's own troubles are temporary.
	fake.FailNext("chat.postMessage", "internal_error")
	if err := post(slackfake.Token, slackfake.Channel, m); err == nil || chat.Permanent(err) || chat.Uncertain(err) {
		t.Errorf("internal_error: %v; want a temporary failure", err)
	}
	fake.FailNextStatus("conversations.history", http.StatusServiceUnavailable)
	if err := post(slackfake.Token, slackfake.Channel, m); err == nil || chat.Permanent(err) || chat.Uncertain(err) {
		t.Errorf("503: %v; want a temporary failure", err)
	}
	fake.FailNext("chat.postMessage", "msg_too_long")
	if err := post(slackfake.Token, slackfake.Channel, incidentEvent(2, "Status update sent", "investigating", "")); !chat.Permanent(err) {
		t.Errorf("msg_too_long: %v; want a permanent failure", err)
	}
	// Slack unreachable: nothing was sent, so nothing is uncertain.
	dead := &chat.SlackAPI{BaseURL: "http://127.0.0.1:1/api", Token: slackfake.Token, Channel: slackfake.Channel,
		Client: &http.Client{Timeout: time.Second}}
	_, err := dead.Post(context.Background(), m)
	if err == nil || chat.Permanent(err) || chat.Uncertain(err) || strings.Contains(err.Error(), slackfake.Token) {
		t.Errorf("unreachable: %v", err)
	}
}

// A post whose answer never comes may or may not be in the channel; the
// mirror asks Recognize before trying again, and Recognize must tell
// which, or an event is posted twice (or never).
func TestSlackAPIRecognizesAPostWhoseAnswerWasLost(t *testing.T) {
	t.Parallel()
	fake := slackfake.New(t)
	s := slackAPI(fake)
	ctx := context.Background()
	// An answer that comes "late" never comes while the poster waits: the
	// fake holds it until the call is given up. Only the posts expected to
	// be left uncertain get a deadline, and one generous enough that a
	// loaded machine does not cut the calls before them (Recognize and the
	// parent of m4 run under no deadline but the client's own).
	late := time.Minute
	postLate := func(m chat.Message) error {
		c, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		_, err := s.Post(c, m)
		return err
	}

	// The incident's first post: the parent is made, its answer comes too
	// late. Recognize finds no reply, and the next try makes no second
	// parent.
	m1 := incidentEvent(1, "Declared", "investigating", "")
	fake.DelayNext("chat.postMessage", late)
	if err := postLate(m1); !chat.Uncertain(err) {
		t.Fatalf("a late answer: %v; want an uncertain outcome", err)
	}
	if got, found, err := s.Recognize(ctx, m1); err != nil || found {
		t.Fatalf("Recognize of a reply never made: %+v %v %v", got, found, err)
	}
	first, err := s.Post(ctx, m1)
	if err != nil {
		t.Fatal(err)
	}
	parents := fake.Messages(slackfake.Channel)
	if len(parents) != 1 || first.Thread != parents[0].TS {
		t.Fatalf("parents %+v, posted %+v", parents, first)
	}
	thread := first.Thread

	// A reply is made, its answer lost: Recognize finds it.
	m2 := incidentEvent(2, "Status update sent", "investigating", thread)
	fake.DelayNext("chat.postMessage", late)
	if err := postLate(m2); !chat.Uncertain(err) {
		t.Fatalf("a late answer: %v; want an uncertain outcome", err)
	}
	got, found, err := s.Recognize(ctx, m2)
	replies := fake.Replies(slackfake.Channel, thread)
	if err != nil || !found || got.Thread != thread || got.Ref != replies[len(replies)-1].TS {
		t.Fatalf("Recognize: %+v %v %v; replies %+v", got, found, err, replies)
	}

	// A post that never reached Slack is not recognised, and posting it
	// again makes it once.
	m3 := incidentEvent(3, "Resolved", "resolved", thread)
	fake.LoseNext("chat.postMessage")
	if err := postLate(m3); !chat.Uncertain(err) {
		t.Fatalf("a lost post: %v; want an uncertain outcome", err)
	}
	if got, found, err := s.Recognize(ctx, m3); err != nil || found {
		t.Fatalf("Recognize of a post that never arrived: %+v %v %v", got, found, err)
	}
	if _, err := s.Post(ctx, m3); err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, r := range fake.Replies(slackfake.Channel, thread) {
		for _, id := range r.BlockIDs() {
			count[id]++
		}
	}
	for _, key := range []string{m1.Key, m2.Key, m3.Key} {
		if count[key] != 1 {
			t.Errorf("%s posted %d times", key, count[key])
		}
	}

	// Another incident: parent and reply made, the reply's answer lost,
	// the thread not kept. Recognize finds both.
	m4 := incidentEvent(1, "Declared", "investigating", "")
	m4.Incident, m4.Key = "INC-9", "sitrep-INC-9-1"
	fake.DelayAfter("chat.postMessage", 1, late)
	if err := postLate(m4); !chat.Uncertain(err) {
		t.Fatalf("a late answer: %v; want an uncertain outcome", err)
	}
	got, found, err = s.Recognize(ctx, m4)
	parents = fake.Messages(slackfake.Channel)
	if err != nil || !found || len(parents) != 2 || got.Thread != parents[1].TS ||
		got.Ref != fake.Replies(slackfake.Channel, parents[1].TS)[0].TS {
		t.Errorf("Recognize: %+v %v %v; parents %+v", got, found, err, parents)
	}
}
