package backlog

import (
	"context"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/storetest"
)

// Every statement of queries.sql is valid on the database the test runs on.
func TestQueriesPrepare(t *testing.T) {
	if err := queries.Check(context.Background(), storetest.Open(t)); err != nil {
		t.Fatal(err)
	}
}
