// Package hooks sends project webhooks: it turns pushes and pipeline and
// job status changes into GitLab's webhook payloads, queues one delivery
// per subscribed hook in the database, and owns the background loop that
// delivers them (claimed with a compare-and-set, so several replicas
// deliver each once), retrying with exponential back-off, through an HTTP
// client that refuses to reach local and private addresses.
package hooks

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/batonci/baton/internal/ci"
)

// Store is what the service reads and queues into.
type Store interface {
	ci.HookStore
	ProjectByID(ctx context.Context, id int64) (*ci.Project, error)
	NamespaceByID(ctx context.Context, id int64) (*ci.Namespace, error)
	UserByID(ctx context.Context, id int64) (*ci.User, error)
	PipelineByID(ctx context.Context, id int64) (*ci.Pipeline, error)
	PipelineSpec(ctx context.Context, pipelineID int64) (*ci.PipelineSpec, error)
	JobByID(ctx context.Context, id int64) (*ci.Job, error)
	ListJobs(ctx context.Context, f ci.JobFilter) ([]*ci.Job, int, error)
	ListPipelines(ctx context.Context, f ci.PipelineFilter) ([]*ci.Pipeline, int, error)
	RunnerByID(ctx context.Context, id int64) (*ci.Runner, error)
	Notify(ctx context.Context, channel, payload string) error
}

// Commit is what a push payload says of a commit.
type Commit struct {
	SHA, Message, AuthorName, AuthorEmail string
	Timestamp                             time.Time
}

// Repo lists a push's commits.
type Repo interface {
	// Log lists the commits in newSHA but not oldSHA, newest first, at
	// most limit, and how many there are in all.
	Log(ctx context.Context, projectID int64, oldSHA, newSHA string, limit int) ([]Commit, int, error)
}

// channel is the notification channel that wakes deliverers.
const channel = "hook_deliveries"

// maxPushCommits is how many commits a push payload lists, as GitLab.
const maxPushCommits = 20

// Service builds and queues webhook events.
type Service struct {
	store       Store
	repo        Repo
	externalURL string
	log         *slog.Logger
}

// New returns a Service on store, reading pushes' commits from repo.
func New(store Store, repo Repo, externalURL string, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	return &Service{store: store, repo: repo, externalURL: strings.TrimSuffix(externalURL, "/"), log: log}
}

// RefUpdate is one ref a push changed.
type RefUpdate struct {
	Name           string // branch or tag name
	Tag            bool
	OldSHA, NewSHA string // zeros (or "") for a created or deleted ref
	Deleted        bool
}

const zeroSHA = "0000000000000000000000000000000000000000"

// Push queues a push (or tag push) event per updated ref for the hooks
// that want it. Errors are logged: the push has happened either way.
func (s *Service) Push(ctx context.Context, proj *ci.Project, pusher *ci.User, updates []RefUpdate) {
	// One read of the project's hooks and namespace for the whole push,
	// however many refs it updated.
	all, err := s.store.ListProjectHooks(ctx, proj.ID)
	if err != nil || len(all) == 0 {
		s.logErr(ctx, "queueing push event", err, proj.ID)
		return
	}
	var ns *ci.Namespace
	for _, u := range updates {
		trigger := ci.HookPush
		if u.Tag {
			trigger = ci.HookTagPush
		}
		hooks := matching(all, trigger, u)
		if len(hooks) == 0 {
			continue
		}
		if ns == nil {
			if ns, err = s.store.NamespaceByID(ctx, proj.NamespaceID); err != nil {
				s.logErr(ctx, "building push event", err, proj.ID)
				return
			}
		}
		body, err := s.pushPayload(ctx, proj, ns, pusher, u)
		if err != nil {
			s.logErr(ctx, "building push event", err, proj.ID)
			continue
		}
		s.logErr(ctx, "queueing push event", s.enqueue(ctx, hooks, trigger, body, nil), proj.ID)
	}
}

func (s *Service) pushPayload(ctx context.Context, proj *ci.Project, ns *ci.Namespace, pusher *ci.User, u RefUpdate) (*pushPayload, error) {
	p := &pushPayload{ObjectKind: "push", EventName: "push", Before: orZero(u.OldSHA), After: orZero(u.NewSHA),
		Ref: "refs/heads/" + u.Name, ProjectID: proj.ID, Project: s.project(proj, ns), Repository: s.repository(proj),
		Commits: []commitPayload{}}
	if u.Tag {
		p.ObjectKind, p.EventName, p.Ref = "tag_push", "tag_push", "refs/tags/"+u.Name
	}
	if pusher != nil {
		p.UserID, p.UserName, p.UserUsername, p.UserEmail = pusher.ID, pusher.Name, pusher.Username, pusher.Email
	}
	if u.Deleted {
		p.After = zeroSHA
		return p, nil
	}
	p.CheckoutSHA = &p.After
	commits, total, err := s.repo.Log(ctx, proj.ID, u.OldSHA, u.NewSHA, maxPushCommits)
	if err != nil {
		return nil, err
	}
	p.TotalCommitsCount = total
	for _, c := range commits {
		ts := c.Timestamp.UTC()
		p.Commits = append(p.Commits, commitPayload{ID: c.SHA, Message: c.Message, Title: title(c.Message), Timestamp: &ts,
			URL:    s.externalURL + "/" + proj.FullPath + "/-/commit/" + c.SHA,
			Author: &authorPayload{Name: c.AuthorName, Email: c.AuthorEmail}, Added: []string{}, Modified: []string{}, Removed: []string{}})
	}
	return p, nil
}

func orZero(sha string) string {
	if sha == "" {
		return zeroSHA
	}
	return sha
}

// Pipeline queues a pipeline event for pl's current status.
func (s *Service) Pipeline(ctx context.Context, pl *ci.Pipeline) {
	hooks, err := s.subscribed(ctx, pl.ProjectID, ci.HookPipeline)
	if err != nil || len(hooks) == 0 {
		s.logErr(ctx, "queueing pipeline event", err, pl.ProjectID)
		return
	}
	body, err := s.pipelinePayload(ctx, pl)
	if err != nil {
		s.logErr(ctx, "building pipeline event", err, pl.ProjectID)
		return
	}
	s.logErr(ctx, "queueing pipeline event", s.enqueue(ctx, hooks, ci.HookPipeline, body,
		&ci.EventSubject{ID: pl.ID, Status: pl.Status}), pl.ProjectID)
}

func (s *Service) pipelinePayload(ctx context.Context, pl *ci.Pipeline) (*pipelinePayload, error) {
	proj, ns, err := s.projectAndNamespace(ctx, pl.ProjectID)
	if err != nil {
		return nil, err
	}
	jobs, _, err := s.store.ListJobs(ctx, ci.JobFilter{PipelineID: pl.ID, Ascending: true, Page: ci.Page{Page: 1}})
	if err != nil {
		return nil, err
	}
	u := s.userOf(ctx, pl.UserID)
	attrs := pipelineAttributes{ID: pl.ID, IID: pl.IID, Ref: pl.Ref, Tag: pl.Tag, SHA: pl.SHA, BeforeSHA: pl.BeforeSHA,
		Source: pl.Source, Status: string(pl.Status), DetailedStatus: string(pl.Status), Stages: []string{},
		CreatedAt: stamp(&pl.CreatedAt), FinishedAt: stamp(pl.FinishedAt), Duration: wholeSeconds(pl.StartedAt, pl.FinishedAt),
		Variables: []variablePayload{}, URL: s.externalURL + "/" + proj.FullPath + "/-/pipelines/" + fmt.Sprint(pl.ID)}
	for _, v := range pl.Variables {
		attrs.Variables = append(attrs.Variables, variablePayload{Key: v.Key, Value: v.Value})
	}
	seen := map[string]bool{}
	// A pipeline's jobs mostly share one user and few runners: read each
	// once, not once per job.
	users := map[int64]*ci.User{pl.UserID: u}
	runners := map[int64]*ci.Runner{}
	p := &pipelinePayload{ObjectKind: "pipeline", User: user(u), Project: s.project(proj, ns), Builds: []buildPayload{},
		Commit: commitPayload{ID: pl.SHA, Message: pl.CommitTitle, Title: pl.CommitTitle,
			URL: s.externalURL + "/" + proj.FullPath + "/-/commit/" + pl.SHA}}
	if u != nil {
		p.Commit.Author = &authorPayload{Name: u.Name, Email: u.Email}
	}
	for _, j := range jobs {
		if !seen[j.Stage] {
			seen[j.Stage] = true
			attrs.Stages = append(attrs.Stages, j.Stage)
		}
		p.Builds = append(p.Builds, buildPayload{ID: j.ID, Stage: j.Stage, Name: j.Name, Status: string(j.Status),
			CreatedAt: stamp(&j.CreatedAt), StartedAt: stamp(j.StartedAt), FinishedAt: stamp(j.FinishedAt),
			Duration: seconds(j.StartedAt, j.FinishedAt), QueuedDuration: seconds(j.QueuedAt, j.StartedAt),
			FailureReason: optional(j.FailureReason), When: j.Spec.When, Manual: j.Spec.When == ci.WhenManual,
			AllowFailure: j.Spec.AllowFailure, User: user(once(users, j.UserID, func() *ci.User { return s.userOf(ctx, j.UserID) })),
			Runner: runner(once(runners, j.RunnerID, func() *ci.Runner { return s.runnerOf(ctx, j.RunnerID) }))})
	}
	p.ObjectAttributes = attrs
	return p, nil
}

// Job queues a job event for j's current status.
func (s *Service) Job(ctx context.Context, j *ci.Job) {
	hooks, err := s.subscribed(ctx, j.ProjectID, ci.HookJob)
	if err != nil || len(hooks) == 0 {
		s.logErr(ctx, "queueing job event", err, j.ProjectID)
		return
	}
	body, err := s.jobPayload(ctx, j)
	if err != nil {
		s.logErr(ctx, "building job event", err, j.ProjectID)
		return
	}
	s.logErr(ctx, "queueing job event", s.enqueue(ctx, hooks, ci.HookJob, body,
		&ci.EventSubject{Job: true, ID: j.ID, Status: j.Status}), j.ProjectID)
}

func (s *Service) jobPayload(ctx context.Context, j *ci.Job) (*jobPayload, error) {
	proj, ns, err := s.projectAndNamespace(ctx, j.ProjectID)
	if err != nil {
		return nil, err
	}
	pl, err := s.store.PipelineByID(ctx, j.PipelineID)
	if err != nil {
		return nil, err
	}
	u := s.userOf(ctx, j.UserID)
	p := &jobPayload{ObjectKind: "build", Ref: pl.Ref, Tag: pl.Tag, BeforeSHA: pl.BeforeSHA, SHA: pl.SHA,
		BuildID: j.ID, BuildName: j.Name, BuildStage: j.Stage, BuildStatus: string(j.Status),
		BuildCreatedAt: stamp(&j.CreatedAt), BuildStartedAt: stamp(j.StartedAt), BuildFinishedAt: stamp(j.FinishedAt),
		BuildDuration: seconds(j.StartedAt, j.FinishedAt), BuildQueuedDuration: seconds(j.QueuedAt, j.StartedAt),
		BuildAllowFailure: j.Spec.AllowFailure, BuildFailureReason: j.FailureReason, RetriesCount: max(j.Attempt-1, 0),
		PipelineID: pl.ID, ProjectID: proj.ID, ProjectName: strings.ReplaceAll(proj.FullPath, "/", " / "), User: user(u),
		Commit: jobCommitPayload{ID: pl.ID, SHA: pl.SHA, Message: pl.CommitTitle, Status: string(pl.Status),
			Duration: wholeSeconds(pl.StartedAt, pl.FinishedAt), StartedAt: stamp(pl.StartedAt), FinishedAt: stamp(pl.FinishedAt)},
		Repository: s.repository(proj), Project: s.project(proj, ns), Runner: runner(s.runnerOf(ctx, j.RunnerID))}
	if u != nil {
		p.Commit.AuthorName, p.Commit.AuthorEmail = u.Name, u.Email
	}
	return p, nil
}

// once returns m[id], reading it with read (and keeping it) the first time.
func once[T any](m map[int64]*T, id int64, read func() *T) *T {
	v, ok := m[id]
	if !ok {
		v = read()
		m[id] = v
	}
	return v
}

func (s *Service) projectAndNamespace(ctx context.Context, projectID int64) (*ci.Project, *ci.Namespace, error) {
	proj, err := s.store.ProjectByID(ctx, projectID)
	if err != nil {
		return nil, nil, err
	}
	ns, err := s.store.NamespaceByID(ctx, proj.NamespaceID)
	if err != nil {
		return nil, nil, err
	}
	return proj, ns, nil
}

func (s *Service) userOf(ctx context.Context, id int64) *ci.User {
	if id == 0 {
		return nil
	}
	u, err := s.store.UserByID(ctx, id)
	if err != nil {
		return nil
	}
	return u
}

func (s *Service) runnerOf(ctx context.Context, id int64) *ci.Runner {
	if id == 0 {
		return nil
	}
	r, err := s.store.RunnerByID(ctx, id)
	if err != nil {
		return nil
	}
	return r
}

// subscribed lists the project's hooks that want a pipeline or job event.
func (s *Service) subscribed(ctx context.Context, projectID int64, trigger string) ([]*ci.ProjectHook, error) {
	all, err := s.store.ListProjectHooks(ctx, projectID)
	if err != nil {
		return nil, err
	}
	return matching(all, trigger, RefUpdate{}), nil
}

// matching are the hooks of all that want trigger (for pushes, of u's
// branch).
func matching(all []*ci.ProjectHook, trigger string, u RefUpdate) []*ci.ProjectHook {
	var out []*ci.ProjectHook
	for _, h := range all {
		if Wants(h, trigger) && (trigger != ci.HookPush || BranchMatches(h.PushEventsBranchFilter, u.Name)) {
			out = append(out, h)
		}
	}
	return out
}

// Wants reports whether h subscribes to trigger.
func Wants(h *ci.ProjectHook, trigger string) bool {
	switch trigger {
	case ci.HookPush:
		return h.PushEvents
	case ci.HookTagPush:
		return h.TagPushEvents
	case ci.HookPipeline:
		return h.PipelineEvents
	case ci.HookJob:
		return h.JobEvents
	}
	return false
}

// BranchMatches applies GitLab's wildcard push_events_branch_filter: ""
// matches every branch, * any run of characters (slashes included).
func BranchMatches(filter, branch string) bool {
	return filter == "" || ci.MatchWildcard(filter, branch)
}

// events are the X-Gitlab-Event values of the triggers.
var events = map[string]string{ci.HookPush: "Push Hook", ci.HookTagPush: "Tag Push Hook",
	ci.HookPipeline: "Pipeline Hook", ci.HookJob: "Job Hook"}

// enqueue queues body for each hook and wakes the deliverers. An event
// about a subject whose status moved on meanwhile is dropped: the newer
// one follows, and a hook never hears "running" before "pending".
func (s *Service) enqueue(ctx context.Context, hooks []*ci.ProjectHook, trigger string, body any, subject *ci.EventSubject) error {
	data, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encoding %s payload: %w", trigger, err)
	}
	ds := make([]*ci.HookDelivery, 0, len(hooks))
	for _, h := range hooks {
		ds = append(ds, &ci.HookDelivery{HookID: h.ID, ProjectID: h.ProjectID, Trigger: trigger, Event: events[trigger],
			UUID: newUUID(), Payload: data})
	}
	queued, err := s.store.EnqueueHookDeliveries(ctx, ds, subject)
	if err != nil {
		return err
	}
	if queued {
		_ = s.store.Notify(ctx, channel, "") // a hint; deliverers poll too
	}
	return nil
}

func (s *Service) logErr(ctx context.Context, what string, err error, projectID int64) {
	if err != nil {
		s.log.ErrorContext(ctx, what, "project_id", projectID, "err", err)
	}
}

// Test queues an event of trigger for hook h alone, built from the
// project's latest pipeline (or its latest job), as GitLab's "Test"
// button does with recent data. KindInvalid if the project has none yet
// or trigger is not one Baton sends.
func (s *Service) Test(ctx context.Context, proj *ci.Project, h *ci.ProjectHook, trigger string) (*ci.HookDelivery, error) {
	if _, ok := events[trigger]; !ok {
		return nil, ci.Errorf(ci.KindInvalid, "400 Bad request - trigger does not have a valid value: %q (push_events, tag_push_events, pipeline_events or job_events)", trigger)
	}
	pls, _, err := s.store.ListPipelines(ctx, ci.PipelineFilter{ProjectID: proj.ID, Page: ci.Page{Page: 1, PerPage: 1}})
	if err != nil {
		return nil, err
	}
	if len(pls) == 0 {
		return nil, ci.Errorf(ci.KindInvalid, "400 Bad request - Ensure the project has at least one pipeline.")
	}
	pl := pls[0]
	var body any
	switch trigger {
	case ci.HookPush, ci.HookTagPush:
		var ns *ci.Namespace
		if ns, err = s.store.NamespaceByID(ctx, proj.NamespaceID); err != nil {
			return nil, err
		}
		body, err = s.pushPayload(ctx, proj, ns, s.userOf(ctx, pl.UserID), RefUpdate{Name: pl.Ref, Tag: trigger == ci.HookTagPush, OldSHA: pl.BeforeSHA, NewSHA: pl.SHA})
	case ci.HookPipeline:
		body, err = s.pipelinePayload(ctx, pl)
	case ci.HookJob:
		jobs, _, lerr := s.store.ListJobs(ctx, ci.JobFilter{PipelineID: pl.ID, Page: ci.Page{Page: 1, PerPage: 1}})
		if lerr != nil {
			return nil, lerr
		}
		if len(jobs) == 0 {
			return nil, ci.Errorf(ci.KindInvalid, "400 Bad request - Ensure the project has at least one job.")
		}
		body, err = s.jobPayload(ctx, jobs[0])
	}
	if err != nil {
		return nil, err
	}
	data, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	d := &ci.HookDelivery{HookID: h.ID, ProjectID: proj.ID, Trigger: trigger, Event: events[trigger], UUID: newUUID(), Payload: data}
	if _, err := s.store.EnqueueHookDeliveries(ctx, []*ci.HookDelivery{d}, nil); err != nil {
		return nil, err
	}
	_ = s.store.Notify(ctx, channel, "")
	return d, nil
}

// newUUID is a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
