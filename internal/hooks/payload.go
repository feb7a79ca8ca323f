package hooks

import (
	"strings"
	"time"

	"github.com/batonci/baton/internal/ci"
)

// The payloads are GitLab's webhook payloads (doc/user/project/
// integrations/webhook_events.md) for the fields Baton has; receivers
// written for GitLab (and client-go's ParseWebhook) read them unchanged.

// gitlabTime is the time format of GitLab's pipeline and job payloads.
const gitlabTime = "2006-01-02 15:04:05 UTC"

func stamp(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := t.UTC().Format(gitlabTime)
	return &s
}

type projectPayload struct {
	ID                int64   `json:"id"`
	Name              string  `json:"name"`
	Description       string  `json:"description"`
	WebURL            string  `json:"web_url"`
	AvatarURL         *string `json:"avatar_url"`
	GitSSHURL         string  `json:"git_ssh_url"`
	GitHTTPURL        string  `json:"git_http_url"`
	Namespace         string  `json:"namespace"`
	VisibilityLevel   int     `json:"visibility_level"`
	Visibility        string  `json:"visibility"`
	PathWithNamespace string  `json:"path_with_namespace"`
	DefaultBranch     string  `json:"default_branch"`
	CIConfigPath      string  `json:"ci_config_path"`
	Homepage          string  `json:"homepage"`
	URL               string  `json:"url"`
	SSHURL            string  `json:"ssh_url"`
	HTTPURL           string  `json:"http_url"`
}

type repositoryPayload struct {
	Name            string `json:"name"`
	URL             string `json:"url"`
	Description     string `json:"description"`
	Homepage        string `json:"homepage"`
	GitHTTPURL      string `json:"git_http_url"`
	GitSSHURL       string `json:"git_ssh_url"`
	VisibilityLevel int    `json:"visibility_level"`
}

type userPayload struct {
	ID        int64   `json:"id"`
	Name      string  `json:"name"`
	Username  string  `json:"username"`
	AvatarURL *string `json:"avatar_url"`
	Email     string  `json:"email"`
}

type authorPayload struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

type commitPayload struct {
	ID        string         `json:"id"`
	Message   string         `json:"message"`
	Title     string         `json:"title"`
	Timestamp *time.Time     `json:"timestamp"`
	URL       string         `json:"url"`
	Author    *authorPayload `json:"author"`
	Added     []string       `json:"added,omitempty"`
	Modified  []string       `json:"modified,omitempty"`
	Removed   []string       `json:"removed,omitempty"`
}

// pushPayload is a "Push Hook" (object_kind push) or "Tag Push Hook"
// (object_kind tag_push).
type pushPayload struct {
	ObjectKind        string            `json:"object_kind"`
	EventName         string            `json:"event_name"`
	Before            string            `json:"before"`
	After             string            `json:"after"`
	Ref               string            `json:"ref"`
	RefProtected      bool              `json:"ref_protected"`
	CheckoutSHA       *string           `json:"checkout_sha"`
	UserID            int64             `json:"user_id"`
	UserName          string            `json:"user_name"`
	UserUsername      string            `json:"user_username"`
	UserEmail         string            `json:"user_email"`
	UserAvatar        *string           `json:"user_avatar"`
	ProjectID         int64             `json:"project_id"`
	Project           projectPayload    `json:"project"`
	Commits           []commitPayload   `json:"commits"`
	TotalCommitsCount int               `json:"total_commits_count"`
	Repository        repositoryPayload `json:"repository"`
}

type runnerPayload struct {
	ID          int64    `json:"id"`
	Description string   `json:"description"`
	RunnerType  string   `json:"runner_type"`
	Active      bool     `json:"active"`
	IsShared    bool     `json:"is_shared"`
	Tags        []string `json:"tags"`
}

type pipelineAttributes struct {
	ID             int64             `json:"id"`
	IID            int64             `json:"iid"`
	Name           *string           `json:"name"`
	Ref            string            `json:"ref"`
	Tag            bool              `json:"tag"`
	SHA            string            `json:"sha"`
	BeforeSHA      string            `json:"before_sha"`
	Source         string            `json:"source"`
	Status         string            `json:"status"`
	DetailedStatus string            `json:"detailed_status"`
	Stages         []string          `json:"stages"`
	CreatedAt      *string           `json:"created_at"`
	FinishedAt     *string           `json:"finished_at"`
	Duration       *int64            `json:"duration"`
	QueuedDuration *int64            `json:"queued_duration"`
	Variables      []variablePayload `json:"variables"`
	URL            string            `json:"url"`
}

type variablePayload struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type buildPayload struct {
	ID             int64          `json:"id"`
	Stage          string         `json:"stage"`
	Name           string         `json:"name"`
	Status         string         `json:"status"`
	CreatedAt      *string        `json:"created_at"`
	StartedAt      *string        `json:"started_at"`
	FinishedAt     *string        `json:"finished_at"`
	Duration       *float64       `json:"duration"`
	QueuedDuration *float64       `json:"queued_duration"`
	FailureReason  *string        `json:"failure_reason"`
	When           string         `json:"when"`
	Manual         bool           `json:"manual"`
	AllowFailure   bool           `json:"allow_failure"`
	User           *userPayload   `json:"user"`
	Runner         *runnerPayload `json:"runner"`
	ArtifactsFile  struct {
		Filename *string `json:"filename"`
		Size     *int64  `json:"size"`
	} `json:"artifacts_file"`
	Environment any `json:"environment"`
}

// pipelinePayload is a "Pipeline Hook".
type pipelinePayload struct {
	ObjectKind       string             `json:"object_kind"`
	ObjectAttributes pipelineAttributes `json:"object_attributes"`
	MergeRequest     any                `json:"merge_request"`
	User             *userPayload       `json:"user"`
	Project          projectPayload     `json:"project"`
	Commit           commitPayload      `json:"commit"`
	Builds           []buildPayload     `json:"builds"`
}

type jobCommitPayload struct {
	ID          int64   `json:"id"` // the pipeline's id, as GitLab sends it
	Name        *string `json:"name"`
	SHA         string  `json:"sha"`
	Message     string  `json:"message"`
	AuthorName  string  `json:"author_name"`
	AuthorEmail string  `json:"author_email"`
	AuthorURL   string  `json:"author_url"`
	Status      string  `json:"status"`
	Duration    *int64  `json:"duration"`
	StartedAt   *string `json:"started_at"`
	FinishedAt  *string `json:"finished_at"`
}

// jobPayload is a "Job Hook" (object_kind build).
type jobPayload struct {
	ObjectKind          string            `json:"object_kind"`
	Ref                 string            `json:"ref"`
	Tag                 bool              `json:"tag"`
	BeforeSHA           string            `json:"before_sha"`
	SHA                 string            `json:"sha"`
	BuildID             int64             `json:"build_id"`
	BuildName           string            `json:"build_name"`
	BuildStage          string            `json:"build_stage"`
	BuildStatus         string            `json:"build_status"`
	BuildCreatedAt      *string           `json:"build_created_at"`
	BuildStartedAt      *string           `json:"build_started_at"`
	BuildFinishedAt     *string           `json:"build_finished_at"`
	BuildDuration       *float64          `json:"build_duration"`
	BuildQueuedDuration *float64          `json:"build_queued_duration"`
	BuildAllowFailure   bool              `json:"build_allow_failure"`
	BuildFailureReason  string            `json:"build_failure_reason"`
	RetriesCount        int               `json:"retries_count"`
	PipelineID          int64             `json:"pipeline_id"`
	ProjectID           int64             `json:"project_id"`
	ProjectName         string            `json:"project_name"`
	User                *userPayload      `json:"user"`
	Commit              jobCommitPayload  `json:"commit"`
	Repository          repositoryPayload `json:"repository"`
	Project             projectPayload    `json:"project"`
	Runner              *runnerPayload    `json:"runner"`
	Environment         any               `json:"environment"`
}

// visibilityLevel is GitLab's numeric visibility.
func visibilityLevel(v ci.Visibility) int {
	switch v {
	case ci.VisibilityPublic:
		return 20
	case ci.VisibilityInternal:
		return 10
	}
	return 0
}

func (s *Service) project(p *ci.Project, ns *ci.Namespace) projectPayload {
	web := s.externalURL + "/" + p.FullPath
	nsName := ""
	if ns != nil {
		nsName = ns.Name
	}
	return projectPayload{ID: p.ID, Name: p.Name, Description: p.Description, WebURL: web, GitHTTPURL: web + ".git",
		Namespace: nsName, VisibilityLevel: visibilityLevel(p.Visibility), Visibility: string(p.Visibility),
		PathWithNamespace: p.FullPath, DefaultBranch: p.DefaultBranch, CIConfigPath: p.CIConfigPath,
		Homepage: web, URL: web + ".git", HTTPURL: web + ".git"}
}

func (s *Service) repository(p *ci.Project) repositoryPayload {
	web := s.externalURL + "/" + p.FullPath
	return repositoryPayload{Name: p.Name, URL: web + ".git", Description: p.Description, Homepage: web,
		GitHTTPURL: web + ".git", VisibilityLevel: visibilityLevel(p.Visibility)}
}

func user(u *ci.User) *userPayload {
	if u == nil {
		return nil
	}
	return &userPayload{ID: u.ID, Name: u.Name, Username: u.Username, Email: u.Email}
}

func runner(r *ci.Runner) *runnerPayload {
	if r == nil {
		return nil
	}
	tags := r.Tags
	if tags == nil {
		tags = []string{}
	}
	return &runnerPayload{ID: r.ID, Description: r.Description, RunnerType: r.RunnerType, Active: !r.Paused,
		IsShared: r.RunnerType == ci.RunnerInstance, Tags: tags}
}

func seconds(start, end *time.Time) *float64 {
	if start == nil || end == nil {
		return nil
	}
	d := end.Sub(*start).Seconds()
	return &d
}

func wholeSeconds(start, end *time.Time) *int64 {
	f := seconds(start, end)
	if f == nil {
		return nil
	}
	n := int64(*f)
	return &n
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// title is a commit message's first line.
func title(msg string) string {
	t, _, _ := strings.Cut(msg, "\n")
	return t
}
