package runnerapi

import (
	"context"
	"fmt"
	"hash/crc32"
	"net/http"
	"strconv"
	"strings"

	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/httpx"
)

// activeJob loads the job of a job route and checks its token: the job must
// exist (404), the token must be the job's (403) and the job must be running
// or canceling (403 "Job is not processing on runner", with Job-Status).
func (s *Server) activeJob(w http.ResponseWriter, r *http.Request, token string) (*ci.Job, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return nil, err
	}
	j, err := s.Store.JobByID(r.Context(), id)
	if ci.IsNotFound(err) {
		return nil, ci.Errorf(ci.KindNotFound, "404 Not Found")
	}
	if err != nil {
		return nil, fmt.Errorf("loading job %d: %w", id, err)
	}
	if token == "" || j.TokenHash == "" || !auth.Equal(auth.Hash(token), j.TokenHash) {
		return nil, ci.Errorf(ci.KindForbidden, "403 Forbidden - invalid job token")
	}
	w.Header().Set("Job-Status", string(j.Status))
	if !j.Status.Active() {
		return nil, ci.Errorf(ci.KindForbidden, "403 Forbidden - Job is not processing on runner")
	}
	return j, nil
}

// updateRequest is the body of PUT /api/v4/jobs/:id.
type updateRequest struct {
	Token         string `json:"token"`
	State         string `json:"state"`
	FailureReason string `json:"failure_reason"`
	ExitCode      *int   `json:"exit_code"`
	Checksum      string `json:"checksum"`
	Output        struct {
		Checksum string `json:"checksum"`
		Bytesize int64  `json:"bytesize"`
	} `json:"output"`
}

// updateJob is PUT /api/v4/jobs/:id: keepalive (state running or pending)
// or the final state (success, failed). It always echoes Job-Status.
func (s *Server) updateJob(w http.ResponseWriter, r *http.Request) error {
	var req updateRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	token := req.Token
	if token == "" {
		token = r.Header.Get("Job-Token")
	}
	j, err := s.activeJob(w, r, token)
	if err != nil {
		return err
	}
	w.Header().Set("X-GitLab-Trace-Update-Interval", traceUpdateInterval)
	ctx := r.Context()
	switch req.State {
	case "running", "pending":
		if err := s.Store.TouchJob(ctx, j.ID, s.now()); err != nil {
			return fmt.Errorf("touching job %d: %w", j.ID, err)
		}
	case "success", "failed":
		sum := req.Output.Checksum
		if sum == "" {
			sum = req.Checksum
		}
		s.checkTrace(ctx, j, sum)
		if j, err = s.finishJob(ctx, j, req); err != nil {
			return err
		}
		w.Header().Set("Job-Status", string(j.Status))
	default:
		return ci.Errorf(ci.KindInvalid, "400 Bad request - state is invalid: %q", req.State)
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": string(j.Status)})
	return nil
}

// finishJob stores a final state reported by the runner and tells the
// scheduler. A canceling job always ends canceled. Concurrent changes to the
// job (e.g. it started canceling) are retried with the fresh row.
func (s *Server) finishJob(ctx context.Context, j *ci.Job, req updateRequest) (*ci.Job, error) {
	for attempt := 0; ; attempt++ {
		from := j.Status
		now := s.now()
		j.FinishedAt = &now
		j.UpdatedAt = now
		j.ExitCode = req.ExitCode
		switch {
		case from == ci.StatusCanceling:
			j.Status, j.FailureReason = ci.StatusCanceled, ""
		case req.State == "success":
			j.Status, j.FailureReason = ci.StatusSuccess, ""
		default:
			j.Status, j.FailureReason = ci.StatusFailed, req.FailureReason
			if !knownFailureReason(j.FailureReason) {
				j.FailureReason = "unknown_failure"
			}
		}
		err := s.Store.UpdateJob(ctx, j, from)
		if err == nil {
			s.logger().InfoContext(ctx, "job finished", "job_id", j.ID, "status", j.Status, "failure_reason", j.FailureReason)
			s.jobFinished(ctx, j)
			return j, nil
		}
		if !ci.IsConflict(err) || attempt >= 3 {
			return nil, fmt.Errorf("finishing job %d: %w", j.ID, err)
		}
		fresh, lerr := s.Store.JobByID(ctx, j.ID)
		if lerr != nil {
			return nil, fmt.Errorf("reloading job %d: %w", j.ID, lerr)
		}
		if !fresh.Status.Active() {
			return nil, ci.Errorf(ci.KindForbidden, "403 Forbidden - Job is not processing on runner")
		}
		j = fresh
	}
}

// failJob fails an active job on the server's initiative (trace too large,
// unbuildable payload) and tells the scheduler.
func (s *Server) failJob(ctx context.Context, j *ci.Job, reason string) {
	from := j.Status
	now := s.now()
	j.Status, j.FailureReason, j.FinishedAt, j.UpdatedAt = ci.StatusFailed, reason, &now, now
	if err := s.Store.UpdateJob(ctx, j, from); err != nil {
		s.logger().ErrorContext(ctx, "failing job", "job_id", j.ID, "reason", reason, "err", err)
		return
	}
	s.jobFinished(ctx, j)
}

// checkTrace compares the runner's CRC32 of the whole log with the stored
// one and logs a mismatch; GitLab's answer (412, resend) is not used.
func (s *Server) checkTrace(ctx context.Context, j *ci.Job, checksum string) {
	want, ok := strings.CutPrefix(checksum, "crc32:")
	if !ok {
		return
	}
	h := crc32.NewIEEE()
	for off := int64(0); ; {
		chunk, err := s.Store.ReadTrace(ctx, j.ID, off, 1<<20)
		if err != nil {
			s.logger().WarnContext(ctx, "reading trace for checksum", "job_id", j.ID, "err", err)
			return
		}
		if len(chunk) == 0 {
			break
		}
		h.Write(chunk)
		off += int64(len(chunk))
	}
	if got := fmt.Sprintf("%08x", h.Sum32()); !strings.EqualFold(got, want) {
		s.logger().WarnContext(ctx, "trace checksum mismatch", "job_id", j.ID, "runner_crc32", want, "stored_crc32", got)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
