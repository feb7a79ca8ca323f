package scheduler

import (
	"context"
	"io"

	"github.com/batonci/baton/internal/ci"
)

// traceReader reads a job's log from the store in chunks.
type traceReader struct {
	ctx  context.Context
	logs CoverageStore
	id   int64
	off  int64
}

const traceChunk = 1 << 20

func (r *traceReader) Read(p []byte) (int, error) {
	data, err := r.logs.ReadTrace(r.ctx, r.id, r.off, int64(min(len(p), traceChunk)))
	if err != nil {
		return 0, err
	}
	if len(data) == 0 {
		return 0, io.EOF
	}
	n := copy(p, data)
	r.off += int64(n)
	return n, nil
}

// recordCoverage applies a finished job's coverage: regular expression to
// its log (GitLab's job coverage) and stores the percentage it finds. A
// pipeline's coverage is the average of its jobs' (PipelineCoverage).
// Failures are logged: the job is finished either way.
func (s *Scheduler) recordCoverage(ctx context.Context, j *ci.Job) {
	if s.opts.Coverage == nil || j.Spec.Coverage == "" || (j.Status != ci.StatusSuccess && j.Status != ci.StatusFailed) {
		return
	}
	re, err := ci.CoverageRegexp(j.Spec.Coverage)
	if err != nil {
		s.log.WarnContext(ctx, "job coverage not read", "job_id", j.ID, "err", err)
		return
	}
	cov, ok, err := ci.ScanCoverage(&traceReader{ctx: ctx, logs: s.opts.Coverage, id: j.ID}, re)
	if err != nil {
		s.log.ErrorContext(ctx, "reading job log for coverage", "job_id", j.ID, "err", err)
		return
	}
	if !ok {
		return
	}
	if err := s.opts.Coverage.SetJobCoverage(ctx, j.ID, cov); err != nil {
		s.log.ErrorContext(ctx, "recording job coverage", "job_id", j.ID, "err", err)
	}
}
