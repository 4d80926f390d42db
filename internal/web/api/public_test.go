package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// publicSubscribers are the public page's subscribers as far as the API's
// test needs them: one customer.
type publicSubscribers struct{}

func (publicSubscribers) PublicFollowers(ctx context.Context, q store.Querier, systems []string) (compose.FollowerSet, error) {
	return publicSubscribers{}.PublicFollowersPreview(ctx, systems)
}

func (publicSubscribers) PublicFollowersPreview(ctx context.Context, systems []string) (compose.FollowerSet, error) {
	return compose.FollowerSet{Emails: []string{"cust@anywhere.example"}, Unsubscribe: map[string]string{"cust@anywhere.example": "https://status.test/unsubscribe/x"},
		Follows: map[string][]compose.Followed{"cust@anywhere.example": {{Kind: compose.FollowsPublic}}}}, nil
}

// An update's dry run answers the public email beside the groups', the
// public promise, and how many customers; the incident carries its public
// promise. Every key of these answers is in the OpenAPI document.
func TestPublicPromiseAndPreviewInTheAPI(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	a.server.Comms = &incident.Comms{DB: a.db, Incidents: a.incidents, Directory: a.server.Directory, Mail: &fakeMail{},
		PublicFollowers: publicSubscribers{}, PublicSite: incident.PublicSite{Title: "Example status"}, PublicPage: true}
	schemas := openAPISchemas(t)
	ref := func(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }
	status, out := a.call(t, a.lead, "POST", "/api/v1/incidents", `{"title":"Checkout down","severity":"SEV2","roles":{"comms_lead":"vp@x.test"}}`)
	if status != 201 {
		t.Fatalf("declare: %d %v", status, out)
	}
	inc, _ := out["id"].(string)
	body := `{"status":"INTERNAL pgbouncer.","groups":["exec"],"public":"Some orders fail.","public_next":"2h","dry_run":true}`
	status, out = a.call(t, a.lead, "POST", "/api/v1/incidents/"+inc+"/updates", body)
	if status != 200 || out["public_recipients"] != float64(1) || out["public_next_update_at"] == nil {
		t.Fatalf("dry run: %d %v", status, out)
	}
	previews, _ := out["previews"].([]any)
	last, _ := previews[len(previews)-1].(map[string]any)
	if len(previews) != 2 || last["for"] != compose.PreviewPublic || last["text"] != "Some orders fail." {
		t.Errorf("the dry run's previews: %v", previews)
	}
	if bad := undocumented(schemas, ref("UpdateResult"), out, ""); len(bad) > 0 {
		t.Errorf("the dry run answers keys openapi.yaml does not document: %v", bad)
	}
	status, out = a.call(t, a.lead, "POST", "/api/v1/incidents/"+inc+"/updates", `{"status":"INTERNAL pgbouncer.","groups":["exec"],"public":"Some orders fail.","public_next":"2h"}`)
	if status != 201 || out["public_message"] == nil {
		t.Fatalf("send: %d %v", status, out)
	}
	if bad := undocumented(schemas, ref("UpdateResult"), out, ""); len(bad) > 0 {
		t.Errorf("the send answers keys openapi.yaml does not document: %v", bad)
	}
	status, out = a.call(t, a.view, "GET", "/api/v1/incidents/"+inc, "")
	p, _ := out["public_promise"].(map[string]any)
	if status != 200 || p["status"] != "on_time" {
		t.Fatalf("the incident's public promise: %d %v", status, out["public_promise"])
	}
	at, err := time.Parse(time.RFC3339, p["next_update_at"].(string))
	if err != nil || at.Sub(time.Now()) < 119*time.Minute || at.Sub(time.Now()) > 121*time.Minute {
		t.Errorf("the public promise is %v (%v), want two hours on", p["next_update_at"], err)
	}
	if bad := undocumented(schemas, ref("PublicPromise"), p, "public_promise"); len(bad) > 0 {
		t.Errorf("public_promise has keys openapi.yaml does not document: %v", bad)
	}
}
