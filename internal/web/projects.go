package web

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/policy"
)

// projectRow is one line of the project list.
type projectRow struct {
	Project *ci.Project
	Latest  *ci.Pipeline
}

// dashboard is / : the projects the caller can see, with each one's latest pipeline.
func (s *Server) dashboard(c *req) error {
	if c.r.Method != http.MethodGet && c.r.Method != http.MethodHead {
		return notFound()
	}
	page := pageParam(c.r)
	f := ci.ProjectFilter{VisibleTo: c.p.UserID(), All: c.p.Admin(), Search: c.r.URL.Query().Get("search"),
		OrderBy: "updated_at", Page: ci.Page{Page: page, PerPage: 20}}
	projs, total, err := s.Store.ListProjects(c.r.Context(), f)
	if err != nil {
		return err
	}
	rows := make([]projectRow, 0, len(projs))
	for _, p := range projs {
		pls, _, err := s.Store.ListPipelines(c.r.Context(), ci.PipelineFilter{ProjectID: p.ID, Page: ci.Page{Page: 1, PerPage: 1}})
		if err != nil {
			return err
		}
		row := projectRow{Project: p}
		if len(pls) > 0 {
			row.Latest = pls[0]
		}
		rows = append(rows, row)
	}
	return s.render(c, http.StatusOK, "projects", "Projects", map[string]any{
		"Rows": rows, "Search": f.Search, "Pager": newPager(c.r, page, 20, total)})
}

func pageParam(r *http.Request) int {
	n, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || n < 1 {
		return 1
	}
	return n
}

// pager links the previous and next pages of a list, keeping other parameters.
type pager struct {
	Page, Pages int
	Prev, Next  string
}

func newPager(r *http.Request, page, per, total int) pager {
	pg := pager{Page: page, Pages: (total + per - 1) / per}
	link := func(n int) string {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(n))
		return r.URL.Path + "?" + q.Encode()
	}
	if page > 1 {
		pg.Prev = link(page - 1)
	}
	if page < pg.Pages {
		pg.Next = link(page + 1)
	}
	return pg
}

var projectPathRe = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,99}$`)

func (s *Server) newProjectPage(c *req, problem string, form map[string]string) error {
	if c.sess == nil {
		return ci.Errorf(ci.KindUnauthorized, "401 Unauthorized")
	}
	status := http.StatusOK
	if problem != "" {
		status = http.StatusUnprocessableEntity
	}
	if form == nil {
		form = map[string]string{"visibility": "private"}
	}
	return s.render(c, status, "project_new", "New project", map[string]any{"Problem": problem, "Form": form})
}

// createProject creates a project in the caller's personal namespace.
func (s *Server) createProject(c *req) error {
	if err := s.checkCSRF(c); err != nil {
		return err
	}
	if err := s.requireInstance(c); err != nil { // the route's CreateProject: a token with the api scope
		return err
	}
	f := c.r.PostForm
	form := map[string]string{"name": strings.TrimSpace(f.Get("name")), "path": strings.TrimSpace(f.Get("path")),
		"description": f.Get("description"), "visibility": f.Get("visibility")}
	if form["path"] == "" {
		form["path"] = ci.PathFromName(form["name"])
	}
	if form["name"] == "" {
		form["name"] = form["path"]
	}
	vis := ci.Visibility(form["visibility"])
	switch {
	case form["path"] == "":
		return s.newProjectPage(c, "Give the project a name.", form)
	case !projectPathRe.MatchString(form["path"]) || strings.HasSuffix(form["path"], ".git"):
		return s.newProjectPage(c, "The path may contain letters, digits, '_', '-' and '.', and must not end in .git.", form)
	case vis != ci.VisibilityPrivate && vis != ci.VisibilityInternal && vis != ci.VisibilityPublic:
		return s.newProjectPage(c, "Choose a visibility.", form)
	}
	ns, err := s.Store.NamespaceOfUser(c.r.Context(), c.p.User.ID)
	if err != nil {
		return err
	}
	proj := &ci.Project{NamespaceID: ns.ID, Name: form["name"], Path: form["path"], Description: form["description"],
		Visibility: vis, CreatorID: c.p.User.ID, CIConfigPath: ".gitlab-ci.yml"}
	if err := s.Store.CreateProject(c.r.Context(), proj); err != nil {
		if ci.IsConflict(err) {
			return s.newProjectPage(c, "You already have a project at "+ns.FullPath+"/"+form["path"]+".", form)
		}
		return err
	}
	if err := s.Repos.Create(c.r.Context(), proj.ID); err != nil {
		_ = s.Store.DeleteProject(c.r.Context(), proj.ID)
		return err
	}
	http.Redirect(c.w, c.r, "/"+proj.FullPath, http.StatusSeeOther)
	return nil
}

// projectPage shows the clone URL, recent pipelines and the runners that may run its jobs.
func (s *Server) projectPage(c *req) error {
	ctx := c.r.Context()
	var (
		pls     []*ci.Pipeline
		total   int
		runners []*ci.Runner
		err     error
	)
	if s.can(c, policy.ReadPipeline) {
		if pls, total, err = s.Store.ListPipelines(ctx, ci.PipelineFilter{ProjectID: c.proj.ID, Page: ci.Page{Page: 1, PerPage: 10}}); err != nil {
			return err
		}
	}
	if s.onProject(c, policy.AdminProjectRunners) == nil {
		if runners, _, err = s.Store.ListRunners(ctx, ci.RunnerFilter{ProjectID: c.proj.ID, Page: ci.Page{Page: 1, PerPage: 50}}); err != nil {
			return err
		}
	}
	return s.render(c, http.StatusOK, "project", c.proj.FullPath, map[string]any{
		"CloneURL":  s.ExternalURL + "/" + c.proj.FullPath + ".git",
		"Pipelines": s.pipelineRows(pls), "Total": total,
		"Runners": s.runnerRows(runners), "CanAdmin": s.can(c, policy.AdminProject),
		"CanLint": s.can(c, policy.CreatePipeline), "CanEnvironments": s.can(c, policy.ReadEnvironment),
		"CanReleases": s.can(c, policy.ReadRelease),
	})
}
