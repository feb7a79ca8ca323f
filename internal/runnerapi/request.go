package runnerapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/httpx"
)

// requestJob is POST /api/v4/jobs/request. It assigns the oldest pending
// job the runner may run (201 with the payload), or answers 204. Both carry
// the queue version in X-GitLab-Last-Update, which runners echo back as
// last_update. The version lives in the database, so it means the same on
// every replica. When the runner's last_update is the current version,
// nothing changed since its last answer, so the request is held for up to
// LongPoll: whenever the queue is woken (a job became pending, the runner's
// tags or paused state changed, the listener reconnected) it re-reads the
// runner and tries again.
func (s *Server) requestJob(w http.ResponseWriter, r *http.Request) error {
	p, err := httpx.ReadParams(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	token := runnerToken(r, p)
	rn, err := s.runnerByToken(ctx, token)
	if err != nil {
		return err
	}
	s.touchRunner(r, rn, info(p))

	// The wake-up count is taken before the version and the assignment
	// read the database: a change committed after them wakes the wait.
	gen := s.Queue.Gen()
	version, err := s.Queue.Version(ctx)
	if err != nil {
		return err
	}
	hold := p.Get("last_update") != "" && p.Get("last_update") == version && s.longPoll() > 0
	var deadline <-chan time.Time
	if hold {
		httpx.Hold(w, s.longPoll()) // past the server's read and write timeouts
		t := time.NewTimer(s.longPoll())
		defer t.Stop()
		deadline = t.C
	}
	for {
		if err := ctx.Err(); err != nil {
			return err // the runner left: never hand it a job it cannot read
		}
		payload, err := s.assign(ctx, rn)
		if err != nil {
			return err
		}
		if payload != nil {
			// As GitLab: the runner keeps the version of every answer, so
			// its next request (at once, for more jobs) is held if nothing
			// changed meanwhile instead of being answered 204 at once.
			w.Header().Set("X-GitLab-Last-Update", version)
			httpx.WriteJSON(w, http.StatusCreated, payload)
			return nil
		}
		if !hold || !s.wait(ctx, gen, deadline) {
			break
		}
		gen = s.Queue.Gen()
		if version, err = s.Queue.Version(ctx); err != nil {
			return err
		}
		// Its tags, paused state or token may have changed.
		if rn, err = s.runnerByToken(ctx, token); err != nil {
			return err
		}
	}
	w.Header().Set("X-GitLab-Last-Update", version)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// wait blocks until the queue is woken after gen (true), or the deadline
// passes, the request ends or the queue closes (false).
func (s *Server) wait(ctx context.Context, gen uint64, deadline <-chan time.Time) bool {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-deadline:
			cancel()
		case <-wctx.Done():
		}
	}()
	return s.Queue.Wait(wctx, gen)
}

// assign hands the next job to rn and builds its payload; nil when none is
// pending. A payload that cannot be built fails the job (it would fail on
// every runner) and the next one is tried.
func (s *Server) assign(ctx context.Context, rn *ci.Runner) (*jobPayload, error) {
	for {
		secret, hash := auth.NewToken(auth.PrefixJob)
		j, err := s.Store.AssignNextJob(ctx, rn, hash, s.now())
		if ci.IsNotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("assigning job to runner %d: %w", rn.ID, err)
		}
		payload, err := s.payload(ctx, j, secret, rn)
		if err == nil {
			s.jobStarted(ctx, j.ID)
			s.logger().InfoContext(ctx, "job assigned", "job_id", j.ID, "runner_id", rn.ID, "pipeline_id", j.PipelineID)
			return payload, nil
		}
		if md := (*missingDependency)(nil); errors.As(err, &md) {
			// GitLab's RegisterJobService drops a job whose dependencies
			// are invalid with missing_dependency_failure (never retried).
			s.logger().WarnContext(ctx, "job misses a dependency", "job_id", j.ID, "err", err)
			msg := "ERROR: Job failed: " + md.msg + "\nThis job could not start because it could not retrieve the needed artifacts.\n"
			if _, terr := s.Store.AppendTrace(ctx, j.ID, j.TraceSize, []byte(msg)); terr != nil {
				s.logger().ErrorContext(ctx, "writing the missing dependency to the log", "job_id", j.ID, "err", terr)
			}
			s.failJob(ctx, j, ci.FailureMissingDependency)
			continue
		}
		s.logger().ErrorContext(ctx, "building job payload", "job_id", j.ID, "err", err)
		// GitLab's RegisterJobService drops a job it failed to hand over
		// with scheduler_failure (which retry:when may retry).
		s.failJob(ctx, j, ci.FailureScheduler)
	}
}

// jobTimeout is the job's timeout (its own or an hour), capped by the
// runner's maximum timeout.
func jobTimeout(j *ci.Job, rn *ci.Runner) int {
	t := j.Spec.Timeout
	if t <= 0 {
		t = defaultJobTimeout
	}
	if rn.MaximumTimeout > 0 && rn.MaximumTimeout < t {
		t = rn.MaximumTimeout
	}
	return t
}

// payload builds the 201 body for job j, assigned to rn with token secret.
func (s *Server) payload(ctx context.Context, j *ci.Job, secret string, rn *ci.Runner) (*jobPayload, error) {
	proj, err := s.Store.ProjectByID(ctx, j.ProjectID)
	if err != nil {
		return nil, fmt.Errorf("loading project %d: %w", j.ProjectID, err)
	}
	pl, err := s.Store.PipelineByID(ctx, j.PipelineID)
	if err != nil {
		return nil, fmt.Errorf("loading pipeline %d: %w", j.PipelineID, err)
	}
	if len(pl.SHA) < 8 {
		return nil, fmt.Errorf("pipeline %d has sha %q, runners need at least 8 characters", pl.ID, pl.SHA)
	}
	run := &ci.JobRun{Job: j, Token: secret, Runner: rn, Timeout: jobTimeout(j, rn)}
	var user *ci.User
	if j.UserID != 0 {
		if u, err := s.Store.UserByID(ctx, j.UserID); err == nil {
			user = u
		}
	}
	if run.RepoURL, err = s.repoURL(proj, secret); err != nil {
		return nil, err
	}
	deps, dotenv, err := s.dependencies(ctx, j, pl, secret)
	if err != nil {
		return nil, err
	}
	spec, err := s.Store.PipelineSpec(ctx, pl.ID)
	if err != nil {
		return nil, err
	}
	scoped, err := s.scopedVariables(ctx, proj)
	if err != nil {
		return nil, err
	}
	instance, groups, own := scoped.ForJob(pl.Protected, j.Spec.Environment)
	dotenvVars := make([]ci.Variable, 0, len(dotenv))
	for _, v := range dotenv {
		dotenvVars = append(dotenvVars, ci.Variable{Key: v.Key, Value: v.Value, Public: v.Public, Masked: v.Masked, File: v.File, Raw: v.Raw})
	}
	// GitLab's precedence (ci.JobVariables), lowest first, as the runner
	// reads them (later entries win): predefined, YAML (global, then the
	// job's own), dotenv of dependencies, instance, group (closest last)
	// and project CI/CD variables, pipeline variables. No user-set entry
	// may carry a reserved name (ci.Reserved): the predefined value stands.
	all := ci.JobVariables(ci.VariableLayers{
		Predefined: ci.PredefinedVariables(ci.Predefined{ServerURL: s.ExternalURL, Revision: s.Version, Project: proj, Pipeline: pl,
			Commit: spec.Commit, User: user, Job: run}),
		YAMLJob:  j.Spec.EffectiveVariables(spec.Variables),
		Dotenv:   dotenvVars,
		Instance: instance, Groups: groups, Project: own,
		Pipeline: pl.Variables,
	})
	vars := fromCI(all)
	s.rememberMask(j.ID, all)

	ref := "refs/heads/" + pl.Ref + ":refs/remotes/origin/" + pl.Ref
	refType := "branch"
	if pl.Tag {
		ref, refType = "refs/tags/"+pl.Ref+":refs/tags/"+pl.Ref, "tag"
	}
	beforeSHA := pl.BeforeSHA
	if beforeSHA == "" {
		beforeSHA = strings.Repeat("0", 40)
	}
	// Depth 0 fetches the whole history of the ref, so the pipeline's sha
	// stays reachable after the branch moved on. GIT_DEPTH overrides.
	depth := 0
	if v, ok := lookupVariable(vars, "GIT_DEPTH"); ok {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
			depth = n
		}
	}
	var queued float64
	if j.QueuedAt != nil && j.StartedAt != nil {
		queued = j.StartedAt.Sub(*j.QueuedAt).Seconds()
	}
	out := &jobPayload{
		ID: j.ID, Token: secret, AllowGitFetch: true,
		JobInfo: jobInfo{
			Name: j.Name, Stage: j.Stage, ProjectID: proj.ID, ProjectName: proj.Path, ProjectFullPath: proj.FullPath,
			PipelineID: pl.ID, NamespaceID: proj.NamespaceID, UserID: j.UserID, TimeInQueueSecond: queued,
		},
		GitInfo: gitInfo{
			RepoURL: run.RepoURL, Ref: pl.Ref, Sha: pl.SHA, BeforeSha: beforeSHA, RefType: refType,
			Refspecs: []string{"+" + ref}, Depth: depth,
		},
		RunnerInfo:   jobRunnerInfo{Timeout: run.Timeout},
		Variables:    vars,
		Steps:        steps(&j.Spec, run.Timeout),
		Services:     []jobImage{},
		Artifacts:    artifactsPayload(j.Spec.Artifacts),
		Cache:        cachePayload(j.Spec.Cache, pl.Protected),
		Credentials:  []struct{}{},
		Dependencies: deps,
		Features: jobFeatures{
			TraceSections:     true,
			TokenMaskPrefixes: []string{auth.PrefixJob, auth.PrefixPersonal, auth.PrefixRunner, auth.PrefixTrigger},
			FailureReasons:    failureReasons,
		},
	}
	if j.Spec.Image != nil {
		img := imageOf(j.Spec.Image)
		out.Image = &img
	}
	for i := range j.Spec.Services {
		out.Services = append(out.Services, imageOf(&j.Spec.Services[i]))
	}
	return out, nil
}

// repoURL is the project's git URL with the job token as credentials, as
// GitLab sends it: http://gitlab-ci-token:<token>@host/<full path>.git.
func (s *Server) repoURL(proj *ci.Project, token string) (string, error) {
	u, err := url.Parse(strings.TrimRight(s.ExternalURL, "/"))
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("parsing external URL %q: invalid", s.ExternalURL)
	}
	u.User = url.UserPassword("gitlab-ci-token", token)
	u.Path = strings.TrimRight(u.Path, "/") + "/" + proj.FullPath + ".git"
	u.RawQuery, u.Fragment = "", ""
	return u.String(), nil
}
