package api_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"unicode/utf8"

	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/web/api"
)

// FuzzDecodeJSON: the API's one JSON decoder, on the bodies of the two
// routes an outage leans on (declare, status update) and a free-form
// object, never panics; every refusal is an invalid-input domain error
// (a 400 for the client, never a 500) or the body-size error; and what it
// accepts is exactly one valid JSON value, as its comment promises.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		`{"title":"Checkout down","severity":"SEV1","roles":{"comms_lead":"vp@x.test"}}`,
		`{"status":"All good","next":"30m","groups":["exec"],"dry_run":true}`,
		`{"status":"x","next_at":"2026-11-24T14:05:00Z"}`,
		`{"status":"x","next_at":"yesterday"}`,
		`{"first_failure_at":"2026-11-24T14:05:00+01:00","scope":{"segments":["region: EU"]}}`,
		`{"status":"x"} {"status":"y"}`,
		`{"unknown":1}`,
		`{"status":1}`,
		`[1,2,3]`,
		`{"status":"\u0000\r\nBcc: x@y"}`,
		``,
		`{`,
		`{"title":"a","title":"b"}`,
		`{"status":"x","Status":"y"}`,
		"{\"status\":\"\xff\"}",
		`{"status":"\ud800"}`,
		`{"status":"\ud83d\udea8 \ufffd"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		targets := []func() any{
			func() any { return new(incident.DeclareInput) },
			func() any { return new(incident.UpdateInput) },
			func() any { return new(map[string]any) },
		}
		for _, mk := range targets {
			v := mk()
			rec := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodPost, "/api/v1/x", bytes.NewReader(body))
			r.Body = http.MaxBytesReader(rec, r.Body, 1<<16)
			err := api.DecodeJSON(r, v)
			if err != nil {
				var de *errs.Error
				var mb *http.MaxBytesError
				if errors.As(err, &mb) {
					continue
				}
				if !errors.As(err, &de) || de.Code != errs.Invalid {
					t.Fatalf("DecodeJSON(%q) into %T: error %v (%T) is not an invalid-input domain error", body, v, err, err)
				}
				continue
			}
			if !json.Valid(bytes.TrimSpace(body)) {
				t.Fatalf("DecodeJSON accepted %q into %T: not one valid JSON value (trailing data?)", body, v)
			}
			if !utf8.Valid(body) {
				t.Fatalf("DecodeJSON accepted %q into %T: not UTF-8", body, v)
			}
			if _, err := json.Marshal(v); err != nil {
				t.Fatalf("accepted %q into %T but cannot encode it back: %v", body, v, err)
			}
		}
	})
}
