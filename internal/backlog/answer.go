package backlog

import (
	"fmt"
	"io"
	"net/http"
)

// MaxAnswer bounds what sitrep reads of a tracker's answer: a page of
// issues is well under it; a proxy or a broken server answering without
// end is cut there.
const MaxAnswer = 8 << 20

// Exchange sends req with c and reads the answer, at most MaxAnswer+1
// bytes, so that the caller can tell an answer over MaxAnswer (and refuse
// it where it would read it) from one that fits. what names the call in
// errors ("jira: GET /rest/api/3/search"); the token is in a header,
// never in the URL, so an error is safe to show.
func Exchange(c *http.Client, req *http.Request, what string) (*http.Response, []byte, error) {
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", what, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, MaxAnswer+1))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: reading the answer: %w", what, err)
	}
	return resp, raw, nil
}
