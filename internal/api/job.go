package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/httpx"
)

type artifactFileEntity struct {
	Filename string `json:"filename"`
	Size     int64  `json:"size"`
}

type artifactEntity struct {
	FileType   string `json:"file_type"`
	Name       string `json:"name,omitempty"` // a published artifact's
	SHA256     string `json:"sha256,omitempty"`
	Size       int64  `json:"size"`
	Filename   string `json:"filename"`
	FileFormat string `json:"file_format"`
}

type jobPipelineEntity struct {
	ID        int64  `json:"id"`
	ProjectID int64  `json:"project_id"`
	Ref       string `json:"ref"`
	SHA       string `json:"sha"`
	Status    string `json:"status"`
	Source    string `json:"source"`
	WebURL    string `json:"web_url"`
}

type runnerBasic struct {
	ID          int64  `json:"id"`
	Description string `json:"description"`
	Active      bool   `json:"active"`
	Paused      bool   `json:"paused"`
	IsShared    bool   `json:"is_shared"`
	RunnerType  string `json:"runner_type"`
	Name        string `json:"name"`
	Online      bool   `json:"online"`
	Status      string `json:"status"`
	IPAddress   string `json:"ip_address,omitempty"`
}

type jobEntity struct {
	ID                int64               `json:"id"`
	Status            string              `json:"status"`
	Stage             string              `json:"stage"`
	Name              string              `json:"name"`
	Ref               string              `json:"ref"`
	Tag               bool                `json:"tag"`
	Coverage          *float64            `json:"coverage"`
	AllowFailure      bool                `json:"allow_failure"`
	CreatedAt         *time.Time          `json:"created_at"`
	StartedAt         *time.Time          `json:"started_at"`
	FinishedAt        *time.Time          `json:"finished_at"`
	ErasedAt          *time.Time          `json:"erased_at"`
	Duration          *float64            `json:"duration"`
	QueuedDuration    *float64            `json:"queued_duration"`
	User              *userEntity         `json:"user"`
	Commit            commitEntity        `json:"commit"`
	Pipeline          jobPipelineEntity   `json:"pipeline"`
	FailureReason     string              `json:"failure_reason,omitempty"`
	WebURL            string              `json:"web_url"`
	Project           map[string]any      `json:"project"`
	ArtifactsFile     *artifactFileEntity `json:"artifacts_file,omitempty"`
	Artifacts         []artifactEntity    `json:"artifacts"`
	Runner            *runnerBasic        `json:"runner"`
	ArtifactsExpireAt *time.Time          `json:"artifacts_expire_at"`
	Archived          bool                `json:"archived"`
	TagList           []string            `json:"tag_list"`
}

// jobView is what a job entity is made from.
type jobView struct {
	job       *ci.Job
	pipeline  *ci.Pipeline
	project   *ci.Project
	artifacts []*ci.Artifact
	user      *ci.User
	runner    *ci.Runner
	commit    *ci.GitCommit // nil when the repository cannot say
}

// jobCommit is the commit entity of a job: the repository's commit when
// it could be read, else what the pipeline recorded of it.
func (s *Server) jobCommit(proj *ci.Project, pl *ci.Pipeline, c *ci.GitCommit) commitEntity {
	if c != nil {
		return s.commit(proj, c)
	}
	return commitEntity{ID: pl.SHA, ShortID: shortSHA(pl.SHA), Title: pl.CommitTitle, Message: pl.CommitTitle,
		ParentIDs: []string{}, Trailers: map[string]string{}, ExtendedTrailers: map[string][]string{}}
}

func (s *Server) jobURL(proj *ci.Project, id int64) string {
	return s.ExternalURL + "/" + proj.FullPath + "/-/jobs/" + itoa(id)
}

func (s *Server) job(viewer *auth.Principal, v jobView) jobEntity {
	j, pl, proj := v.job, v.pipeline, v.project
	now := time.Now()
	e := jobEntity{ID: j.ID, Status: string(j.Status), Stage: j.Stage, Name: j.Name, Ref: pl.Ref, Tag: pl.Tag,
		AllowFailure: j.AllowedFailure(), CreatedAt: utc(&j.CreatedAt), StartedAt: utc(j.StartedAt),
		FinishedAt: utc(j.FinishedAt), ErasedAt: utc(j.ErasedAt), User: s.user(viewer, v.user),
		Commit:        s.jobCommit(proj, pl, v.commit),
		Pipeline:      jobPipelineEntity{ID: pl.ID, ProjectID: pl.ProjectID, Ref: pl.Ref, SHA: pl.SHA, Status: string(pl.Status), Source: pl.Source, WebURL: s.pipelineURL(proj, pl.ID)},
		FailureReason: j.FailureReason, WebURL: s.jobURL(proj, j.ID),
		Project:   map[string]any{"ci_job_token_scope_enabled": proj.JobTokenScopeEnabled},
		Artifacts: []artifactEntity{}, TagList: j.Spec.Tags}
	if e.TagList == nil {
		e.TagList = []string{}
	}
	if j.Status != ci.StatusFailed {
		e.FailureReason = ""
	}
	if j.StartedAt != nil {
		d := j.Duration(now)
		e.Duration = &d
		if j.QueuedAt != nil {
			q := j.StartedAt.Sub(*j.QueuedAt).Seconds()
			e.QueuedDuration = &q
		}
	} else if j.QueuedAt != nil && j.Status == ci.StatusPending {
		q := now.Sub(*j.QueuedAt).Seconds()
		e.QueuedDuration = &q
	}
	for _, a := range v.artifacts {
		e.Artifacts = append(e.Artifacts, artifactEntity{FileType: a.FileType, Name: a.Name, Size: a.Size, Filename: a.Filename, FileFormat: a.FileFormat})
		if a.FileType == ci.FileTypePublished {
			e.Artifacts[len(e.Artifacts)-1].SHA256 = a.SHA256
		}
		if a.FileType == ci.FileTypeArchive {
			e.ArtifactsFile = &artifactFileEntity{Filename: a.Filename, Size: a.Size}
			e.ArtifactsExpireAt = utc(a.ExpireAt)
		}
	}
	if r := v.runner; r != nil {
		e.Runner = &runnerBasic{ID: r.ID, Description: r.Description, Active: !r.Paused, Paused: r.Paused,
			IsShared: r.RunnerType == ci.RunnerInstance, RunnerType: r.RunnerType, Name: "gitlab-runner",
			Online: r.ContactedAt != nil && now.Sub(*r.ContactedAt) < 2*time.Hour, Status: "online"}
	}
	return e
}

func shortSHA(sha string) string {
	if len(sha) > 8 {
		return sha[:8]
	}
	return sha
}

// jobViews loads what the entities of jobs need, with one artifacts query
// and cached pipelines, users and runners.
func (s *Server) jobViews(r *http.Request, proj *ci.Project, jobs []*ci.Job) ([]jobEntity, error) {
	ids := make([]int64, len(jobs))
	for i, j := range jobs {
		ids[i] = j.ID
	}
	arts, err := s.Store.ArtifactsOfJobs(r.Context(), ids)
	if err != nil {
		return nil, err
	}
	byJob := map[int64][]*ci.Artifact{}
	for _, a := range arts {
		byJob[a.JobID] = append(byJob[a.JobID], a)
	}
	pipelines, users, runners := map[int64]*ci.Pipeline{}, map[int64]*ci.User{}, map[int64]*ci.Runner{}
	var shas []string
	for _, j := range jobs {
		if pipelines[j.PipelineID] == nil {
			pl, err := s.Store.PipelineByID(r.Context(), j.PipelineID)
			if err != nil {
				return nil, err
			}
			pipelines[j.PipelineID] = pl
			shas = append(shas, pl.SHA)
		}
	}
	// The jobs' commits in one git read; a commit that is gone (a force
	// push and gc) leaves the pipeline's record of it.
	var commits map[string]*ci.GitCommit
	if s.Code != nil && len(shas) > 0 {
		commits, _ = s.Code.GitCommits(r.Context(), proj.ID, shas)
	}
	viewer := s.viewer(r)
	out := make([]jobEntity, 0, len(jobs))
	for _, j := range jobs {
		pl := pipelines[j.PipelineID]
		v := jobView{job: j, pipeline: pl, project: proj, artifacts: byJob[j.ID], commit: commits[pl.SHA]}
		if j.UserID != 0 {
			if users[j.UserID] == nil {
				if u, err := s.Store.UserByID(r.Context(), j.UserID); err == nil {
					users[j.UserID] = u
				}
			}
			v.user = users[j.UserID]
		}
		if j.RunnerID != 0 {
			if runners[j.RunnerID] == nil {
				if rn, err := s.Store.RunnerByID(r.Context(), j.RunnerID); err == nil {
					runners[j.RunnerID] = rn
				}
			}
			v.runner = runners[j.RunnerID]
		}
		out = append(out, s.job(viewer, v))
	}
	return out, nil
}

func (s *Server) writeJob(w http.ResponseWriter, r *http.Request, status int, proj *ci.Project, j *ci.Job) error {
	es, err := s.jobViews(r, proj, []*ci.Job{j})
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, status, es[0])
	return nil
}

// jobFor resolves :id and :job_id, checking the job belongs to the project
// and the route's ability.
func (s *Server) jobFor(r *http.Request) (*ci.Project, *ci.Job, *auth.Principal, error) {
	proj, p, err := s.projectFor(r)
	if err != nil {
		return nil, nil, nil, err
	}
	j, err := s.jobIn(r, proj)
	if err != nil {
		return nil, nil, nil, err
	}
	return proj, j, p, nil
}

var jobScopes = map[ci.Status]bool{ci.StatusCreated: true, ci.StatusPending: true, ci.StatusRunning: true, ci.StatusFailed: true,
	ci.StatusSuccess: true, ci.StatusCanceled: true, ci.StatusSkipped: true, ci.StatusWaitingForResource: true,
	ci.StatusManual: true, ci.StatusCanceling: true, ci.StatusPreparing: true, ci.StatusScheduled: true}

func (s *Server) listJobs(w http.ResponseWriter, r *http.Request, proj *ci.Project, f ci.JobFilter) error {
	return s.listJobsAs(w, r, proj, f, func(_ []*ci.Job, es []jobEntity) (any, error) { return es, nil })
}

// listJobsAs is listJobs answering with what shape makes of the jobs and
// their entities.
func (s *Server) listJobsAs(w http.ResponseWriter, r *http.Request, proj *ci.Project, f ci.JobFilter, shape func([]*ci.Job, []jobEntity) (any, error)) error {
	q, err := httpx.ReadParams(r)
	if err != nil {
		return err
	}
	if f.Page, err = q.Page(); err != nil {
		return err
	}
	for _, sc := range append(q.List("scope"), q.Values["scope[]"]...) {
		if !jobScopes[ci.Status(sc)] {
			return ci.Errorf(ci.KindInvalid, "400 Bad request - scope does not have a valid value: %q", sc)
		}
		f.Statuses = append(f.Statuses, ci.Status(sc))
	}
	if f.IncludeRetried, err = q.Bool("include_retried", false); err != nil {
		return err
	}
	jobs, total, err := s.Store.ListJobs(r.Context(), f)
	if err != nil {
		return err
	}
	es, err := s.jobViews(r, proj, jobs)
	if err != nil {
		return err
	}
	out, err := shape(jobs, es)
	if err != nil {
		return err
	}
	s.setPagination(w, r, f.Page, total)
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) listPipelineJobs(w http.ResponseWriter, r *http.Request) error {
	proj, pl, _, err := s.pipelineFor(r)
	if err != nil {
		return err
	}
	return s.listJobs(w, r, proj, ci.JobFilter{ProjectID: proj.ID, PipelineID: pl.ID, Kind: ci.JobKindBuilds})
}

func (s *Server) listProjectJobs(w http.ResponseWriter, r *http.Request) error {
	proj, _, err := s.projectFor(r)
	if err != nil {
		return err
	}
	return s.listJobs(w, r, proj, ci.JobFilter{ProjectID: proj.ID, IncludeRetried: true, Kind: ci.JobKindBuilds})
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request) error {
	proj, j, _, err := s.jobFor(r)
	if err != nil {
		return err
	}
	return s.writeJob(w, r, http.StatusOK, proj, j)
}

// getOwnJob is GET /job: the caller's own job, by its job token.
func (s *Server) getOwnJob(w http.ResponseWriter, r *http.Request) error {
	p, err := s.mustPrincipal(r)
	if err != nil {
		return err
	}
	if !p.IsJob() {
		return ci.Errorf(ci.KindUnauthorized, "401 Unauthorized: GET /job needs a job token")
	}
	proj, err := s.Store.ProjectByID(r.Context(), p.Job.ProjectID)
	if err != nil {
		return err
	}
	return s.writeJob(w, r, http.StatusOK, proj, p.Job)
}

func (s *Server) getJobTrace(w http.ResponseWriter, r *http.Request) error {
	_, j, _, err := s.jobFor(r)
	if err != nil {
		return err
	}
	data, err := s.Store.ReadTrace(r.Context(), j.ID, 0, 0)
	if err != nil && !ci.IsNotFound(err) {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data)
	return nil
}

func (s *Server) jobAction(action func(r *http.Request, j *ci.Job, userID int64) (*ci.Job, error), status int) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		proj, j, p, err := s.jobFor(r)
		if err != nil {
			return err
		}
		next, err := action(r, j, p.UserID())
		if err != nil {
			return err
		}
		return s.writeJob(w, r, status, proj, next)
	}
}

// cancelJob is POST .../jobs/:job_id/cancel: graceful (the runner stops the
// script and still runs after_script), or with force=true a hard stop.
func (s *Server) cancelJob(r *http.Request, j *ci.Job, _ int64) (*ci.Job, error) {
	cancel := s.Scheduler.CancelJob
	if force, _ := strconv.ParseBool(r.URL.Query().Get("force")); force {
		cancel = s.Scheduler.ForceCancelJob
	}
	if err := cancel(r.Context(), j.ID); err != nil {
		return nil, err
	}
	return s.Store.JobByID(r.Context(), j.ID)
}

func (s *Server) retryJob(r *http.Request, j *ci.Job, userID int64) (*ci.Job, error) {
	return s.Scheduler.RetryJob(r.Context(), j.ID, userID)
}

func (s *Server) playJob(r *http.Request, j *ci.Job, userID int64) (*ci.Job, error) {
	return s.Scheduler.PlayJob(r.Context(), j.ID, userID)
}

// unscheduleJob turns a delayed job waiting for its time into a manual
// one (the unschedule action of GitLab's job page; GitLab's REST API has
// none). A job that is not scheduled is 400.
func (s *Server) unscheduleJob(r *http.Request, j *ci.Job, userID int64) (*ci.Job, error) {
	return s.Scheduler.UnscheduleJob(r.Context(), j.ID, userID)
}

// eraseJob removes a finished job's artifacts and log and marks it erased
// (erased_at, and who erased it), as GitLab's erase does.
func (s *Server) eraseJob(r *http.Request, j *ci.Job, userID int64) (*ci.Job, error) {
	if !j.Status.Finished() {
		return nil, ci.Errorf(ci.KindForbidden, "403 Forbidden - job %d is not erasable (status: %s)", j.ID, j.Status)
	}
	arts, err := s.Store.ArtifactsOfJobs(r.Context(), []int64{j.ID})
	if err != nil {
		return nil, err
	}
	for _, a := range arts {
		if err := s.Store.DeleteArtifact(r.Context(), a.ID); err != nil {
			return nil, err
		}
		s.deleteArtifactBytes(r, a)
	}
	if err := s.Store.EraseJob(r.Context(), j, userID, time.Now()); err != nil {
		if ci.KindOf(err) == ci.KindConflict {
			return nil, ci.Errorf(ci.KindForbidden, "403 Forbidden - job %d is not erasable: %s", j.ID, ci.MessageOf(err))
		}
		return nil, err
	}
	return j, nil
}
