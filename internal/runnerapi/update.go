package runnerapi

import (
	"context"
	"errors"
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
		if req.State == "success" && j.Status == ci.StatusRunning {
			if req, err = s.release(ctx, j, token, req); err != nil {
				return err
			}
		}
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

// release creates the release of a job with a release: keyword whose
// script succeeded, before the job is marked successful: in GitLab the
// release-cli step inside the job creates it, so a release that cannot
// be created (the tag has one already, an invalid link, ...) fails the
// job (script_failure, exit code 1, as release-cli exits) with the reason
// in its log. The answer is the update to store. Doing it here, not on the
// success event, means no one ever sees the job succeed first. A server
// error answers 500, so the runner sends its update again.
func (s *Server) release(ctx context.Context, j *ci.Job, token string, req updateRequest) (updateRequest, error) {
	if j.Spec.Release == nil || s.Releases == nil {
		return req, nil
	}
	r, err := s.Releases.CreateFromJob(ctx, j)
	if err == nil {
		s.logger().InfoContext(ctx, "release created", "job_id", j.ID, "project_id", j.ProjectID, "tag", r.TagName)
		return req, nil
	}
	if ci.KindOf(err) == ci.KindInternal || ci.KindOf(err) == ci.KindUnavailable {
		return req, fmt.Errorf("creating the release of job %d: %w", j.ID, err)
	}
	s.logger().InfoContext(ctx, "release not created: the job fails", "job_id", j.ID, "project_id", j.ProjectID, "err", err)
	// Only the client-safe part of the error goes into the log.
	why := err.Error()
	if ce := (*ci.Error)(nil); errors.As(err, &ce) && ce.Msg != "" {
		why = strings.Replace(why, ce.Error(), ce.Msg, 1)
	}
	msg := "\nERROR: Job failed: the release could not be created: " + why + "\n"
	mask, merr := s.traceMask(ctx, j, token)
	if merr == nil {
		_, merr = s.Store.AppendMaskedTrace(ctx, j.ID, j.TraceSize, []byte(msg), mask)
	}
	if merr != nil {
		s.logger().ErrorContext(ctx, "writing the release failure to the log", "job_id", j.ID, "err", merr)
	}
	one := 1
	req.State, req.FailureReason, req.ExitCode = "failed", ci.FailureScriptFailure, &one
	return req, nil
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
