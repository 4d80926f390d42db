package web

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/store"
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

// Status is the HTTP status of an error code.
func Status(code errs.Code) int {
	if status := statusOf[code]; status != 0 {
		return status
	}
	return http.StatusInternalServerError
}

// StatusOf is the HTTP status of err, as Error would answer it.
func StatusOf(err error) int { return Status(errs.CodeOf(err)) }

// ErrorPage shows an error to a person in a browser. The UI attaches one
// to each of its requests (WithErrorPage); a request without one is an
// API call and gets the JSON error shape.
type ErrorPage interface {
	ServeError(w http.ResponseWriter, r *http.Request, status int, e *errs.Error)
}

type errorPageKey struct{}

// WithErrorPage returns r with p as the way its errors are shown.
func WithErrorPage(r *http.Request, p ErrorPage) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), errorPageKey{}, p))
}

// Error answers err: the one place where an error becomes a response. An
// *errs.Error keeps its code and message; an oversized body is TooLarge; a
// database that cannot store or cannot be reached is Unavailable (503,
// with when to retry); anything else is Internal, its details in the log
// only. An API request gets the JSON error shape (ErrorBody); a UI
// request, its error page.
func (s *Server) Error(w http.ResponseWriter, r *http.Request, err error) {
	page, _ := r.Context().Value(errorPageKey{}).(ErrorPage)
	e := s.domainError(w, r, err, page != nil)
	status := Status(e.Code)
	if page != nil {
		page.ServeError(w, r, status, e)
		return
	}
	if e.Code == errs.Unauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="sitrep"`)
	}
	WriteJSON(w, status, ErrorBody{Error: ErrorDetail{Code: e.Code, Message: e.Message, Field: e.Field}})
}

// domainError is err as the one error type; forPerson words the messages
// this package writes for a page rather than for a program.
func (s *Server) domainError(w http.ResponseWriter, r *http.Request, err error, forPerson bool) *errs.Error {
	var e *errs.Error
	var maxBytes *http.MaxBytesError
	switch {
	case errors.As(err, &maxBytes):
		if forPerson {
			return errs.E(errs.TooLarge, "the form is over %d bytes", maxBytes.Limit)
		}
		return errs.E(errs.TooLarge, "request body over %d bytes", maxBytes.Limit)
	case errors.As(err, &e):
		return e
	}
	if e = s.outageError(w, r, err); e != nil {
		return e
	}
	// Details of internal failures go to the log, not to the caller.
	if forPerson {
		s.Logger.Error("UI request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		return errs.E(errs.Internal, "Something went wrong on the server; its log has the details.")
	}
	s.Logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	return errs.E(errs.Internal, "internal error; the server log has the details")
}

// outageError is the domain error for a failure of the database itself,
// or nil when err is something else: not the request's fault and not a
// bug, so it is told as such (503, with when to retry), and the storage
// hears of it so that /readyz fails while writes do.
func (s *Server) outageError(w http.ResponseWriter, r *http.Request, err error) *errs.Error {
	if reason := store.StorageFault(err); reason != "" {
		s.Logger.Error("database cannot store", "method", r.Method, "path", r.URL.Path, "reason", reason, "err", err)
		if s.Storage != nil {
			s.Storage.NoteError(err)
		}
		w.Header().Set("Retry-After", "30")
		return errs.E(errs.Unavailable, "the database cannot store anything: %s; nothing was changed; try again once an operator has fixed it", reason)
	}
	if databaseUnreachable(err) {
		s.Logger.Error("database unreachable", "method", r.Method, "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", "5")
		return errs.E(errs.Unavailable, "the database is unreachable; nothing was changed; try again shortly")
	}
	return nil
}

// WriteJSON answers v as indented JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
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
