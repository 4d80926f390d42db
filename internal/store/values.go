package store

import (
	"database/sql"
	"encoding/json"
	"time"
)

// JSON is v as JSON text, for the TEXT columns that hold lists and maps.
// It panics when v cannot be marshalled: the values stored so are plain
// lists, maps and structs, so that is a programming error.
func JSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic("store: JSON: " + err.Error())
	}
	return string(b)
}

// NullTime is t as a nullable timestamp in UTC: NULL when t is nil or the
// zero time.
func NullTime(t *time.Time) sql.NullTime {
	if t == nil || t.IsZero() {
		return sql.NullTime{}
	}
	return sql.NullTime{Time: t.UTC(), Valid: true}
}

// TimePtr is a nullable timestamp read back: nil for NULL, else the time
// in UTC.
func TimePtr(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}
