package store_test

import (
	"database/sql"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/store"
)

func TestJSON(t *testing.T) {
	if got := store.JSON([]string{"a", "b"}); got != `["a","b"]` {
		t.Errorf("JSON(list) = %s", got)
	}
	if got := store.JSON(map[string]string{"k": "v"}); got != `{"k":"v"}` {
		t.Errorf("JSON(map) = %s", got)
	}
	defer func() {
		if recover() == nil {
			t.Error("JSON of a value json cannot marshal did not panic")
		}
	}()
	store.JSON(func() {})
}

func TestNullTimeAndTimePtr(t *testing.T) {
	if store.NullTime(nil).Valid || store.NullTime(&time.Time{}).Valid {
		t.Error("nil and the zero time must be NULL")
	}
	at := time.Date(2026, 11, 24, 15, 30, 0, 0, time.FixedZone("CET", 3600))
	nt := store.NullTime(&at)
	if !nt.Valid || !nt.Time.Equal(at) || nt.Time.Location() != time.UTC {
		t.Errorf("NullTime(%s) = %+v, want it valid, in UTC", at, nt)
	}
	if store.TimePtr(sql.NullTime{}) != nil {
		t.Error("TimePtr(NULL) must be nil")
	}
	back := store.TimePtr(sql.NullTime{Time: at, Valid: true})
	if back == nil || !back.Equal(at) || back.Location() != time.UTC {
		t.Errorf("TimePtr = %v, want %s in UTC", back, at)
	}
}
