package web

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/hooks"
	"github.com/batonci/baton/internal/policy"
	"github.com/batonci/baton/internal/schedule"
)

// Automation is what the schedules and webhooks pages need: the same
// bounds as the API, the planner for "Run now", the webhook tester.
type Automation struct {
	MaxSchedules        int
	MinScheduleInterval time.Duration
	MaxHooks            int
	AllowLocalHooks     bool
	CreatePipeline      func(ctx context.Context, req ci.PipelineRequest) (*ci.Pipeline, error)
	TestHook            func(ctx context.Context, proj *ci.Project, h *ci.ProjectHook, trigger string) (*ci.HookDelivery, error)
}

// scheduleRow is one schedule as the page shows it.
type scheduleRow struct {
	S         *ci.PipelineSchedule
	Owner     string
	CanChange bool
}

// schedulesPage is /<project>/-/pipeline_schedules: the list, with Run
// and Edit for those who may, and the form for a new one.
func (s *Server) schedulesPage(c *req, problem string, form map[string]string) error {
	scs, err := s.Store.ListPipelineSchedules(c.r.Context(), c.proj.ID, nil)
	if err != nil {
		return err
	}
	var rows []scheduleRow
	owners := map[int64]string{} // one lookup per owner, not per schedule
	for _, sc := range scs {
		row := scheduleRow{S: sc, CanChange: s.Policy.PipelineSchedule(c.r.Context(), c.p, policy.UpdatePipelineSchedule, c.proj, sc) == nil && c.sess != nil}
		name, ok := owners[sc.OwnerID]
		if !ok {
			if u, err := s.Store.UserByID(c.r.Context(), sc.OwnerID); err == nil {
				name = u.Username
			}
			owners[sc.OwnerID] = name
		}
		row.Owner = name
		rows = append(rows, row)
	}
	if form == nil {
		form = map[string]string{"ref": c.proj.DefaultBranch, "cron_timezone": "UTC", "active": "true"}
	}
	status := http.StatusOK
	if problem != "" {
		status = http.StatusUnprocessableEntity
	}
	return s.render(c, status, "schedules", "Pipeline schedules · "+c.proj.FullPath, map[string]any{
		"Schedules": rows, "Form": form, "Problem": problem, "CanCreate": s.can(c, policy.CreatePipelineSchedule),
		"CanPlay": s.can(c, policy.PlayPipelineSchedule), "Edit": c.r.URL.Query().Get("edit")})
}

func scheduleForm(c *req) map[string]string {
	f := c.r.PostForm
	form := map[string]string{}
	for _, k := range []string{"description", "ref", "cron", "cron_timezone"} {
		form[k] = strings.TrimSpace(f.Get(k))
	}
	form["active"] = strconv.FormatBool(f.Get("active") == "true")
	return form
}

// saveSchedule creates a schedule (id "") or changes one, with the API's
// checks and bounds.
func (s *Server) saveSchedule(c *req, id string) error {
	if err := s.checkCSRF(c); err != nil {
		return err
	}
	form := scheduleForm(c)
	sc := &ci.PipelineSchedule{ProjectID: c.proj.ID, OwnerID: c.p.UserID()}
	if id != "" {
		var err error
		if sc, err = s.scheduleOf(c, id); err != nil {
			return err
		}
	}
	sc.Description, sc.Ref, sc.Cron, sc.CronTimezone, sc.Active = form["description"], form["ref"], form["cron"], form["cron_timezone"], form["active"] == "true"
	if err := schedule.Prepare(sc, s.Automation.MinScheduleInterval, time.Now()); err != nil {
		return s.schedulesPage(c, strings.TrimPrefix(ci.MessageOf(err), "400 Bad request - "), form)
	}
	var err error
	if id == "" {
		err = s.Store.CreatePipelineSchedule(c.r.Context(), sc, max(s.Automation.MaxSchedules, 1))
	} else {
		err = s.Store.UpdatePipelineSchedule(c.r.Context(), sc)
	}
	if ci.KindOf(err) == ci.KindInvalid {
		return s.schedulesPage(c, strings.TrimPrefix(ci.MessageOf(err), "400 Bad request - "), form)
	}
	if err != nil {
		return err
	}
	http.Redirect(c.w, c.r, "/"+c.proj.FullPath+"/-/pipeline_schedules", http.StatusSeeOther)
	return nil
}

// scheduleOf loads a schedule of the project and asks the policy for the
// route's ability on it (ownership for UpdatePipelineSchedule).
func (s *Server) scheduleOf(c *req, raw string) (*ci.PipelineSchedule, error) {
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return nil, notFound()
	}
	sc, err := s.Store.PipelineScheduleByID(c.r.Context(), id)
	if ci.IsNotFound(err) || (err == nil && sc.ProjectID != c.proj.ID) {
		return nil, notFound()
	}
	if err != nil {
		return nil, err
	}
	if err := s.Policy.PipelineSchedule(c.r.Context(), c.p, c.ability, c.proj, sc); err != nil {
		return nil, err
	}
	return sc, nil
}

// playSchedule runs a schedule now, as the caller.
func (s *Server) playSchedule(c *req, id string) error {
	if err := s.checkCSRF(c); err != nil {
		return err
	}
	sc, err := s.scheduleOf(c, id)
	if err != nil {
		return err
	}
	pl, err := s.Automation.CreatePipeline(c.r.Context(), ci.PipelineRequest{Project: c.proj, Ref: sc.Ref,
		Source: ci.SourceSchedule, UserID: c.p.UserID(), Variables: sc.Variables})
	if ci.KindOf(err) == ci.KindInvalid {
		return s.schedulesPage(c, ci.MessageOf(err), nil)
	}
	if err != nil {
		return err
	}
	_ = s.Store.SetPipelineScheduleLastPipeline(c.r.Context(), sc.ID, pl.ID)
	http.Redirect(c.w, c.r, "/"+c.proj.FullPath+"/-/pipelines/"+strconv.FormatInt(pl.ID, 10), http.StatusSeeOther)
	return nil
}

// hookRow is one hook with its recent deliveries.
type hookRow struct {
	H          *ci.ProjectHook
	Deliveries []*ci.HookDelivery
}

// hooksPage is /<project>/-/hooks: the hooks, their recent deliveries,
// Test buttons and the form for a new one (Maintainers).
func (s *Server) hooksPage(c *req, problem string) error {
	hs, err := s.Store.ListProjectHooks(c.r.Context(), c.proj.ID)
	if err != nil {
		return err
	}
	var rows []hookRow
	for _, h := range hs {
		ds, _, err := s.Store.ListHookDeliveries(c.r.Context(), h.ID, ci.Page{Page: 1, PerPage: 10})
		if err != nil {
			return err
		}
		rows = append(rows, hookRow{H: h, Deliveries: ds})
	}
	status := http.StatusOK
	if problem != "" {
		status = http.StatusUnprocessableEntity
	}
	return s.render(c, status, "hooks", "Webhooks · "+c.proj.FullPath, map[string]any{
		"Hooks": rows, "Problem": problem, "CanAdmin": s.can(c, policy.AdminHooks),
		"Triggers": []string{ci.HookPush, ci.HookTagPush, ci.HookPipeline, ci.HookJob}})
}

// hookFields reads the hook form into h; problem says what is wrong. An
// empty token on an edit keeps the stored one unless clear_token is set.
func (s *Server) hookFields(c *req, h *ci.ProjectHook, edit bool) (problem string) {
	f := c.r.PostForm
	u := strings.TrimSpace(f.Get("url"))
	if err := hooks.CheckURL(u, s.Automation.AllowLocalHooks); err != nil {
		return strings.TrimPrefix(ci.MessageOf(err), "400 Bad request - ")
	}
	if len(f.Get("token")) > ci.MaxHookField || len(f.Get("push_events_branch_filter")) > ci.MaxHookField {
		return fmt.Sprintf("The token and the branch filter may be at most %d bytes.", ci.MaxHookField)
	}
	h.URL = u
	if tok := f.Get("token"); tok != "" || !edit || f.Get("clear_token") == "true" {
		h.Token = tok
	}
	h.PushEvents, h.TagPushEvents = f.Get(ci.HookPush) == "true", f.Get(ci.HookTagPush) == "true"
	h.PipelineEvents, h.JobEvents = f.Get(ci.HookPipeline) == "true", f.Get(ci.HookJob) == "true"
	h.EnableSSLVerification = f.Get("enable_ssl_verification") == "true"
	h.PushEventsBranchFilter = strings.TrimSpace(f.Get("push_events_branch_filter"))
	return ""
}

func (s *Server) createHook(c *req) error {
	if err := s.checkCSRF(c); err != nil {
		return err
	}
	h := &ci.ProjectHook{ProjectID: c.proj.ID}
	if problem := s.hookFields(c, h, false); problem != "" {
		return s.hooksPage(c, problem)
	}
	err := s.Store.CreateProjectHook(c.r.Context(), h, max(s.Automation.MaxHooks, 1))
	if ci.KindOf(err) == ci.KindInvalid {
		return s.hooksPage(c, strings.TrimPrefix(ci.MessageOf(err), "400 Bad request - "))
	}
	if err != nil {
		return err
	}
	http.Redirect(c.w, c.r, "/"+c.proj.FullPath+"/-/hooks", http.StatusSeeOther)
	return nil
}

// editHookPage is /<project>/-/hooks/:id/edit: the hook's settings in a
// form (the token is never shown) and its recent deliveries.
func (s *Server) editHookPage(c *req, id, problem string, form *ci.ProjectHook) error {
	h, err := s.hookOf(c, id)
	if err != nil {
		return err
	}
	ds, _, err := s.Store.ListHookDeliveries(c.r.Context(), h.ID, ci.Page{Page: 1, PerPage: 20})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if problem != "" {
		status = http.StatusUnprocessableEntity
	}
	if form == nil {
		form = h
	}
	shown := *form
	shown.Token = ""
	return s.render(c, status, "hook_edit", "Edit webhook · "+c.proj.FullPath, map[string]any{
		"Hook": &shown, "HasToken": h.Token != "", "Deliveries": ds, "Problem": problem,
		"Triggers": []string{ci.HookPush, ci.HookTagPush, ci.HookPipeline, ci.HookJob}})
}

// updateHook saves the edit form: the URL (checked as on create), the
// token, the events, the branch filter and SSL verification.
func (s *Server) updateHook(c *req, id string) error {
	if err := s.checkCSRF(c); err != nil {
		return err
	}
	h, err := s.hookOf(c, id)
	if err != nil {
		return err
	}
	changed := *h
	if problem := s.hookFields(c, &changed, true); problem != "" {
		return s.editHookPage(c, id, problem, &changed)
	}
	if err := s.Store.UpdateProjectHook(c.r.Context(), &changed); err != nil {
		if ci.KindOf(err) == ci.KindInvalid {
			return s.editHookPage(c, id, strings.TrimPrefix(ci.MessageOf(err), "400 Bad request - "), &changed)
		}
		return err
	}
	http.Redirect(c.w, c.r, "/"+c.proj.FullPath+"/-/hooks?saved="+strconv.FormatInt(h.ID, 10), http.StatusSeeOther)
	return nil
}

func (s *Server) hookOf(c *req, raw string) (*ci.ProjectHook, error) {
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return nil, notFound()
	}
	h, err := s.Store.ProjectHookByID(c.r.Context(), c.proj.ID, id)
	if ci.IsNotFound(err) {
		return nil, notFound()
	}
	return h, err
}

// hookAction is Test (a test event of the chosen trigger) or Delete.
func (s *Server) hookAction(c *req, id, action string) error {
	if err := s.checkCSRF(c); err != nil {
		return err
	}
	h, err := s.hookOf(c, id)
	if err != nil {
		return err
	}
	switch action {
	case "test":
		if _, err := s.Automation.TestHook(c.r.Context(), c.proj, h, c.r.PostForm.Get("trigger")); err != nil {
			if ci.KindOf(err) == ci.KindInvalid {
				return s.hooksPage(c, strings.TrimPrefix(ci.MessageOf(err), "400 Bad request - "))
			}
			return err
		}
	case "delete":
		if err := s.Store.DeleteProjectHook(c.r.Context(), c.proj.ID, h.ID); err != nil {
			return err
		}
	}
	http.Redirect(c.w, c.r, "/"+c.proj.FullPath+"/-/hooks", http.StatusSeeOther)
	return nil
}
