// Package errs holds sitrep's one error type. Domain packages return *Error
// with a code; the HTTP layer maps codes to status codes in one place, and
// the CLI prints the message. Anything that is not an *Error is internal.
package errs

import (
	"errors"
	"fmt"
)

// Code says what kind of failure an error is, independent of transport.
type Code string

const (
	Invalid      Code = "invalid"      // the caller sent something wrong
	NotFound     Code = "not_found"    // the thing does not exist
	Conflict     Code = "conflict"     // the thing exists, or the state forbids the change
	Unauthorized Code = "unauthorized" // no or bad credentials
	Forbidden    Code = "forbidden"    // credentials fine, not allowed
	TooLarge     Code = "too_large"    // body or file over a limit
	RateLimited  Code = "rate_limited" // slow down
	Unavailable  Code = "unavailable"  // a dependency is down; retry later
	Internal     Code = "internal"     // a bug or an unexpected failure
)

// Error is a failure a person can read. Field names the input at fault,
// when there is one ("severity", "groups[2].members").
type Error struct {
	Code    Code
	Message string
	Field   string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s", e.Field, e.Message)
	}
	return e.Message
}

// E builds an *Error with a formatted message.
func E(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// InvalidField builds an Invalid error about one input field.
func InvalidField(field, format string, args ...any) *Error {
	return &Error{Code: Invalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// CodeOf returns the code of the first *Error in err's chain, Internal
// for any other non-nil error, and "" for nil.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// Is reports whether err carries the given code.
func Is(err error, code Code) bool { return CodeOf(err) == code }
