package incident

import (
	"context"
	"fmt"

	"github.com/sitrep-dev/sitrep/internal/store"
)

// Actors lists, sorted, everyone who worked on the incident on its
// timeline (people, token names, "sitrep"): not those whose only part was
// a reply, a report or an answer to "is it fixed for you?", who are no
// responders to invite to the post-mortem. q may be the caller's
// transaction.
func Actors(ctx context.Context, q store.Querier, incidentID int64) ([]string, error) {
	rows, err := q.QueryContext(ctx, queries.Get("actors"), incidentID)
	if err != nil {
		return nil, fmt.Errorf("incident: actors: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, fmt.Errorf("incident: actors: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
