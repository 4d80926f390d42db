package web

import (
	"database/sql/driver"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sitrep-dev/sitrep/internal/errs"
)

// statusOf is the one place where error codes become HTTP status codes.
var statusOf = map[errs.Code]int{
	errs.Invalid:      http.StatusBadRequest,
	errs.NotFound:     http.StatusNotFound,
	errs.Conflict:     http.StatusConflict,
	errs.Unauthorized: http.StatusUnauthorized,
	errs.Forbidden:    http.StatusForbidden,
	errs.TooLarge:     http.StatusRequestEntityTooLarge,
	errs.RateLimited:  http.StatusTooManyRequests,
	errs.Unavailable:  http.StatusServiceUnavailable,
	errs.Internal:     http.StatusInternalServerError,
}

// ErrorBody is the one error shape of the API.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what went wrong, for people and programs.
type ErrorDetail struct {
	Code    errs.Code `json:"code"`
	Message string    `json:"message"`
	Field   string    `json:"field,omitempty"`
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var e *errs.Error
	var maxBytes *http.MaxBytesError
	switch {
	case errors.As(err, &maxBytes):
		e = errs.E(errs.TooLarge, "request body over %d bytes", maxBytes.Limit)
	case errors.As(err, &e):
	case databaseUnreachable(err):
		// Not the request's fault and not a bug: say so, and when to retry.
		s.Logger.Error("database unreachable", "method", r.Method, "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", "5")
		e = errs.E(errs.Unavailable, "the database is unreachable; nothing was changed; try again shortly")
	default:
		// Details of internal failures go to the log, not to the caller.
		s.Logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		e = errs.E(errs.Internal, "internal error; the server log has the details")
	}
	status := statusOf[e.Code]
	if status == 0 {
		status = http.StatusInternalServerError
	}
	if e.Code == errs.Unauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="sitrep"`)
	}
	writeJSON(w, status, ErrorBody{Error: ErrorDetail{Code: e.Code, Message: e.Message, Field: e.Field}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// DecodeJSON reads exactly one JSON object into v, refusing unknown fields,
// trailing data and oversized bodies with errors the caller can act on.
func DecodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
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

// databaseUnreachable reports whether err is the database being away (a
// refused or dropped connection) rather than a bad query.
func databaseUnreachable(err error) bool {
	var netErr net.Error
	var opErr *net.OpError
	var connectErr *pgconn.ConnectError
	return errors.Is(err, driver.ErrBadConn) || errors.As(err, &connectErr) || errors.As(err, &opErr) ||
		(errors.As(err, &netErr) && netErr.Timeout()) || errors.Is(err, io.ErrUnexpectedEOF)
}
