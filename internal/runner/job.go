package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// job is one job being run in one concurrency slot.
type job struct {
	r     *Runner
	p     *jobPayload
	slot  int
	log   *slog.Logger
	trace *traceBuffer
	out   *masker // everything that goes into the log is written here

	// abortCtx ends on a hard cancel: kill everything, no after_script, no final update.
	abortCtx context.Context
	abort    context.CancelCauseFunc
	// scriptCtx ends on a graceful cancel: stop the script, after_script still runs.
	scriptCtx context.Context
	cancel    context.CancelCauseFunc

	projectDir string
	tmpDir     string
	vars       map[string]string // the job's variables as its shells see them, set by prepare

	mu         sync.Mutex
	sent       int // trace bytes acknowledged by the coordinator
	interval   time.Duration
	lastUpdate time.Time // last successful patch or state update
	traceGone  bool      // the coordinator answered 404 to a patch
}

func (r *Runner) newJob(p *jobPayload, slot int) *job {
	j := &job{r: r, p: p, slot: slot, interval: r.traceInterval, lastUpdate: time.Now(),
		log: r.log.With("job_id", p.ID, "slot", slot), trace: newTraceBuffer(r.traceLimit)}
	secrets := []string{p.Token}
	for _, v := range p.Variables {
		if v.Masked {
			secrets = append(secrets, v.Value)
		}
	}
	j.out = newMasker(j.trace, secrets, p.Features.TokenMaskPrefixes)
	j.abortCtx, j.abort = context.WithCancelCause(context.Background())
	j.scriptCtx, j.cancel = context.WithCancelCause(j.abortCtx)
	root := filepath.Join(r.cfg.BuildsDir, shortToken(r.cfg.Token), strconv.Itoa(slot))
	j.projectDir = filepath.Join(root, projectPath(p))
	j.tmpDir = j.projectDir + ".tmp"
	return j
}

// projectPath names the project's directory inside a slot, like gitlab-runner:
// the repository URL's path without .git, else project-<id>.
func projectPath(p *jobPayload) string {
	cand := p.JobInfo.ProjectFullPath
	if s := p.GitInfo.RepoURL; s != "" && cand == "" {
		if i := strings.Index(s, "://"); i >= 0 {
			s = s[i+3:]
			if k := strings.IndexByte(s, '/'); k >= 0 {
				cand = s[k+1:]
			}
		} else {
			cand = filepath.Base(strings.TrimSuffix(strings.TrimSuffix(s, "/"), "/.git"))
		}
	}
	cand = strings.TrimSuffix(strings.Trim(cand, "/"), ".git")
	if cand == "" || !filepath.IsLocal(cand) {
		return fmt.Sprintf("project-%d", p.JobInfo.ProjectID)
	}
	return filepath.Clean(cand)
}

// printf writes a runner message into the job log.
func (j *job) printf(format string, args ...any) {
	fmt.Fprintf(j.out, format, args...)
}

func (j *job) warnf(format string, args ...any) {
	j.printf(ansiBoldYellow+"WARNING: "+format+ansiReset+"\n", args...)
}

func (j *job) errorf(format string, args ...any) {
	j.printf(ansiBoldRed+"ERROR: "+format+ansiReset+"\n", args...)
}

// run acknowledges, executes and finalises one job. runCtx is the Runner's
// context: when it ends, the job is cancelled gracefully.
func (j *job) run(runCtx context.Context) {
	defer j.abort(nil)
	if _, err := j.putState(j.abortCtx, "running", "", 0, false); err != nil {
		j.log.Warn("acknowledging job", "error", err)
	}
	if j.aborted() {
		j.log.Warn("job dropped: the coordinator refused the acknowledgement")
		return
	}
	j.mu.Lock()
	j.lastUpdate = time.Now()
	j.mu.Unlock()
	stop := context.AfterFunc(runCtx, func() { j.cancel(errInterrupted) })
	defer stop()

	loopCtx, stopLoop := context.WithCancel(j.abortCtx)
	var loop sync.WaitGroup
	loop.Go(func() { j.traceLoop(loopCtx) })
	state, reason, exitCode := j.execute()
	_ = j.out.Flush()
	stopLoop()
	loop.Wait()
	if j.aborted() {
		j.log.Warn("job aborted by the coordinator")
		return
	}
	j.finish(state, j.p.failureReason(reason), exitCode)
}

// execute runs all stages and returns the outcome for the final update.
func (j *job) execute() (state, reason string, exitCode int) {
	j.printf("Running with baton-runner %s\n  on %s %s, system ID: %s\n", ProtocolVersion, j.r.cfg.Name, shortToken(j.r.cfg.Token), j.r.systemID)
	timeout := time.Duration(j.p.RunnerInfo.Timeout) * time.Second
	if timeout <= 0 {
		timeout = 7200 * time.Second
	}
	jobCtx, cancelTimeout := context.WithTimeoutCause(j.scriptCtx, timeout, errJobTimeout)
	defer cancelTimeout()
	defer os.RemoveAll(j.tmpDir)

	env, err := j.prepare()
	if err == nil {
		err = j.stage(jobCtx, "get_sources", "Getting source from Git repository", func(ctx context.Context) error { return j.getSources(ctx, env) })
	}
	sourcesOK := err == nil
	if err == nil && len(j.p.Cache) > 0 {
		err = j.stage(jobCtx, "restore_cache", "Restoring cache", j.restoreCache)
	}
	if err == nil && hasDownloads(j.p) {
		err = j.stage(jobCtx, "download_artifacts", "Downloading artifacts", j.downloadArtifacts)
	}
	for _, st := range j.p.Steps {
		if st.Name == "after_script" || !stepRuns(st.When, err) {
			continue
		}
		serr := j.stage(jobCtx, "step_"+st.Name, "Executing \"step_"+st.Name+"\" stage of the job script", func(ctx context.Context) error {
			return j.runScript(ctx, st, env)
		})
		if ee := (*exitError)(nil); serr != nil && st.AllowFailure && errors.As(serr, &ee) {
			j.warnf("step_%s failed with exit code %d, allowed to fail", st.Name, ee.code)
			serr = nil
		}
		if err == nil {
			err = serr
		}
	}
	for _, st := range j.p.Steps {
		if st.Name == "after_script" && sourcesOK && !j.aborted() {
			j.runAfterScript(st, env)
		}
	}
	if j.aborted() {
		return "failed", "", 0
	}
	switch {
	case j.scriptCtx.Err() != nil:
		// Canceled or interrupted: no uploads, and the job does not succeed
		// even when the cancel came after its script.
		if err == nil || !errors.Is(err, context.Cause(j.scriptCtx)) {
			err = context.Cause(j.scriptCtx)
		}
	case err == nil:
		j.saveCaches("on_success")
		err = j.uploadArtifacts(j.scriptCtx, "on_success")
	default:
		if sourcesOK {
			j.saveCaches("on_failure")
		}
		_ = j.uploadArtifacts(j.scriptCtx, "on_failure")
	}
	return j.outcome(err)
}

// saveCaches runs the archive_cache stage (archive_cache_on_failure after
// a failure) when the job has caches to save for outcome.
func (j *job) saveCaches(outcome string) {
	if len(j.p.Cache) == 0 {
		return
	}
	name, header := "archive_cache", "Saving cache for successful job"
	if outcome == "on_failure" {
		name, header = "archive_cache_on_failure", "Saving cache for failed job"
	}
	_ = j.stage(j.scriptCtx, name, header, func(ctx context.Context) error {
		j.archiveCache(ctx, outcome)
		return nil
	})
}

// stepRuns applies a step's when to the job's state so far.
func stepRuns(when string, err error) bool {
	switch when {
	case "always":
		return true
	case "on_failure":
		return err != nil
	default:
		return err == nil
	}
}

// stage runs fn inside a collapsible trace section and folds a cancelled
// context into its cause.
func (j *job) stage(ctx context.Context, name, header string, fn func(context.Context) error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	sectionStart(j.out, name, header)
	err := fn(ctx)
	_ = j.out.Flush()
	sectionEnd(j.out, name)
	if err != nil && ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return err
}

// outcome classifies the first error of a job.
func (j *job) outcome(err error) (state, reason string, exitCode int) {
	var ee *exitError
	switch {
	case err == nil:
		j.printf(ansiBoldGreen + "Job succeeded" + ansiReset + "\n")
		return "success", "", 0
	case errors.Is(err, errCanceled):
		j.errorf("Job failed: canceled")
		return "failed", reasonCanceled, 0
	case errors.Is(err, errInterrupted):
		j.errorf("Job failed: the runner is shutting down")
		return "failed", reasonInterrupted, 0
	case errors.Is(err, errJobTimeout), errors.Is(err, errStepTimeout):
		j.errorf("Job failed: execution took longer than the timeout")
		return "failed", reasonTimeout, 0
	case errors.As(err, &ee):
		j.errorf("Job failed: exit code %d", ee.code)
		return "failed", reasonScript, ee.code
	case errors.As(err, new(*uploadError)):
		j.errorf("Job failed: uploading artifacts: %v", err)
		return "failed", reasonArchived, 0
	case errors.As(err, new(*systemError)):
		j.errorf("Job failed (system failure): %v", err)
		return "failed", reasonSystem, 0
	default:
		j.errorf("Job failed: %v", err)
		return "failed", reasonScript, 0
	}
}

// systemError marks failures of the runner's machine rather than of the job.
type systemError struct{ err error }

func (e *systemError) Error() string { return e.err.Error() }
func (e *systemError) Unwrap() error { return e.err }

// exitError is a shell that exited with a non-zero code.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }
