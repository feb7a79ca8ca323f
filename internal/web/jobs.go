package web

import (
	"bytes"
	"context"
	"net/http"
	"strconv"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/policy"
)

// maxPageLog is how much log the job page renders at once; longer logs show
// their tail, numbered correctly, with a link to the raw log.
const maxPageLog = 4 << 20

// jobOf loads job :id of the request's project.
func (s *Server) jobOf(c *req, raw string) (*ci.Job, error) {
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return nil, notFound()
	}
	j, err := s.Store.JobByID(c.r.Context(), id)
	if ci.IsNotFound(err) || (err == nil && j.ProjectID != c.proj.ID) {
		return nil, ci.Errorf(ci.KindNotFound, "404 Job %d Not Found", id)
	}
	return j, err
}

// jobPage shows a job's metadata and its log, which follows new output while the job runs.
func (s *Server) jobPage(c *req, j *ci.Job) error {
	ctx := c.r.Context()
	pl, err := s.Store.PipelineByID(ctx, j.PipelineID)
	if err != nil {
		return err
	}
	var runner *ci.Runner
	if j.RunnerID != 0 {
		if runner, err = s.Store.RunnerByID(ctx, j.RunnerID); err != nil && !ci.IsNotFound(err) {
			return err
		}
	}
	start, first, err := s.logWindow(c, j)
	if err != nil {
		return err
	}
	data, err := s.Store.ReadTrace(ctx, j.ID, start, 0)
	if err != nil {
		return err
	}
	final := j.Status.Finished()
	lines, consumed := parseLog(data, first, final)
	arts, err := s.Store.ArtifactsOfJobs(ctx, []int64{j.ID})
	if err != nil {
		return err
	}
	var archive *ci.Artifact
	var published []*ci.Artifact
	for _, a := range arts {
		switch a.FileType {
		case ci.FileTypeArchive:
			archive = a
		case ci.FileTypePublished:
			published = append(published, a)
		}
	}
	attempts, _, err := s.Store.ListJobs(ctx, ci.JobFilter{PipelineID: j.PipelineID, Name: j.Name, IncludeRetried: true})
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "job", j.Name+" · job #"+strconv.FormatInt(j.ID, 10), map[string]any{
		"Job": j, "Pipeline": pl, "Runner": runner, "Duration": j.Duration(s.Now()),
		"Log": renderLog(lines), "Offset": start + int64(consumed), "NextLine": nextLine(lines, first),
		"Truncated": start > 0, "Final": final, "Archive": archive, "Published": published, "Attempts": attempts,
		"CanRun":     s.can(c, policy.UpdateJob),
		"Cancelable": !j.Status.Finished() && j.Status != ci.StatusManual,
		"Retryable":  j.Status.Finished() && !j.Retried,
		"Playable":   j.Status == ci.StatusManual || j.Status == ci.StatusScheduled,
		"Scheduled":  j.Status == ci.StatusScheduled,
	})
}

// logWindow is where the page's log starts: 0, or for long logs the first
// line boundary of the last maxPageLog bytes, with that line's number.
func (s *Server) logWindow(c *req, j *ci.Job) (offset int64, firstLine int, err error) {
	if j.TraceSize <= maxPageLog {
		return 0, 1, nil
	}
	cut := j.TraceSize - maxPageLog
	lines := 1
	const chunk = 1 << 20
	for off := int64(0); off < cut; off += chunk {
		b, err := s.Store.ReadTrace(c.r.Context(), j.ID, off, min(chunk, cut-off))
		if err != nil {
			return 0, 0, err
		}
		lines += bytes.Count(b, []byte{'\n'})
	}
	tail, err := s.Store.ReadTrace(c.r.Context(), j.ID, cut, 64<<10)
	if err != nil {
		return 0, 0, err
	}
	if i := bytes.IndexByte(tail, '\n'); i >= 0 {
		return cut + int64(i) + 1, lines + 1, nil
	}
	return cut, lines, nil
}

// traceUpdate is what the job page polls: the lines after offset.
type traceUpdate struct {
	Offset   int64     `json:"offset"`
	NextLine int       `json:"line"`
	Lines    []logLine `json:"lines"`
	Status   ci.Status `json:"status"`
	Label    string    `json:"label"`
	Duration string    `json:"duration"`
	Finished bool      `json:"finished"`
}

// maxTraceUpdate bounds one poll's answer; the page asks again at once if it got a full one.
const maxTraceUpdate = 512 << 10

// traceJSON is GET /-/ui/jobs/:id/trace.json?offset=N&line=M.
func (s *Server) traceJSON(c *req, raw string) error {
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return notFound()
	}
	ctx := c.r.Context()
	j, err := s.Store.JobByID(ctx, id)
	if err != nil {
		return hideMissing(err)
	}
	if err := s.requireView(c, j.ProjectID); err != nil {
		return err
	}
	q := c.r.URL.Query()
	offset, err := strconv.ParseInt(q.Get("offset"), 10, 64)
	if err != nil || offset < 0 {
		return ci.Errorf(ci.KindInvalid, "400 Bad request - offset must be a number of bytes")
	}
	line, err := strconv.Atoi(q.Get("line"))
	if err != nil || line < 1 {
		line = 1
	}
	upd, _, err := s.readTraceUpdate(ctx, j, offset, line)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, upd)
	return nil
}

// readTraceUpdate reads j's log from offset (line its first line's number)
// and reports whether the read was cut at maxTraceUpdate.
func (s *Server) readTraceUpdate(ctx context.Context, j *ci.Job, offset int64, line int) (*traceUpdate, bool, error) {
	data, err := s.Store.ReadTrace(ctx, j.ID, offset, maxTraceUpdate)
	if err != nil {
		return nil, false, err
	}
	full := int64(len(data)) >= maxTraceUpdate
	final := j.Status.Finished() && !full
	lines, consumed := parseLog(data, line, final)
	if lines == nil {
		lines = []logLine{}
	}
	return &traceUpdate{Offset: offset + int64(consumed), NextLine: nextLine(lines, line), Lines: lines,
		Status: j.Status, Label: statusLabel(j.Status), Duration: formatDuration(j.Duration(s.Now())),
		Finished: final && offset+int64(consumed) >= j.TraceSize}, full, nil
}

// rawTrace streams the whole log as plain text.
func (s *Server) rawTrace(c *req, j *ci.Job) error {
	h := c.w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("Cache-Control", "no-store")
	if c.r.URL.Query().Get("download") != "" {
		h.Set("Content-Disposition", `attachment; filename="job-`+strconv.FormatInt(j.ID, 10)+`.log"`)
	}
	const chunk = 1 << 20
	for off := int64(0); ; {
		b, err := s.Store.ReadTrace(c.r.Context(), j.ID, off, chunk)
		if err != nil {
			if off == 0 {
				return err
			}
			panic(http.ErrAbortHandler)
		}
		if len(b) > 0 {
			if _, err := c.w.Write(b); err != nil {
				return nil
			}
		}
		off += int64(len(b))
		if len(b) < chunk {
			return nil
		}
	}
}

// jobAction is POST .../jobs/:id/{cancel,retry,play,unschedule}.
func (s *Server) jobAction(c *req, j *ci.Job, action string) error {
	if err := s.checkCSRF(c); err != nil {
		return err
	}
	ctx, target := c.r.Context(), j
	var err error
	switch action {
	case "cancel":
		err = s.Scheduler.CancelJob(ctx, j.ID)
	case "retry":
		target, err = s.Scheduler.RetryJob(ctx, j.ID, c.p.User.ID)
	case "play":
		target, err = s.Scheduler.PlayJob(ctx, j.ID, c.p.User.ID)
	case "unschedule":
		target, err = s.Scheduler.UnscheduleJob(ctx, j.ID, c.p.User.ID)
	}
	if err != nil {
		return err
	}
	if target == nil {
		target = j
	}
	http.Redirect(c.w, c.r, "/"+c.proj.FullPath+"/-/jobs/"+strconv.FormatInt(target.ID, 10), http.StatusSeeOther)
	return nil
}
