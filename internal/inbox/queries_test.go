package inbox

import (
	"context"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/mailmsg"
	"github.com/sitrep-dev/sitrep/internal/storetest"
)

// Every statement of queries.sql is valid on the database the test runs on.
func TestQueriesPrepare(t *testing.T) {
	if err := queries.Check(context.Background(), storetest.Open(t)); err != nil {
		t.Fatal(err)
	}
}

// The statements over inbound_messages that its partial indexes serve name
// the states as literals; they must stay the states the code writes.
func TestQueryStateLiterals(t *testing.T) {
	if mailmsg.StateStored != "stored" || mailmsg.StateTriage != "triage" {
		t.Fatalf("queries.sql and migration 00032 name the states 'stored' and 'triage'; mailmsg has %q and %q", mailmsg.StateStored, mailmsg.StateTriage)
	}
}
