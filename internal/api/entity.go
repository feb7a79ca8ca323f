package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/ci"
)

// The JSON shapes of GitLab's API entities that Baton serves. Field names
// and types follow GitLab so that existing clients decode them.

type userEntity struct {
	ID        int64      `json:"id"`
	Username  string     `json:"username"`
	Name      string     `json:"name"`
	State     string     `json:"state"`
	AvatarURL string     `json:"avatar_url"`
	WebURL    string     `json:"web_url"`
	Email     string     `json:"email,omitempty"`
	IsAdmin   *bool      `json:"is_admin,omitempty"`
	CreatedAt *time.Time `json:"created_at,omitempty"`
}

// user is u's entity as viewer sees it. Like GitLab, which shows other
// users only the public profile, it includes email and is_admin only for
// the user themselves and for administrators (personal-token callers; a job
// token is neither).
func (s *Server) user(viewer *auth.Principal, u *ci.User) *userEntity {
	if u == nil {
		return nil
	}
	t := u.CreatedAt.UTC()
	e := &userEntity{ID: u.ID, Username: u.Username, Name: u.Name, State: "active",
		WebURL: s.ExternalURL + "/" + u.Username, CreatedAt: &t}
	if viewer.Admin() || (viewer != nil && !viewer.IsJob() && viewer.UserID() == u.ID) {
		admin := u.Admin
		e.Email, e.IsAdmin = u.Email, &admin
	}
	return e
}

// viewer is the caller a response's user entities are shaped for,
// authenticated the way the handlers do; nil (anonymous) if that fails.
func (s *Server) viewer(r *http.Request) *auth.Principal {
	p, err := s.principal(r)
	if err != nil {
		return nil
	}
	return p
}

type namespaceEntity struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	Path      string `json:"path"`
	Kind      string `json:"kind"`
	FullPath  string `json:"full_path"`
	ParentID  *int64 `json:"parent_id"`
	WebURL    string `json:"web_url"`
	AvatarURL string `json:"avatar_url"`
}

func (s *Server) namespace(n *ci.Namespace) namespaceEntity {
	e := namespaceEntity{ID: n.ID, Name: n.Name, Path: n.Path, Kind: n.Kind, FullPath: n.FullPath, WebURL: s.ExternalURL + "/" + n.FullPath}
	if n.ParentID != 0 {
		id := n.ParentID
		e.ParentID = &id
	}
	return e
}

type groupEntity struct {
	ID          int64      `json:"id"`
	Name        string     `json:"name"`
	Path        string     `json:"path"`
	FullName    string     `json:"full_name"`
	FullPath    string     `json:"full_path"`
	Description string     `json:"description"`
	Visibility  string     `json:"visibility"`
	ParentID    *int64     `json:"parent_id"`
	WebURL      string     `json:"web_url"`
	CreatedAt   *time.Time `json:"created_at"`
}

func (s *Server) group(n *ci.Namespace) groupEntity {
	t := n.CreatedAt.UTC()
	e := groupEntity{ID: n.ID, Name: n.Name, Path: n.Path, FullName: strings.ReplaceAll(n.FullPath, "/", " / "),
		FullPath: n.FullPath, Description: n.Description, Visibility: string(n.Visibility),
		WebURL: s.ExternalURL + "/groups/" + n.FullPath, CreatedAt: &t}
	if n.ParentID != 0 {
		id := n.ParentID
		e.ParentID = &id
	}
	return e
}

type projectEntity struct {
	ID                   int64             `json:"id"`
	Description          string            `json:"description"`
	Name                 string            `json:"name"`
	NameWithNamespace    string            `json:"name_with_namespace"`
	Path                 string            `json:"path"`
	PathWithNamespace    string            `json:"path_with_namespace"`
	CreatedAt            *time.Time        `json:"created_at"`
	LastActivityAt       *time.Time        `json:"last_activity_at"`
	DefaultBranch        string            `json:"default_branch,omitempty"`
	Visibility           string            `json:"visibility"`
	WebURL               string            `json:"web_url"`
	HTTPURLToRepo        string            `json:"http_url_to_repo"`
	SSHURLToRepo         string            `json:"ssh_url_to_repo"`
	ReadmeURL            *string           `json:"readme_url"`
	Namespace            namespaceEntity   `json:"namespace"`
	CreatorID            int64             `json:"creator_id"`
	Archived             bool              `json:"archived"`
	EmptyRepo            bool              `json:"empty_repo"`
	JobsEnabled          bool              `json:"jobs_enabled"`
	BuildsAccessLevel    string            `json:"builds_access_level"`
	CIConfigPath         string            `json:"ci_config_path"`
	JobTokenScopeEnabled bool              `json:"ci_job_token_scope_enabled"`
	BuildTimeout         int               `json:"build_timeout"`
	AutoCancelPending    string            `json:"auto_cancel_pending_pipelines"`
	VariablesRole        string            `json:"ci_pipeline_variables_minimum_override_role"`
	Links                map[string]string `json:"_links"`
}

func (s *Server) project(p *ci.Project, ns *ci.Namespace) projectEntity {
	created, updated := p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	web := s.ExternalURL + "/" + p.FullPath
	api := s.ExternalURL + "/api/v4/projects/" + itoa(p.ID)
	e := projectEntity{
		ID: p.ID, Description: p.Description, Name: p.Name, Path: p.Path, PathWithNamespace: p.FullPath,
		NameWithNamespace: p.Name, CreatedAt: &created, LastActivityAt: &updated, DefaultBranch: p.DefaultBranch,
		Visibility: string(p.Visibility), WebURL: web, HTTPURLToRepo: web + ".git", SSHURLToRepo: "",
		CreatorID: p.CreatorID, EmptyRepo: p.DefaultBranch == "", JobsEnabled: true, BuildsAccessLevel: "enabled",
		CIConfigPath: p.CIConfigPath, JobTokenScopeEnabled: p.JobTokenScopeEnabled,
		BuildTimeout: p.BuildTimeout, AutoCancelPending: "enabled", VariablesRole: string(p.VariablesRole),
		Links: map[string]string{"self": api, "repo_branches": api + "/repository/branches", "members": api + "/members"},
	}
	if p.AutoCancelDisabled {
		e.AutoCancelPending = "disabled"
	}
	if ns != nil {
		e.Namespace = s.namespace(ns)
		e.NameWithNamespace = strings.ReplaceAll(ns.FullPath, "/", " / ") + " / " + p.Name
	}
	return e
}

type detailedStatus struct {
	Icon        string `json:"icon"`
	Text        string `json:"text"`
	Label       string `json:"label"`
	Group       string `json:"group"`
	Tooltip     string `json:"tooltip"`
	HasDetails  bool   `json:"has_details"`
	DetailsPath string `json:"details_path"`
	Favicon     string `json:"favicon"`
}

func statusDetail(st ci.Status, path string) *detailedStatus {
	label := map[ci.Status]string{ci.StatusSuccess: "passed", ci.StatusFailed: "failed", ci.StatusRunning: "running",
		ci.StatusPending: "pending", ci.StatusCanceled: "canceled", ci.StatusSkipped: "skipped", ci.StatusManual: "manual action",
		ci.StatusCreated: "created", ci.StatusCanceling: "canceling"}[st]
	if label == "" {
		label = string(st)
	}
	return &detailedStatus{Icon: "status_" + string(st), Text: label, Label: label, Group: string(st), Tooltip: label,
		HasDetails: true, DetailsPath: path, Favicon: "favicon_status_" + string(st)}
}

type pipelineBasic struct {
	ID        int64      `json:"id"`
	IID       int64      `json:"iid"`
	ProjectID int64      `json:"project_id"`
	SHA       string     `json:"sha"`
	Ref       string     `json:"ref"`
	Status    string     `json:"status"`
	Source    string     `json:"source"`
	Name      *string    `json:"name"`
	CreatedAt *time.Time `json:"created_at"`
	UpdatedAt *time.Time `json:"updated_at"`
	WebURL    string     `json:"web_url"`
}

type pipelineEntity struct {
	pipelineBasic
	BeforeSHA      string          `json:"before_sha"`
	Tag            bool            `json:"tag"`
	YAMLErrors     *string         `json:"yaml_errors"`
	User           *userEntity     `json:"user"`
	StartedAt      *time.Time      `json:"started_at"`
	FinishedAt     *time.Time      `json:"finished_at"`
	CommittedAt    *time.Time      `json:"committed_at"`
	Duration       *int64          `json:"duration"`
	QueuedDuration *int64          `json:"queued_duration"`
	Coverage       *string         `json:"coverage"`
	DetailedStatus *detailedStatus `json:"detailed_status"`
}

func (s *Server) pipelineURL(proj *ci.Project, id int64) string {
	return s.ExternalURL + "/" + proj.FullPath + "/-/pipelines/" + itoa(id)
}

func (s *Server) pipelineBasic(p *ci.Pipeline, proj *ci.Project) pipelineBasic {
	c, u := p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	e := pipelineBasic{ID: p.ID, IID: p.IID, ProjectID: p.ProjectID, SHA: p.SHA, Ref: p.Ref, Status: string(p.Status),
		Source: p.Source, CreatedAt: &c, UpdatedAt: &u, WebURL: s.pipelineURL(proj, p.ID)}
	if p.Name != "" {
		name := p.Name
		e.Name = &name
	}
	return e
}

func (s *Server) pipeline(viewer *auth.Principal, p *ci.Pipeline, proj *ci.Project, u *ci.User) pipelineEntity {
	e := pipelineEntity{pipelineBasic: s.pipelineBasic(p, proj), BeforeSHA: p.BeforeSHA, Tag: p.Tag, User: s.user(viewer, u),
		StartedAt: utc(p.StartedAt), FinishedAt: utc(p.FinishedAt),
		DetailedStatus: statusDetail(p.Status, "/"+proj.FullPath+"/-/pipelines/"+itoa(p.ID))}
	if p.YAMLErrors != "" {
		y := p.YAMLErrors
		e.YAMLErrors = &y
	}
	if p.StartedAt != nil {
		d := int64(p.Duration(time.Now()))
		e.Duration = &d
		q := int64(p.StartedAt.Sub(p.CreatedAt).Seconds())
		e.QueuedDuration = &q
	}
	return e
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
