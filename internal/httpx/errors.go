package httpx

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/batonci/baton/internal/ci"
)

// statusOf is the one mapping from error kinds to HTTP statuses.
func statusOf(kind ci.Kind) int {
	switch kind {
	case ci.KindNotFound:
		return http.StatusNotFound
	case ci.KindInvalid:
		return http.StatusBadRequest
	case ci.KindConflict:
		return http.StatusConflict
	case ci.KindUnauthorized:
		return http.StatusUnauthorized
	case ci.KindForbidden:
		return http.StatusForbidden
	case ci.KindTooLarge:
		return http.StatusRequestEntityTooLarge
	case ci.KindUnavailable:
		return http.StatusServiceUnavailable
	case ci.KindTooMany:
		return http.StatusTooManyRequests
	}
	return http.StatusInternalServerError
}

// ErrorStatus returns the HTTP status and client message for err. Internal
// errors get a generic message; their details are for the log only.
func ErrorStatus(err error) (int, string) {
	kind := ci.KindOf(err)
	status := statusOf(kind)
	msg := ci.MessageOf(err)
	if kind == ci.KindInternal || msg == "" {
		msg = http.StatusText(status)
		if status >= 500 {
			msg = "500 Internal Server Error"
		}
	}
	return status, msg
}

// statusClientClosed is nginx's 499, logged for requests whose client left.
const statusClientClosed = 499

// WriteError answers with GitLab's error body {"message": ...}, logging
// internal errors once with the request id.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	if r.Context().Err() != nil && errors.Is(err, r.Context().Err()) {
		// The client went away (or the server is stopping): nobody reads
		// the answer, and it is no server error.
		w.WriteHeader(statusClientClosed)
		return
	}
	status, msg := ErrorStatus(err)
	if status >= 500 {
		var ce *ci.Error
		if !errors.As(err, &ce) || ce.Kind == ci.KindInternal {
			log.ErrorContext(r.Context(), "request failed", "request_id", RequestID(r.Context()), "method", r.Method, "path", r.URL.Path, "err", err)
		}
	}
	var ra interface{ RetryAfter() int }
	if errors.As(err, &ra) && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", strconv.Itoa(ra.RetryAfter()))
	}
	if status == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="Baton"`)
	}
	WriteJSON(w, status, map[string]string{"message": msg})
}
