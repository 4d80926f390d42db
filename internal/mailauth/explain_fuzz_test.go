package mailauth

import (
	"bytes"
	"io"
	"net/http"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// The token endpoint's answer and the token itself come from outside:
// whatever they hold, explaining and reading them must not panic, and an
// error answer is never taken for success.
func FuzzExplainTokenAnswer(f *testing.F) {
	f.Add([]byte(`{"error":"invalid_grant","error_description":"AADSTS70008: expired"}`), "application/json", 400, "a.eyJleHAiOjF9.c")
	f.Add([]byte(`<html>login</html>`), "text/html", 200, "x")
	f.Add([]byte(`{"error":"unauthorized_client"}`), "", 401, "a.b.c")
	f.Fuzz(func(t *testing.T, body []byte, ctype string, status int, token string) {
		resp := &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {ctype}}, Body: io.NopCloser(bytes.NewReader(body))}
		err := explain("Google Workspace grant", &oauth2.RetrieveError{Response: resp, Body: body})
		if err == nil {
			t.Fatal("an error answer explained as no error")
		}
		_ = checkClock("grant", token, time.Unix(1_700_000_000, 0))
		c := NewSASL(XOAuth2, "u@example.test", token, "h", 1)
		_, _ = c.Next(body)
	})
}
