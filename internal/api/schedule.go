package api

import (
	"net/http"
	"time"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/httpx"
	"github.com/batonci/baton/internal/schedule"
)

// Automation bounds pipeline schedules and webhooks. Zero values take the
// defaults of cmd/baton's flags.
type Automation struct {
	MaxSchedules        int           // per project (--max-pipeline-schedules)
	MinScheduleInterval time.Duration // shortest time between two runs (--min-schedule-interval)
	MaxVariables        int           // variables of one schedule (--max-variables)
	MaxVariableBytes    int64         // one variable's value (--max-variable-bytes)
	MaxHooks            int           // per project (--max-webhooks)
	AllowLocalHooks     bool          // --allow-local-webhooks
}

func (a Automation) withDefaults() Automation {
	if a.MaxSchedules <= 0 {
		a.MaxSchedules = 50
	}
	if a.MinScheduleInterval <= 0 {
		a.MinScheduleInterval = time.Minute
	}
	if a.MaxVariables <= 0 {
		a.MaxVariables = 200
	}
	if a.MaxVariableBytes <= 0 {
		a.MaxVariableBytes = 10 << 10
	}
	if a.MaxHooks <= 0 {
		a.MaxHooks = 20
	}
	return a
}

type lastPipelineEntity struct {
	ID     int64  `json:"id"`
	SHA    string `json:"sha"`
	Ref    string `json:"ref"`
	Status string `json:"status"`
	WebURL string `json:"web_url"`
}

type scheduleVariableEntity struct {
	Key          string `json:"key"`
	Value        string `json:"value"`
	VariableType string `json:"variable_type"`
}

type scheduleEntity struct {
	ID             int64                    `json:"id"`
	Description    string                   `json:"description"`
	Ref            string                   `json:"ref"`
	Cron           string                   `json:"cron"`
	CronTimezone   string                   `json:"cron_timezone"`
	NextRunAt      *time.Time               `json:"next_run_at"`
	Active         bool                     `json:"active"`
	CreatedAt      *time.Time               `json:"created_at"`
	UpdatedAt      *time.Time               `json:"updated_at"`
	Owner          *userEntity              `json:"owner"`
	LastPipeline   *lastPipelineEntity      `json:"last_pipeline"`
	Variables      []scheduleVariableEntity `json:"variables,omitempty"`
	InactiveReason string                   `json:"inactive_reason,omitempty"` // Baton's: why it deactivated itself
}

func scheduleVariableJSON(v ci.Variable) scheduleVariableEntity {
	t := "env_var"
	if v.File {
		t = "file"
	}
	return scheduleVariableEntity{Key: v.Key, Value: v.Value, VariableType: t}
}

// schedule renders sc; withVariables for the single-schedule answers
// (GitLab lists schedules without their variables).
func (s *Server) schedule(c *call, sc *ci.PipelineSchedule, withVariables bool) scheduleEntity {
	proj := c.proj
	e := scheduleEntity{ID: sc.ID, Description: sc.Description, Ref: sc.Ref, Cron: sc.Cron, CronTimezone: sc.CronTimezone,
		NextRunAt: utc(sc.NextRunAt), Active: sc.Active, CreatedAt: utc(&sc.CreatedAt), UpdatedAt: utc(&sc.UpdatedAt),
		InactiveReason: sc.InactiveReason}
	e.Owner = s.userFor(c, sc.OwnerID)
	if sc.LastPipelineID != 0 {
		if pl, err := s.Store.PipelineByID(c.ctx(), sc.LastPipelineID); err == nil && pl.ProjectID == proj.ID {
			e.LastPipeline = &lastPipelineEntity{ID: pl.ID, SHA: pl.SHA, Ref: pl.Ref, Status: string(pl.Status),
				WebURL: s.ExternalURL + "/" + proj.FullPath + "/-/pipelines/" + itoa(pl.ID)}
		}
	}
	if withVariables {
		e.Variables = []scheduleVariableEntity{}
		for _, v := range sc.Variables {
			e.Variables = append(e.Variables, scheduleVariableJSON(v))
		}
	}
	return e
}

// scheduleOf resolves :schedule_id within the project and, for abilities
// on one schedule, asks the policy (ownership for UpdatePipelineSchedule).
func (s *Server) scheduleOf(c *call) (*ci.PipelineSchedule, error) {
	sc, err := byPathID("schedule_id", "404 Pipeline Schedule Not Found", func(c *call, id int64) (*ci.PipelineSchedule, error) {
		sc, err := s.Store.PipelineScheduleByID(c.ctx(), id)
		if err == nil && sc.ProjectID != c.proj.ID {
			return nil, ci.Errorf(ci.KindNotFound, "pipeline schedule %d is in another project", id)
		}
		return sc, err
	})(c)
	if err != nil {
		return nil, err
	}
	if err := s.Policy.PipelineSchedule(c.ctx(), c.p, routeAbility(c.r), c.proj, sc); err != nil {
		return nil, err
	}
	return sc, nil
}

func (s *Server) listSchedules(c *call) (answer, error) {
	q, err := c.params()
	if err != nil {
		return answer{}, err
	}
	var active *bool
	switch scope := q.Get("scope"); scope {
	case "":
	case "active", "inactive":
		on := scope == "active"
		active = &on
	default:
		return answer{}, ci.Errorf(ci.KindInvalid, "400 Bad request - scope does not have a valid value")
	}
	scs, err := s.Store.ListPipelineSchedules(c.ctx(), c.proj.ID, active)
	if err != nil {
		return answer{}, err
	}
	out := make([]scheduleEntity, 0, len(scs))
	for _, sc := range scs {
		out = append(out, s.schedule(c, sc, false))
	}
	return ok(out), nil
}

func (s *Server) getSchedule(c *call, sc *ci.PipelineSchedule) (answer, error) {
	return ok(s.schedule(c, sc, true)), nil
}

// listSchedulePipelines is GET
// /projects/:id/pipeline_schedules/:schedule_id/pipelines: the pipelines
// the schedule created (its runs and "Run now"), oldest first unless
// sort=desc, paginated, as GitLab lists them.
func (s *Server) listSchedulePipelines(c *call, sc *ci.PipelineSchedule) (answer, error) {
	q, pg, err := c.paged()
	if err != nil {
		return answer{}, err
	}
	f := ci.PipelineFilter{ProjectID: c.proj.ID, ScheduleID: sc.ID, Sort: "asc", Page: pg}
	switch o := q.Get("order_by"); o {
	case "", "id", "created_at": // ids grow with creation
	default:
		return answer{}, ci.Errorf(ci.KindInvalid, "400 Bad request - order_by does not have a valid value: %q (id or created_at)", o)
	}
	switch so := q.Get("sort"); so {
	case "", "asc", "desc":
		if so != "" {
			f.Sort = so
		}
	default:
		return answer{}, ci.Errorf(ci.KindInvalid, "400 Bad request - sort does not have a valid value: %q (asc or desc)", so)
	}
	if err := unsupported(q, "scope", "status", "ref", "sha", "source", "username", "updated_after", "updated_before",
		"created_after", "created_before", "name", "yaml_errors"); err != nil {
		return answer{}, err
	}
	pls, total, err := s.Store.ListPipelines(c.ctx(), f)
	if err != nil {
		return answer{}, err
	}
	out := make([]pipelineBasic, 0, len(pls))
	for _, pl := range pls {
		out = append(out, s.pipelineBasic(pl, c.proj))
	}
	return page(pg, total, out), nil
}

// applySchedule sets the fields q gives; required ones on create.
func applySchedule(q *httpx.Params, sc *ci.PipelineSchedule, create bool) error {
	for _, f := range []struct {
		key string
		dst *string
	}{{"description", &sc.Description}, {"ref", &sc.Ref}, {"cron", &sc.Cron}, {"cron_timezone", &sc.CronTimezone}} {
		if q.Given(f.key) {
			*f.dst = q.Get(f.key)
		} else if create && f.key != "cron_timezone" {
			return ci.Errorf(ci.KindInvalid, "400 Bad request - %s is missing", f.key)
		}
	}
	if q.Given("active") {
		on, err := q.Bool("active", true)
		if err != nil {
			return err
		}
		sc.Active = on
	}
	return nil
}

func (s *Server) createSchedule(c *call) (answer, error) {
	q, err := c.params()
	if err != nil {
		return answer{}, err
	}
	sc := &ci.PipelineSchedule{ProjectID: c.proj.ID, OwnerID: c.p.UserID(), Active: true}
	if err := applySchedule(q, sc, true); err != nil {
		return answer{}, err
	}
	lim := s.Automation.withDefaults()
	if err := schedule.Prepare(sc, lim.MinScheduleInterval, time.Now()); err != nil {
		return answer{}, err
	}
	if err := s.Store.CreatePipelineSchedule(c.ctx(), sc, lim.MaxSchedules); err != nil {
		return answer{}, err
	}
	return created(s.schedule(c, sc, true)), nil
}

func (s *Server) editSchedule(c *call, sc *ci.PipelineSchedule) (answer, error) {
	q, err := c.params()
	if err != nil {
		return answer{}, err
	}
	if err := applySchedule(q, sc, false); err != nil {
		return answer{}, err
	}
	if err := schedule.Prepare(sc, s.Automation.withDefaults().MinScheduleInterval, time.Now()); err != nil {
		return answer{}, err
	}
	if err := s.Store.UpdatePipelineSchedule(c.ctx(), sc); err != nil {
		return answer{}, err
	}
	return ok(s.schedule(c, sc, true)), nil
}

// takeOwnership makes the caller the schedule's owner: its pipelines run
// as the caller from now on.
func (s *Server) takeOwnership(c *call, sc *ci.PipelineSchedule) (answer, error) {
	sc.OwnerID = c.p.UserID()
	if err := s.Store.UpdatePipelineSchedule(c.ctx(), sc); err != nil {
		return answer{}, err
	}
	return ok(s.schedule(c, sc, true)), nil
}

func (s *Server) deleteSchedule(c *call, sc *ci.PipelineSchedule) (answer, error) {
	if err := s.Store.DeletePipelineSchedule(c.ctx(), c.proj.ID, sc.ID); err != nil {
		return answer{}, err
	}
	return answer{status: http.StatusAccepted, body: s.schedule(c, sc, true)}, nil
}

// playSchedule runs the schedule now, as the caller, leaving its next
// run where it is (GitLab's play).
func (s *Server) playSchedule(c *call, sc *ci.PipelineSchedule) (answer, error) {
	pl, err := s.Planner.Create(c.ctx(), ci.PipelineRequest{Project: c.proj, Ref: sc.Ref, Source: ci.SourceSchedule,
		UserID: c.p.UserID(), Variables: sc.Variables})
	if err != nil {
		if a, ok := planError(err); ok {
			return a, nil
		}
		return answer{}, err
	}
	if err := s.Store.SetPipelineScheduleLastPipeline(c.ctx(), sc.ID, pl.ID); err != nil {
		return answer{}, err
	}
	return created(map[string]string{"message": "201 Created"}), nil
}

// scheduleVariable reads key (path or parameter), value and
// variable_type within the variable bounds.
func (s *Server) scheduleVariable(r *http.Request, q *httpx.Params) (ci.Variable, error) {
	v := ci.Variable{Key: r.PathValue("key"), Value: q.Get("value")}
	if v.Key == "" {
		v.Key = q.Get("key")
	}
	if v.Key == "" || !validVariableKey(v.Key) || len(v.Key) > 255 {
		return v, ci.Errorf(ci.KindInvalid, "400 Bad request - key can contain only letters, digits and '_'")
	}
	if ci.Reserved(v.Key) {
		return v, ci.Errorf(ci.KindInvalid, "400 Bad request - variable %s is predefined and cannot be set", v.Key)
	}
	if lim := s.Automation.withDefaults().MaxVariableBytes; int64(len(v.Value)) > lim {
		return v, ci.Errorf(ci.KindInvalid, "400 Bad request - value of %s is longer than %d bytes", v.Key, lim)
	}
	switch q.Get("variable_type") {
	case "", "env_var":
	case "file":
		v.File = true
	default:
		return v, ci.Errorf(ci.KindInvalid, "400 Bad request - variable_type does not have a valid value")
	}
	return v, nil
}

// scheduleVariableChange answers a change of one variable of a schedule
// with the variable (the removed one for DELETE).
func (s *Server) scheduleVariableChange(status int, change func(c *call, sc *ci.PipelineSchedule, v ci.Variable) (ci.Variable, error)) handlerFunc {
	return onResource(s, s.scheduleOf, func(c *call, sc *ci.PipelineSchedule) (answer, error) {
		q, err := c.params()
		if err != nil {
			return answer{}, err
		}
		v := ci.Variable{Key: c.r.PathValue("key")}
		if c.r.Method != http.MethodDelete {
			if v, err = s.scheduleVariable(c.r, q); err != nil {
				return answer{}, err
			}
			// As for pipeline variables: the project's minimum role decides.
			if err := s.Policy.PipelineVariables(c.ctx(), c.p, c.proj); err != nil {
				return answer{}, err
			}
		}
		out, err := change(c, sc, v)
		if ci.IsNotFound(err) {
			return answer{}, ci.Errorf(ci.KindNotFound, "404 Pipeline Schedule Variable Not Found")
		}
		if err != nil {
			return answer{}, err
		}
		return answer{status: status, body: scheduleVariableJSON(out)}, nil
	})
}

func (s *Server) createScheduleVariable(c *call, sc *ci.PipelineSchedule, v ci.Variable) (ci.Variable, error) {
	return v, s.Store.CreatePipelineScheduleVariable(c.ctx(), sc.ID, v, s.Automation.withDefaults().MaxVariables)
}

func (s *Server) editScheduleVariable(c *call, sc *ci.PipelineSchedule, v ci.Variable) (ci.Variable, error) {
	return v, s.Store.UpdatePipelineScheduleVariable(c.ctx(), sc.ID, v)
}

func (s *Server) deleteScheduleVariable(c *call, sc *ci.PipelineSchedule, v ci.Variable) (ci.Variable, error) {
	old, err := s.Store.DeletePipelineScheduleVariable(c.ctx(), sc.ID, v.Key)
	if err != nil {
		return v, err
	}
	return *old, nil
}
