// Package ci is Baton's domain: projects, pipelines, jobs, artifacts, runners
// and tokens, their statuses, the error kinds every layer speaks, and the small
// interfaces that the technology packages implement. It imports nothing of Baton's.
package ci

import (
	"errors"
	"fmt"
)

// Kind classifies an error for callers: the HTTP layer maps each kind to one
// status code, the store maps driver errors onto kinds at its boundary.
type Kind string

// The error kinds. Their HTTP statuses live in exactly one place (internal/api).
const (
	KindNotFound     Kind = "not_found"
	KindInvalid      Kind = "invalid"
	KindConflict     Kind = "conflict"
	KindUnauthorized Kind = "unauthorized"
	KindForbidden    Kind = "forbidden"
	KindTooLarge     Kind = "too_large"
	KindUnavailable  Kind = "unavailable"
	KindTooMany      Kind = "too_many_requests"
	KindInternal     Kind = "internal"
)

// Error is Baton's one error type. Msg is safe to show to a client; Err, the
// cause, is for logs only.
type Error struct {
	Kind Kind
	Msg  string
	Err  error
}

func (e *Error) Error() string {
	switch {
	case e.Msg != "" && e.Err != nil:
		return e.Msg + ": " + e.Err.Error()
	case e.Msg != "":
		return e.Msg
	case e.Err != nil:
		return e.Err.Error()
	}
	return string(e.Kind)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of the given kind with a formatted, client-safe message.
func Errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error of the given kind whose cause is err.
func Wrap(kind Kind, err error, format string, args ...any) *Error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...), Err: err}
}

// KindOf reports the kind of the first *Error in err's chain, KindInternal
// for any other non-nil error and "" for nil.
func KindOf(err error) Kind {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// MessageOf returns the client-safe message of the first *Error in err's
// chain, or "" when there is none.
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Msg
	}
	return ""
}

// IsNotFound reports whether err is of KindNotFound.
func IsNotFound(err error) bool { return KindOf(err) == KindNotFound }

// IsConflict reports whether err is of KindConflict.
func IsConflict(err error) bool { return KindOf(err) == KindConflict }
