package api

import (
	"net/http"
	"time"

	"github.com/batonci/baton/internal/auth"
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
func (s *Server) schedule(r *http.Request, proj *ci.Project, sc *ci.PipelineSchedule, withVariables bool) scheduleEntity {
	e := scheduleEntity{ID: sc.ID, Description: sc.Description, Ref: sc.Ref, Cron: sc.Cron, CronTimezone: sc.CronTimezone,
		NextRunAt: utc(sc.NextRunAt), Active: sc.Active, CreatedAt: utc(&sc.CreatedAt), UpdatedAt: utc(&sc.UpdatedAt),
		InactiveReason: sc.InactiveReason}
	if u, err := s.Store.UserByID(r.Context(), sc.OwnerID); err == nil {
		e.Owner = s.user(s.viewer(r), u)
	}
	if sc.LastPipelineID != 0 {
		if pl, err := s.Store.PipelineByID(r.Context(), sc.LastPipelineID); err == nil && pl.ProjectID == proj.ID {
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

// scheduleIn resolves :schedule_id within proj and, for abilities on one
// schedule, asks the policy (ownership for UpdatePipelineSchedule).
func (s *Server) scheduleIn(r *http.Request, proj *ci.Project, p *auth.Principal) (*ci.PipelineSchedule, error) {
	id, err := pathID(r, "schedule_id")
	if err != nil {
		return nil, err
	}
	sc, err := s.Store.PipelineScheduleByID(r.Context(), id)
	if ci.IsNotFound(err) || (err == nil && sc.ProjectID != proj.ID) {
		return nil, ci.Errorf(ci.KindNotFound, "404 Pipeline Schedule Not Found")
	}
	if err != nil {
		return nil, err
	}
	if err := s.Policy.PipelineSchedule(r.Context(), p, routeAbility(r), proj, sc); err != nil {
		return nil, err
	}
	return sc, nil
}

func (s *Server) listSchedules(w http.ResponseWriter, r *http.Request) error {
	proj, _, err := s.projectFor(r)
	if err != nil {
		return err
	}
	q, err := httpx.ReadParams(r)
	if err != nil {
		return err
	}
	var active *bool
	switch scope := q.Get("scope"); scope {
	case "":
	case "active", "inactive":
		on := scope == "active"
		active = &on
	default:
		return ci.Errorf(ci.KindInvalid, "400 Bad request - scope does not have a valid value")
	}
	scs, err := s.Store.ListPipelineSchedules(r.Context(), proj.ID, active)
	if err != nil {
		return err
	}
	out := make([]scheduleEntity, 0, len(scs))
	for _, sc := range scs {
		out = append(out, s.schedule(r, proj, sc, false))
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getSchedule(w http.ResponseWriter, r *http.Request) error {
	proj, p, err := s.projectFor(r)
	if err != nil {
		return err
	}
	sc, err := s.scheduleIn(r, proj, p)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, s.schedule(r, proj, sc, true))
	return nil
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

func (s *Server) createSchedule(w http.ResponseWriter, r *http.Request) error {
	proj, p, err := s.projectFor(r)
	if err != nil {
		return err
	}
	q, err := httpx.ReadParams(r)
	if err != nil {
		return err
	}
	sc := &ci.PipelineSchedule{ProjectID: proj.ID, OwnerID: p.UserID(), Active: true}
	if err := applySchedule(q, sc, true); err != nil {
		return err
	}
	lim := s.Automation.withDefaults()
	if err := schedule.Prepare(sc, lim.MinScheduleInterval, time.Now()); err != nil {
		return err
	}
	if err := s.Store.CreatePipelineSchedule(r.Context(), sc, lim.MaxSchedules); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, s.schedule(r, proj, sc, true))
	return nil
}

func (s *Server) editSchedule(w http.ResponseWriter, r *http.Request) error {
	proj, p, err := s.projectFor(r)
	if err != nil {
		return err
	}
	sc, err := s.scheduleIn(r, proj, p)
	if err != nil {
		return err
	}
	q, err := httpx.ReadParams(r)
	if err != nil {
		return err
	}
	if err := applySchedule(q, sc, false); err != nil {
		return err
	}
	if err := schedule.Prepare(sc, s.Automation.withDefaults().MinScheduleInterval, time.Now()); err != nil {
		return err
	}
	if err := s.Store.UpdatePipelineSchedule(r.Context(), sc); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, s.schedule(r, proj, sc, true))
	return nil
}

// takeOwnership makes the caller the schedule's owner: its pipelines run
// as the caller from now on.
func (s *Server) takeOwnership(w http.ResponseWriter, r *http.Request) error {
	proj, p, err := s.projectFor(r)
	if err != nil {
		return err
	}
	sc, err := s.scheduleIn(r, proj, p)
	if err != nil {
		return err
	}
	sc.OwnerID = p.UserID()
	if err := s.Store.UpdatePipelineSchedule(r.Context(), sc); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, s.schedule(r, proj, sc, true))
	return nil
}

func (s *Server) deleteSchedule(w http.ResponseWriter, r *http.Request) error {
	proj, p, err := s.projectFor(r)
	if err != nil {
		return err
	}
	sc, err := s.scheduleIn(r, proj, p)
	if err != nil {
		return err
	}
	if err := s.Store.DeletePipelineSchedule(r.Context(), proj.ID, sc.ID); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusAccepted, s.schedule(r, proj, sc, true))
	return nil
}

// playSchedule runs the schedule now, as the caller, leaving its next
// run where it is (GitLab's play).
func (s *Server) playSchedule(w http.ResponseWriter, r *http.Request) error {
	proj, p, err := s.projectFor(r)
	if err != nil {
		return err
	}
	sc, err := s.scheduleIn(r, proj, p)
	if err != nil {
		return err
	}
	pl, err := s.Planner.Create(r.Context(), ci.PipelineRequest{Project: proj, Ref: sc.Ref, Source: ci.SourceSchedule,
		UserID: p.UserID(), Variables: sc.Variables})
	if err != nil {
		if writePlanError(w, err) {
			return nil
		}
		return err
	}
	if err := s.Store.SetPipelineScheduleLastPipeline(r.Context(), sc.ID, pl.ID); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, map[string]string{"message": "201 Created"})
	return nil
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

func (s *Server) scheduleVariableChange(w http.ResponseWriter, r *http.Request, status int,
	change func(sc *ci.PipelineSchedule, v ci.Variable) (ci.Variable, error)) error {
	proj, p, err := s.projectFor(r)
	if err != nil {
		return err
	}
	sc, err := s.scheduleIn(r, proj, p)
	if err != nil {
		return err
	}
	q, err := httpx.ReadParams(r)
	if err != nil {
		return err
	}
	v := ci.Variable{Key: r.PathValue("key")}
	if r.Method != http.MethodDelete {
		if v, err = s.scheduleVariable(r, q); err != nil {
			return err
		}
		// As for pipeline variables: the project's minimum role decides.
		if err := s.Policy.PipelineVariables(r.Context(), p, proj); err != nil {
			return err
		}
	}
	out, err := change(sc, v)
	if err != nil {
		if ci.IsNotFound(err) {
			return ci.Errorf(ci.KindNotFound, "404 Pipeline Schedule Variable Not Found")
		}
		return err
	}
	httpx.WriteJSON(w, status, scheduleVariableJSON(out))
	return nil
}

func (s *Server) createScheduleVariable(w http.ResponseWriter, r *http.Request) error {
	return s.scheduleVariableChange(w, r, http.StatusCreated, func(sc *ci.PipelineSchedule, v ci.Variable) (ci.Variable, error) {
		return v, s.Store.CreatePipelineScheduleVariable(r.Context(), sc.ID, v, s.Automation.withDefaults().MaxVariables)
	})
}

func (s *Server) editScheduleVariable(w http.ResponseWriter, r *http.Request) error {
	return s.scheduleVariableChange(w, r, http.StatusOK, func(sc *ci.PipelineSchedule, v ci.Variable) (ci.Variable, error) {
		return v, s.Store.UpdatePipelineScheduleVariable(r.Context(), sc.ID, v)
	})
}

func (s *Server) deleteScheduleVariable(w http.ResponseWriter, r *http.Request) error {
	return s.scheduleVariableChange(w, r, http.StatusAccepted, func(sc *ci.PipelineSchedule, v ci.Variable) (ci.Variable, error) {
		old, err := s.Store.DeletePipelineScheduleVariable(r.Context(), sc.ID, v.Key)
		if err != nil {
			return v, err
		}
		return *old, nil
	})
}
