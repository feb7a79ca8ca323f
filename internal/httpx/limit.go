package httpx

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/batonci/baton/internal/ci"
)

// SmallBody is the body limit of JSON and form routes: their parameters
// are a few KiB at most.
const SmallBody = 64 << 10

// ParamsBody is the body limit of routes whose parameters may legitimately
// be larger (pipeline variables: up to 10,000 characters each); it is the
// most ReadParams ever reads.
const ParamsBody = maxParamsBody

// Mux is where routes are registered (*http.ServeMux). Registering through
// this interface lets tests walk a surface's route table.
type Mux interface {
	Handle(pattern string, handler http.Handler)
}

// Limited is a handler whose request bodies are bounded: a request
// declaring a Content-Length over Max is answered 413 before the handler
// runs, and reading more than Max bytes of any other body fails with
// *http.MaxBytesError (TooLarge turns it into a 413). Max < 0 means no
// limit.
type Limited struct {
	Max     int64
	Handler http.Handler
}

// LimitBody bounds the bodies h may read to max bytes (see Limited).
func LimitBody(max int64, h http.Handler) *Limited { return &Limited{Max: max, Handler: h} }

func (l *Limited) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if l.Max >= 0 && r.Body != nil && r.Body != http.NoBody {
		if r.ContentLength > l.Max {
			// The body is not read: the connection cannot be reused.
			w.Header().Set("Connection", "close")
			WriteJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"message": tooLargeMessage(l.Max)})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, l.Max)
	}
	l.Handler.ServeHTTP(w, r)
}

func tooLargeMessage(max int64) string {
	return "413 Request Entity Too Large: this route accepts bodies of at most " + sizeString(max)
}

func sizeString(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// TooLarge returns a KindTooLarge naming the limit when err is (or wraps)
// the *http.MaxBytesError of a bounded body, and nil otherwise.
func TooLarge(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return ci.Wrap(ci.KindTooLarge, err, "%s", tooLargeMessage(mbe.Limit))
	}
	return nil
}
