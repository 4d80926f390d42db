package ui

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/postmortem"
)

// TestUIPostmortemShowsBacklogIssue: an improvement filed in the backlog
// links to its issue on the post-mortem page; one the tracker refused
// says why, as text.
func TestUIPostmortemShowsBacklogIssue(t *testing.T) {
	t.Parallel()
	e := newUIEnv(t)
	inc := e.declareWithLeads("Checkout down")
	e.resolve(inc.Ref)
	ctx := context.Background()
	pm := e.s.Postmortem
	filed, err := pm.AddImprovement(ctx, "lead", inc.Ref, postmortem.ImprovementInput{Text: "Gate config pushes"})
	if err != nil {
		t.Fatal(err)
	}
	refused, err := pm.AddImprovement(ctx, "lead", inc.Ref, postmortem.ImprovementInput{Text: "Alert on disabled keys"})
	if err != nil {
		t.Fatal(err)
	}
	if err := pm.DB.InTx(ctx, func(tx *sql.Tx) error {
		if err := pm.TrackerFiled(ctx, tx, filed.ID, "github", "12", "https://github.com/acme/ops/issues/12"); err != nil {
			return err
		}
		return pm.TrackerRefused(ctx, tx, refused.ID, "github", "401 Unauthorized: Bad credentials <script>")
	}); err != nil {
		t.Fatal(err)
	}
	lead := e.login("lead@x.test")
	_, page := lead.get("/incidents/" + inc.Ref + "/postmortem")
	card := section(page, "improvements-h")
	if !strings.Contains(card, `href="https://github.com/acme/ops/issues/12"`) || !strings.Contains(card, "backlog #12") {
		t.Errorf("the filed improvement's link:\n%s", card)
	}
	if !strings.Contains(card, "not filed in the backlog: 401 Unauthorized: Bad credentials &lt;script&gt;") {
		t.Errorf("the refusal:\n%s", card)
	}
}
