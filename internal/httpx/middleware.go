package httpx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"
)

type requestIDKey struct{}

// RequestID returns the id given to the request by WithRequestLog.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Recorder remembers the status and size of a response: the request log's,
// and an artifact token's record of a use. It passes ReadFrom through so
// file downloads keep using sendfile.
type Recorder struct {
	http.ResponseWriter
	Status int   // the first status written; 0 if none yet
	Bytes  int64 // body bytes written
}

func (s *Recorder) WriteHeader(code int) {
	if s.Status == 0 {
		s.Status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *Recorder) Write(b []byte) (int, error) {
	if s.Status == 0 {
		s.Status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.Bytes += int64(n)
	return n, err
}

// ReadFrom keeps the underlying writer's ReadFrom (sendfile for files).
func (s *Recorder) ReadFrom(r io.Reader) (int64, error) {
	if s.Status == 0 {
		s.Status = http.StatusOK
	}
	var n int64
	var err error
	if rf, ok := s.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(r)
	} else {
		n, err = io.Copy(writerOnly{s.ResponseWriter}, r)
	}
	s.Bytes += n
	return n, err
}

type writerOnly struct{ io.Writer }

// Unwrap lets http.ResponseController reach the underlying writer (flush,
// deadlines) and io.Copy find its ReadFrom.
func (s *Recorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// WithRequestLog gives every request an id (X-Request-Id, echoed back),
// recovers panics as 500s and logs one line per request with slog. Secrets
// never reach the log: only method, path (without query) and status.
// Requests are counted in metrics, which may be nil.
func WithRequestLog(log *slog.Logger, metrics *Metrics, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 64 {
			id = newRequestID()
		}
		w.Header().Set("X-Request-Id", id)
		r = r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id))
		rec := &Recorder{ResponseWriter: w}
		start := time.Now()
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.ErrorContext(r.Context(), "panic serving request", "request_id", id, "panic", v, "stack", string(debug.Stack()))
				if rec.Status == 0 {
					WriteJSON(rec, http.StatusInternalServerError, map[string]string{"message": "500 Internal Server Error"})
				}
			}
			metrics.observe(r.Method, rec.Status, time.Since(start))
			level := slog.LevelInfo
			if rec.Status >= 500 {
				level = slog.LevelError
			}
			log.Log(r.Context(), level, "request", "request_id", id, "client", clientHost(r.RemoteAddr), "method", r.Method, "path", r.URL.Path,
				"status", rec.Status, "bytes", rec.Bytes, "duration_ms", float64(time.Since(start).Microseconds())/1000)
		}()
		next.ServeHTTP(rec, r)
	})
}

// RejectTraversal answers 400 for API paths with "..", "." or empty
// segments, or a NUL, instead of letting ServeMux redirect them to a cleaned
// path: a request for artifacts/raw/../../x must fail loudly, not fetch
// something else.
func RejectTraversal(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if strings.HasPrefix(p, "/api/") && (strings.Contains(p, "\x00") || hasDotSegment(p) || strings.Contains(p[1:], "//")) {
			WriteJSON(w, http.StatusBadRequest, map[string]string{"message": "400 Bad request - path must not contain '..', '.', empty segments or NUL"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func hasDotSegment(p string) bool {
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." || seg == "." {
			return true
		}
	}
	return false
}

// clientHost is the address part of a RemoteAddr (the client's behind a
// trusted proxy, see TrustProxies).
func clientHost(remoteAddr string) string {
	if host, _, err := net.SplitHostPort(remoteAddr); err == nil {
		return host
	}
	return remoteAddr
}
