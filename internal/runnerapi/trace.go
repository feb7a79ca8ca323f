package runnerapi

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/httpx"
)

// maxTracePatch bounds one trace patch; runners send at most 1 MiB.
const maxTracePatch = 4 << 20

// ParseContentRange parses a trace patch's Content-Range: the runner's bare
// "start-end" (inclusive end) and also "bytes start-end/total" or
// "bytes start-end/*". It returns start and the inclusive end.
func ParseContentRange(v string) (start, end int64, err error) {
	v = strings.TrimSpace(v)
	if rest, ok := strings.CutPrefix(v, "bytes"); ok {
		v = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), "="))
	}
	if i := strings.IndexByte(v, '/'); i >= 0 {
		v = v[:i]
	}
	a, b, ok := strings.Cut(v, "-")
	if !ok {
		return 0, 0, fmt.Errorf("content range %q: want start-end", v)
	}
	if start, err = strconv.ParseInt(strings.TrimSpace(a), 10, 64); err != nil || start < 0 {
		return 0, 0, fmt.Errorf("content range %q: bad start", v)
	}
	if end, err = strconv.ParseInt(strings.TrimSpace(b), 10, 64); err != nil || end < start-1 {
		return 0, 0, fmt.Errorf("content range %q: bad end", v)
	}
	return start, end, nil
}

// patchTrace is PATCH /api/v4/jobs/:id/trace: append to the job's log at
// the offset the runner says. 202 with Range: 0-<new size> on success, 416
// with Range: 0-<stored size> when the offset is not the stored size.
func (s *Server) patchTrace(w http.ResponseWriter, r *http.Request) error {
	token := r.Header.Get("Job-Token")
	if token == "" {
		token = r.URL.Query().Get("token")
	}
	j, err := s.activeJob(w, r, token)
	if err != nil {
		return err
	}
	w.Header().Set("X-GitLab-Trace-Update-Interval", traceUpdateInterval)
	cr := r.Header.Get("Content-Range")
	if cr == "" {
		return ci.Errorf(ci.KindInvalid, "400 Bad request - Content-Range is missing")
	}
	start, _, err := ParseContentRange(cr)
	if err != nil {
		return ci.Errorf(ci.KindInvalid, "400 Bad request - %v", err)
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxTracePatch+1))
	if tl := httpx.TooLarge(err); tl != nil {
		return tl
	}
	if err != nil {
		return ci.Wrap(ci.KindInvalid, err, "400 Bad request - reading trace patch")
	}
	if len(data) > maxTracePatch {
		return ci.Errorf(ci.KindTooLarge, "413 Request Entity Too Large: a trace patch may hold at most %d bytes", maxTracePatch)
	}
	ctx := r.Context()
	if limit := s.traceLimit(); start+int64(len(data)) > limit {
		s.failJob(ctx, j, ci.FailureTraceSizeExceeded)
		w.Header().Set("Job-Status", string(ci.StatusFailed))
		return ci.Errorf(ci.KindForbidden, "403 Forbidden - the job log exceeded the limit of %d MiB", limit>>20)
	}
	mask, err := s.traceMask(ctx, j, token)
	if err != nil {
		return err
	}
	size, err := s.Store.AppendMaskedTrace(ctx, j.ID, start, data, mask)
	if ci.IsConflict(err) {
		w.Header().Set("Range", "0-"+itoa(size))
		w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
		return nil
	}
	if err != nil {
		return fmt.Errorf("appending trace of job %d: %w", j.ID, err)
	}
	w.Header().Set("Range", "0-"+itoa(size))
	w.WriteHeader(http.StatusAccepted)
	return nil
}
