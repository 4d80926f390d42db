package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sitrep-dev/sitrep/internal/errs"
)

// DecodeJSON reads exactly one JSON object into v, refusing unknown fields,
// trailing data, oversized bodies, a key given twice and text that is not
// valid UTF-8 with errors the caller can act on.
func DecodeJSON(r *http.Request, v any) error {
	// The body is bounded by the server's MaxBytesReader, so it can be read
	// whole: the checks below need two passes over it.
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var maxBytes *http.MaxBytesError
		if errors.As(err, &maxBytes) {
			return err
		}
		return fmt.Errorf("web: read body: %w", err)
	}
	if err := checkJSONText(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var maxBytes *http.MaxBytesError
		var syntax *json.SyntaxError
		var typeErr *json.UnmarshalTypeError
		var timeErr *time.ParseError
		switch {
		case errors.As(err, &maxBytes):
			return err
		case errors.As(err, &syntax):
			return errs.E(errs.Invalid, "malformed JSON at byte %d: %v", syntax.Offset, err)
		case errors.As(err, &typeErr):
			return &errs.Error{Code: errs.Invalid, Field: typeErr.Field, Message: "wrong type: want " + typeErr.Type.String()}
		case err.Error() == "EOF":
			return errs.E(errs.Invalid, "empty body; want a JSON object")
		case errors.As(err, &timeErr):
			return errs.E(errs.Invalid, "bad time %q: want RFC 3339, like 2026-11-24T14:05:00Z", timeErr.Value)
		default:
			return errs.E(errs.Invalid, "bad JSON: %v", err)
		}
	}
	// Nothing but white space may follow: dec.More misses a stray '}' or ']'.
	if _, err := dec.Token(); err != io.EOF {
		return errs.E(errs.Invalid, "trailing data after the JSON object")
	}
	return nil
}

// checkJSONText refuses what encoding/json would otherwise let through
// quietly: a key given twice in one object (RFC 8259 4 leaves the meaning
// open; encoding/json keeps the last, so `{"title":"ok","title":"other"}`
// would show a reviewer one title and store another), keys that differ
// only in case (encoding/json matches field names without regard to case,
// so they are the same field), and strings that are not valid UTF-8 or
// hold an unpaired surrogate escape (RFC 8259 8.1, 8.2; encoding/json turns
// both into U+FFFD, so the text stored is not the text sent). A syntax error
// is left for the decoder, which words it.
func checkJSONText(body []byte) error {
	type frame struct {
		object  bool
		wantKey bool
		key     string
		index   int
		keys    map[string]bool
	}
	var stack []*frame
	path := func() string {
		var b strings.Builder
		for _, f := range stack {
			switch {
			case f.object && b.Len() == 0:
				b.WriteString(f.key)
			case f.object:
				b.WriteString("." + f.key)
			default:
				fmt.Fprintf(&b, "[%d]", f.index)
			}
		}
		return b.String()
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return nil // end of input, or a syntax error the decoder will report
		}
		raw := body[start:dec.InputOffset()] // the token, with separators and white space before it
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if s, ok := tok.(string); ok {
			isKey := top != nil && top.object && top.wantKey
			if isKey {
				top.key = s
			} else if top != nil && !top.object {
				top.index++
			}
			if msg := badJSONString(raw, s); msg != "" {
				return errs.InvalidField(path(), "%s", msg)
			}
			if isKey {
				folded := strings.ToLower(s)
				if top.keys[folded] {
					return errs.InvalidField(path(), "is given twice in one object (keys are matched without regard to case); send each field once")
				}
				top.keys[folded] = true
				top.wantKey = false
			} else if top != nil && top.object {
				top.wantKey = true
			}
			continue
		}
		switch tok {
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			if len(stack) > 0 && stack[len(stack)-1].object {
				stack[len(stack)-1].wantKey = true
			}
			continue
		}
		if top != nil && !top.object {
			top.index++
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, wantKey: true, keys: map[string]bool{}})
		case json.Delim('['):
			stack = append(stack, &frame{index: -1})
		default: // number, bool, null
			if top != nil && top.object {
				top.wantKey = true
			}
		}
	}
}

// badJSONString says what is wrong with a string token, given its raw
// bytes and what encoding/json decoded from them, or "" when nothing is.
func badJSONString(raw []byte, decoded string) string {
	if !utf8.Valid(raw) {
		return "is not valid UTF-8; send text as UTF-8"
	}
	// Every U+FFFD in the decoded text must have been sent as one, either
	// literally or as \ufffd; any other was put there for an unpaired
	// surrogate escape such as \ud800.
	sent := bytes.Count(bytes.ToLower(raw), []byte(`\ufffd`)) + bytes.Count(raw, []byte(string(utf8.RuneError)))
	if strings.Count(decoded, string(utf8.RuneError)) > sent {
		return "holds an unpaired UTF-16 surrogate escape (such as \\ud800), which is not text"
	}
	return ""
}
