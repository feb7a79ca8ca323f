package api

import (
	"context"
	"time"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/hooks"
	"github.com/batonci/baton/internal/httpx"
)

// HookTester queues a test event for one hook (hooks.Service).
type HookTester interface {
	Test(ctx context.Context, proj *ci.Project, h *ci.ProjectHook, trigger string) (*ci.HookDelivery, error)
}

// hookEntity is GitLab's project hook; the token is never shown.
type hookEntity struct {
	ID                     int64      `json:"id"`
	URL                    string     `json:"url"`
	Name                   string     `json:"name"`
	Description            string     `json:"description"`
	ProjectID              int64      `json:"project_id"`
	PushEvents             bool       `json:"push_events"`
	PushEventsBranchFilter string     `json:"push_events_branch_filter"`
	BranchFilterStrategy   string     `json:"branch_filter_strategy"`
	TagPushEvents          bool       `json:"tag_push_events"`
	PipelineEvents         bool       `json:"pipeline_events"`
	JobEvents              bool       `json:"job_events"`
	IssuesEvents           bool       `json:"issues_events"`
	MergeRequestsEvents    bool       `json:"merge_requests_events"`
	NoteEvents             bool       `json:"note_events"`
	WikiPageEvents         bool       `json:"wiki_page_events"`
	DeploymentEvents       bool       `json:"deployment_events"`
	ReleasesEvents         bool       `json:"releases_events"`
	EnableSSLVerification  bool       `json:"enable_ssl_verification"`
	AlertStatus            string     `json:"alert_status"`
	DisabledUntil          *time.Time `json:"disabled_until"`
	CreatedAt              *time.Time `json:"created_at"`
}

func hook(h *ci.ProjectHook) hookEntity {
	strategy := "wildcard"
	if h.PushEventsBranchFilter == "" {
		strategy = "all_branches"
	}
	return hookEntity{ID: h.ID, URL: h.URL, ProjectID: h.ProjectID, PushEvents: h.PushEvents,
		PushEventsBranchFilter: h.PushEventsBranchFilter, BranchFilterStrategy: strategy, TagPushEvents: h.TagPushEvents,
		PipelineEvents: h.PipelineEvents, JobEvents: h.JobEvents, EnableSSLVerification: h.EnableSSLVerification,
		AlertStatus: "executable", CreatedAt: utc(&h.CreatedAt)}
}

// deliveryEntity is one recent delivery (Baton's; GitLab shows them in its
// UI only).
type deliveryEntity struct {
	ID             int64      `json:"id"`
	Trigger        string     `json:"trigger"`
	Event          string     `json:"event"`
	UUID           string     `json:"uuid"`
	Status         string     `json:"status"`
	Attempts       int        `json:"attempts"`
	ResponseStatus int        `json:"response_status"`
	ResponseBody   string     `json:"response_body"`
	Error          string     `json:"error,omitempty"`
	ExecutionTime  float64    `json:"execution_duration"`
	NextAttemptAt  *time.Time `json:"next_attempt_at,omitempty"`
	CreatedAt      *time.Time `json:"created_at"`
	FinishedAt     *time.Time `json:"finished_at"`
}

func delivery(d *ci.HookDelivery) deliveryEntity {
	e := deliveryEntity{ID: d.ID, Trigger: d.Trigger, Event: d.Event, UUID: d.UUID, Status: d.Status, Attempts: d.Attempts,
		ResponseStatus: d.ResponseStatus, ResponseBody: d.ResponseBody, Error: d.Error, ExecutionTime: d.Duration.Seconds(),
		CreatedAt: utc(&d.CreatedAt), FinishedAt: utc(d.FinishedAt)}
	if d.Status == ci.DeliveryPending {
		e.NextAttemptAt = utc(&d.NextAttemptAt)
	}
	return e
}

// hookOf is the route's :hook_id of the project.
func (s *Server) hookOf(c *call) (*ci.ProjectHook, error) {
	return byPathID("hook_id", "404 Not found", func(c *call, id int64) (*ci.ProjectHook, error) {
		return s.Store.ProjectHookByID(c.ctx(), c.proj.ID, id)
	})(c)
}

// applyHook sets the fields q gives (url is required on create) and
// checks the URL.
func (s *Server) applyHook(q *httpx.Params, h *ci.ProjectHook, create bool) error {
	if q.Given("url") || create {
		u, err := q.Required("url")
		if err != nil {
			return err
		}
		if err := hooks.CheckURL(u, s.Automation.AllowLocalHooks); err != nil {
			return err
		}
		h.URL = u
	}
	for _, f := range []struct {
		key string
		dst *string
	}{{"token", &h.Token}, {"push_events_branch_filter", &h.PushEventsBranchFilter}} {
		if q.Given(f.key) {
			if *f.dst = q.Get(f.key); len(*f.dst) > ci.MaxHookField {
				return ci.Errorf(ci.KindInvalid, "400 Bad request - %s is longer than %d bytes", f.key, ci.MaxHookField)
			}
		}
	}
	for _, f := range []struct {
		key string
		dst *bool
	}{{"push_events", &h.PushEvents}, {"tag_push_events", &h.TagPushEvents}, {"pipeline_events", &h.PipelineEvents},
		{"job_events", &h.JobEvents}, {"enable_ssl_verification", &h.EnableSSLVerification}} {
		b, err := q.Bool(f.key, *f.dst)
		if err != nil {
			return err
		}
		*f.dst = b
	}
	return nil
}

func (s *Server) listHooks(c *call) (answer, error) {
	hs, err := s.Store.ListProjectHooks(c.ctx(), c.proj.ID)
	if err != nil {
		return answer{}, err
	}
	out := make([]hookEntity, 0, len(hs))
	for _, h := range hs {
		out = append(out, hook(h))
	}
	return ok(out), nil
}

func (s *Server) getHook(_ *call, h *ci.ProjectHook) (answer, error) { return ok(hook(h)), nil }

func (s *Server) createHook(c *call) (answer, error) {
	q, err := c.params()
	if err != nil {
		return answer{}, err
	}
	// GitLab's defaults: push events on, SSL verified.
	h := &ci.ProjectHook{ProjectID: c.proj.ID, PushEvents: true, EnableSSLVerification: true}
	if err := s.applyHook(q, h, true); err != nil {
		return answer{}, err
	}
	if err := s.Store.CreateProjectHook(c.ctx(), h, s.Automation.withDefaults().MaxHooks); err != nil {
		return answer{}, err
	}
	return created(hook(h)), nil
}

func (s *Server) editHook(c *call, h *ci.ProjectHook) (answer, error) {
	q, err := c.params()
	if err != nil {
		return answer{}, err
	}
	if err := s.applyHook(q, h, false); err != nil {
		return answer{}, err
	}
	if err := s.Store.UpdateProjectHook(c.ctx(), h); err != nil {
		return answer{}, err
	}
	return ok(hook(h)), nil
}

func (s *Server) deleteHook(c *call, h *ci.ProjectHook) (answer, error) {
	return noContent, s.Store.DeleteProjectHook(c.ctx(), c.proj.ID, h.ID)
}

// listHookEvents is GET /projects/:id/hooks/:hook_id/events: the hook's
// recent deliveries, newest first, paginated.
func (s *Server) listHookEvents(c *call, h *ci.ProjectHook) (answer, error) {
	return listed(c, func(pg ci.Page) ([]*ci.HookDelivery, int, error) {
		return s.Store.ListHookDeliveries(c.ctx(), h.ID, pg)
	}, delivery)
}

// testHook is POST /projects/:id/hooks/:hook_id/test/:trigger: it queues
// an event of that kind, built from recent data, for this hook alone.
func (s *Server) testHook(c *call, h *ci.ProjectHook) (answer, error) {
	if _, err := s.Hooks.Test(c.ctx(), c.proj, h, c.r.PathValue("trigger")); err != nil {
		return answer{}, err
	}
	return created(map[string]string{"message": "201 Created"}), nil
}
