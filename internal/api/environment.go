package api

import (
	"strings"
	"time"

	"github.com/batonci/baton/internal/ci"
)

// environmentEntity is an environment as its routes answer it: the basic
// fields (embedded, so they come first and flat), then the rest.
type environmentEntity struct {
	environmentBasic
	CreatedAt      *time.Time        `json:"created_at"`
	UpdatedAt      *time.Time        `json:"updated_at"`
	AutoStopAt     *time.Time        `json:"auto_stop_at"`
	LastDeployment *deploymentEntity `json:"last_deployment,omitempty"`
}

type environmentBasic struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Slug        string `json:"slug"`
	ExternalURL string `json:"external_url"`
	State       string `json:"state"`
	Tier        string `json:"tier"`
}

type deployableEntity struct {
	ID         int64         `json:"id"`
	Name       string        `json:"name"`
	Stage      string        `json:"stage"`
	Status     string        `json:"status"`
	Ref        string        `json:"ref"`
	Tag        bool          `json:"tag"`
	CreatedAt  *time.Time    `json:"created_at"`
	StartedAt  *time.Time    `json:"started_at"`
	FinishedAt *time.Time    `json:"finished_at"`
	WebURL     string        `json:"web_url"`
	Pipeline   pipelineBasic `json:"pipeline"`
}

type deploymentEntity struct {
	ID          int64             `json:"id"`
	IID         int64             `json:"iid"`
	Ref         string            `json:"ref"`
	SHA         string            `json:"sha"`
	Status      string            `json:"status"`
	CreatedAt   *time.Time        `json:"created_at"`
	UpdatedAt   *time.Time        `json:"updated_at"`
	FinishedAt  *time.Time        `json:"finished_at"`
	User        *userEntity       `json:"user"`
	Environment *environmentBasic `json:"environment,omitempty"`
	Deployable  *deployableEntity `json:"deployable"`
}

func environmentBasicOf(e *ci.Environment) *environmentBasic {
	return &environmentBasic{ID: e.ID, Name: e.Name, Slug: e.Slug, ExternalURL: e.ExternalURL, State: string(e.State), Tier: e.Tier}
}

func (s *Server) environment(e *ci.Environment, last *deploymentEntity) environmentEntity {
	return environmentEntity{environmentBasic: *environmentBasicOf(e), CreatedAt: utc(&e.CreatedAt), UpdatedAt: utc(&e.UpdatedAt), AutoStopAt: utc(e.AutoStopAt), LastDeployment: last}
}

// deployment renders d; env is set for the deployment routes (GitLab
// leaves it out of an environment's last_deployment).
func (s *Server) deployment(c *call, d *ci.Deployment, env *ci.Environment) *deploymentEntity {
	proj := c.proj
	e := &deploymentEntity{ID: d.ID, IID: d.IID, Ref: d.Ref, SHA: d.SHA, Status: string(d.Status),
		CreatedAt: utc(&d.CreatedAt), UpdatedAt: utc(&d.UpdatedAt), FinishedAt: utc(d.FinishedAt)}
	if env != nil {
		e.Environment = environmentBasicOf(env)
	}
	ctx := c.ctx()
	if d.UserID != 0 {
		e.User = s.userFor(c, d.UserID)
	}
	j, err := s.Store.JobByID(ctx, d.JobID)
	if err != nil || j.ProjectID != proj.ID {
		return e
	}
	pl, err := s.Store.PipelineByID(ctx, j.PipelineID)
	if err != nil {
		return e
	}
	e.Deployable = &deployableEntity{ID: j.ID, Name: j.Name, Stage: j.Stage, Status: string(j.Status), Ref: pl.Ref, Tag: pl.Tag,
		CreatedAt: utc(&j.CreatedAt), StartedAt: utc(j.StartedAt), FinishedAt: utc(j.FinishedAt),
		WebURL: s.jobURL(proj, j.ID), Pipeline: s.pipelineBasic(pl, proj)}
	return e
}

// environmentOf resolves :environment_id within the call's project; one of
// another project answers as an absent one.
func (s *Server) environmentOf(c *call) (*ci.Environment, error) {
	return byPathID("environment_id", "404 Environment Not Found", func(c *call, id int64) (*ci.Environment, error) {
		e, err := s.Store.EnvironmentByID(c.ctx(), id)
		if err == nil && e.ProjectID != c.proj.ID {
			return nil, ci.Errorf(ci.KindNotFound, "another project's")
		}
		return e, err
	})(c)
}

func (s *Server) listEnvironments(c *call) (answer, error) {
	q, pg, err := c.paged()
	if err != nil {
		return answer{}, err
	}
	state := q.Get("states")
	switch ci.EnvironmentState(state) {
	case "", ci.EnvAvailable, ci.EnvStopping, ci.EnvStopped:
	default:
		return answer{}, ci.Errorf(ci.KindInvalid, "400 Bad request - states does not have a valid value")
	}
	envs, total, err := s.Store.ListEnvironments(c.ctx(), c.proj.ID, q.Get("name"), state, pg)
	if err != nil {
		return answer{}, err
	}
	out := make([]environmentEntity, 0, len(envs))
	for _, e := range envs {
		out = append(out, s.environment(e, nil))
	}
	return page(pg, total, out), nil
}

func (s *Server) getEnvironment(c *call, env *ci.Environment) (answer, error) {
	return s.environmentAnswer(c, env)
}

// environmentAnswer is env with its last deployment.
func (s *Server) environmentAnswer(c *call, env *ci.Environment) (answer, error) {
	last, err := s.Store.LastDeployments(c.ctx(), []int64{env.ID})
	if err != nil {
		return answer{}, err
	}
	var ld *deploymentEntity
	if d := last[env.ID]; d != nil {
		ld = s.deployment(c, d, nil)
	}
	return ok(s.environment(env, ld)), nil
}

// validExternalURL accepts what GitLab does: empty, or an http(s) URL.
func validExternalURL(u string) error {
	if u == "" || strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://") {
		if len(u) <= 255 && !strings.ContainsAny(u, " \n\r\t") {
			return nil
		}
	}
	return ci.Errorf(ci.KindInvalid, "400 Bad request - external_url is blocked: only http and https URLs of at most 255 characters are allowed")
}

func (s *Server) createEnvironment(c *call) (answer, error) {
	q, err := c.params()
	if err != nil {
		return answer{}, err
	}
	name, err := q.Required("name")
	if err != nil {
		return answer{}, err
	}
	if len(name) > ci.MaxEnvironmentName || strings.ContainsAny(name, "\n\r") {
		return answer{}, ci.Errorf(ci.KindInvalid, "400 Bad request - name is too long (maximum is %d characters)", ci.MaxEnvironmentName)
	}
	e := &ci.Environment{ProjectID: c.proj.ID, Name: name, Slug: ci.EnvironmentSlug(name), ExternalURL: q.Get("external_url"),
		Tier: q.Get("tier")}
	if err := validExternalURL(e.ExternalURL); err != nil {
		return answer{}, err
	}
	if e.Tier == "" {
		e.Tier = ci.GuessTier(name)
	} else if !validTier(e.Tier) {
		return answer{}, ci.Errorf(ci.KindInvalid, "400 Bad request - tier does not have a valid value")
	}
	if err := s.Store.CreateEnvironment(c.ctx(), e, s.Environments.MaxEnvironments()); err != nil {
		if ci.IsConflict(err) {
			return answer{}, ci.Errorf(ci.KindInvalid, "400 Bad request - name has already been taken")
		}
		return answer{}, err
	}
	return created(s.environment(e, nil)), nil
}

func validTier(t string) bool {
	for _, v := range ci.DeploymentTiers {
		if v == t {
			return true
		}
	}
	return false
}

func (s *Server) stopEnvironment(c *call, env *ci.Environment) (answer, error) {
	if err := s.Environments.Stop(c.ctx(), env, c.p.UserID()); err != nil {
		return answer{}, err
	}
	return s.environmentAnswer(c, env)
}

func (s *Server) deleteEnvironment(c *call, env *ci.Environment) (answer, error) {
	if env.State != ci.EnvStopped {
		return answer{}, ci.Errorf(ci.KindForbidden, "403 Forbidden - the environment must be stopped before it is deleted")
	}
	if err := s.Store.DeleteEnvironment(c.ctx(), c.proj.ID, env.ID); err != nil {
		return answer{}, err
	}
	return noContent, nil
}

var deploymentStatuses = map[ci.Status]bool{ci.StatusCreated: true, ci.StatusRunning: true, ci.StatusSuccess: true,
	ci.StatusFailed: true, ci.StatusCanceled: true, ci.StatusSkipped: true, "blocked": true}

func (s *Server) listDeployments(c *call) (answer, error) {
	q, pg, err := c.paged()
	if err != nil {
		return answer{}, err
	}
	f := ci.DeploymentFilter{ProjectID: c.proj.ID, Page: pg, Status: ci.Status(q.Get("status")), Ascending: q.Get("sort") != "desc"}
	if f.Status != "" && !deploymentStatuses[f.Status] {
		return answer{}, ci.Errorf(ci.KindInvalid, "400 Bad request - status does not have a valid value")
	}
	envs := map[int64]*ci.Environment{}
	if name := q.Get("environment"); name != "" {
		list, _, err := s.Store.ListEnvironments(c.ctx(), c.proj.ID, name, "", ci.Page{Page: 1, PerPage: 1})
		if err != nil {
			return answer{}, err
		}
		if len(list) == 0 {
			return page(pg, 0, []deploymentEntity{}), nil
		}
		f.EnvironmentID = list[0].ID
		envs[list[0].ID] = list[0]
	}
	ds, total, err := s.Store.ListDeployments(c.ctx(), f)
	if err != nil {
		return answer{}, err
	}
	out := make([]*deploymentEntity, 0, len(ds))
	for _, d := range ds {
		env := envs[d.EnvironmentID]
		if env == nil {
			if env, err = s.Store.EnvironmentByID(c.ctx(), d.EnvironmentID); err != nil {
				return answer{}, err
			}
			envs[env.ID] = env
		}
		out = append(out, s.deployment(c, d, env))
	}
	return page(pg, total, out), nil
}

// deploymentOf resolves :deployment_id within the call's project; one of
// another project answers as an absent one.
func (s *Server) deploymentOf(c *call) (*ci.Deployment, error) {
	return byPathID("deployment_id", "404 Deployment Not Found", func(c *call, id int64) (*ci.Deployment, error) {
		d, err := s.Store.DeploymentByID(c.ctx(), id)
		if err == nil && d.ProjectID != c.proj.ID {
			return nil, ci.Errorf(ci.KindNotFound, "another project's")
		}
		return d, err
	})(c)
}

func (s *Server) getDeployment(c *call, d *ci.Deployment) (answer, error) {
	env, err := s.Store.EnvironmentByID(c.ctx(), d.EnvironmentID)
	if err != nil {
		return answer{}, err
	}
	return ok(s.deployment(c, d, env)), nil
}
