package chat_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/chat"
	"github.com/sitrep-dev/sitrep/internal/chat/teamsfake"
)

var teamsEvent = chat.Message{Incident: "INC-7", Title: "Checkout <down> & out", Severity: "SEV1", State: "investigating",
	Event: "Status update sent", Text: "Rolled back release 2026.11.24-3.\nError rate < 1% & falling. Next update by 15:00 UTC.",
	URL: "https://sitrep.example.com/incidents/INC-7", At: time.Date(2026, 11, 24, 14, 5, 0, 0, time.UTC),
	Key: "sitrep-INC-7-12"}

func TestTeamsPostsACardTeamsShows(t *testing.T) {
	t.Parallel()
	flow := teamsfake.New(t)
	teams := &chat.Teams{WebhookURL: flow.URL}
	got, err := teams.Post(context.Background(), teamsEvent)
	if err != nil {
		t.Fatal(err)
	}
	if got != (chat.Posted{}) {
		t.Errorf("Posted %+v: a Workflows webhook gives no id", got)
	}
	posts := flow.Posts()
	if len(posts) != 1 {
		t.Fatalf("%d posts", len(posts))
	}
	var card struct {
		Body []struct {
			Type  string `json:"type"`
			Text  string `json:"text"`
			Wrap  bool   `json:"wrap"`
			Facts []struct {
				Title string `json:"title"`
				Value string `json:"value"`
			} `json:"facts"`
		} `json:"body"`
		Actions []struct {
			Type, Title, URL string
		} `json:"actions"`
	}
	raw, _ := json.Marshal(posts[0].Card)
	if err := json.Unmarshal(raw, &card); err != nil || len(card.Body) != 3 {
		t.Fatalf("card %s: %v", raw, err)
	}
	if card.Body[0].Type != "TextBlock" || card.Body[0].Text != "INC-7 Checkout <down> & out" || !card.Body[0].Wrap {
		t.Errorf("title %+v", card.Body[0])
	}
	facts := map[string]string{}
	for _, f := range card.Body[1].Facts {
		facts[f.Title] = f.Value
	}
	if card.Body[1].Type != "FactSet" || facts["Severity"] != "SEV1" || facts["State"] != "investigating" ||
		facts["Event"] != "Status update sent" || facts["Time"] != "2026-11-24 14:05 UTC" {
		t.Errorf("facts %+v", card.Body[1])
	}
	if card.Body[2].Type != "TextBlock" || card.Body[2].Text != teamsEvent.Text || !card.Body[2].Wrap {
		t.Errorf("text %+v", card.Body[2])
	}
	if len(card.Actions) != 1 || card.Actions[0].Type != "Action.OpenUrl" || card.Actions[0].Title != "Open incident" || card.Actions[0].URL != teamsEvent.URL {
		t.Errorf("actions %+v", card.Actions)
	}

	// A text longer than Teams takes is cut to fit; no link, no button.
	long := teamsEvent
	long.Text, long.URL = strings.Repeat("Still rolling back <shard> & waiting. ", 3000), ""
	if _, err := teams.Post(context.Background(), long); err != nil {
		t.Fatal(err)
	}
	posts = flow.Posts()
	if n := len(posts[1].Raw); n > teamsfake.MaxMessage {
		t.Errorf("a %d-byte message", n)
	}
	if _, ok := posts[1].Card["actions"]; ok {
		t.Errorf("an Open incident button with no link")
	}
	if !strings.Contains(string(posts[1].Raw), "Still rolling back <shard> & waiting.") {
		t.Errorf("the long text is lost")
	}
}

func TestTeamsSortsTheFlowsAnswers(t *testing.T) {
	t.Parallel()
	flow := teamsfake.New(t)
	teams := &chat.Teams{WebhookURL: flow.URL, Client: &http.Client{Timeout: 300 * time.Millisecond}}
	post := func() error {
		_, err := teams.Post(context.Background(), teamsEvent)
		if err != nil && (strings.Contains(err.Error(), teamsfake.Signature) || strings.Contains(err.Error(), flow.URL)) {
			t.Errorf("the webhook's secret in an error: %v", err)
		}
		return err
	}

	flow.FailNext(http.StatusTooManyRequests, 2)
	if after, ok := chat.RetryAfter(post()); !ok || after != 2*time.Second {
		t.Errorf("429: want retry after 2s")
	}
	for status, fix := range map[int]string{
		http.StatusBadRequest:   "Post to a channel when a webhook request is received",
		http.StatusUnauthorized: "Who can trigger the flow",
		http.StatusForbidden:    "Who can trigger the flow",
		http.StatusNotFound:     "make it again",
	} {
		flow.FailNext(status, 0)
		if err := post(); !chat.Permanent(err) || !strings.Contains(err.Error(), fix) {
			t.Errorf("%d: %v; want a permanent error saying %q", status, err, fix)
		}
	}
	for _, status := range []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable} {
		flow.FailNext(status, 0)
		if err := post(); err == nil || chat.Permanent(err) || chat.Uncertain(err) {
			t.Errorf("%d: %v; want a temporary failure", status, err)
		}
	}
	if n := len(flow.Posts()); n != 0 {
		t.Fatalf("%d cards posted by refused requests", n)
	}

	// A URL whose signature is wrong: the trigger refuses it, and the
	// error does not quote the URL.
	wrong := &chat.Teams{WebhookURL: strings.Replace(flow.URL, teamsfake.Signature, "NotTheSignature0123456789", 1)}
	_, err := wrong.Post(context.Background(), teamsEvent)
	if !chat.Permanent(err) || strings.Contains(err.Error(), "NotTheSignature") {
		t.Errorf("a wrong signature: %v", err)
	}

	// No answer: the card may or may not be in the channel.
	flow.Hang()
	if err := post(); !chat.Uncertain(err) {
		t.Errorf("no answer: %v; want an uncertain outcome", err)
	}
	flow.Release()
	// An answer too late: the card is posted, the outcome unknown to sitrep.
	flow.Delay(time.Second)
	if err := post(); !chat.Uncertain(err) {
		t.Errorf("a late answer: %v; want an uncertain outcome", err)
	}
	flow.Delay(0)
	if n := len(flow.Posts()); n != 1 {
		t.Errorf("%d cards posted; want the one answered late", n)
	}
	// Teams cannot read back: the mirror must not ask it.
	if _, ok := any(teams).(chat.Recognizer); ok {
		t.Errorf("Teams claims to recognise earlier posts")
	}

	// Unreachable: nothing sent, a temporary failure.
	dead := &chat.Teams{WebhookURL: "http://127.0.0.1:1" + strings.TrimPrefix(flow.URL, strings.SplitN(flow.URL, "/powerautomate", 2)[0]),
		Client: &http.Client{Timeout: time.Second}}
	_, err = dead.Post(context.Background(), teamsEvent)
	if err == nil || chat.Permanent(err) || chat.Uncertain(err) || strings.Contains(err.Error(), teamsfake.Signature) {
		t.Errorf("unreachable: %v", err)
	}
}
