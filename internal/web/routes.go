package web

import (
	"net/http"
	"strings"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/httpx"
	"github.com/batonci/baton/internal/policy"
)

// route is one line of a route table: the method (GET serves HEAD too), the
// path below the table's mount, the ability the caller needs (or a marker
// saying why none is asked), the most body bytes it reads, and the handler,
// which gets the part of the path the pattern's one {wildcard} matched (the
// whole path when the pattern has none).
//
// A pattern is literal text with at most one {name} or {name...}: it
// matches a path that starts with the text before it and ends with the
// text after it, the wildcard taking what is between (slashes included).
//
// Project abilities are asked by dispatch before the handler runs (the
// pipeline and job tables load their resource only then); instance
// abilities and the /-/ui endpoints' project abilities are asked by the
// handler (requireInstance, requireView), which reads the route's from c.
type route[T any] struct {
	method  string
	pattern string
	ability policy.Ability
	body    int64
	serve   func(s *Server, c *req, t T, arg string) error
}

const small = httpx.SmallBody

// match reports whether rest matches the route's pattern, and the wildcard's part.
func (rt *route[T]) match(rest string) (string, bool) {
	i := strings.IndexByte(rt.pattern, '{')
	if i < 0 {
		return rest, rest == rt.pattern
	}
	j := strings.IndexByte(rt.pattern[i:], '}') + i
	before, after := rt.pattern[:i], rt.pattern[j+1:]
	if len(rest) < len(before)+len(after) || !strings.HasPrefix(rest, before) || !strings.HasSuffix(rest, after) {
		return "", false
	}
	return rest[len(before) : len(rest)-len(after)], true
}

// globalRouteTable is every route outside a project: the dashboard at /
// and the instance-wide pages under /-/. Patterns are the path without its
// leading slash.
var globalRouteTable = []route[struct{}]{
	{"GET", "", policy.Public, small, func(s *Server, c *req, _ struct{}, _ string) error { return s.dashboard(c) }},
	{"GET", "-/static/{file...}", policy.Public, small, func(s *Server, c *req, _ struct{}, f string) error { return s.static(c, f) }},
	{"GET", "-/sign_in", policy.Public, small, func(s *Server, c *req, _ struct{}, _ string) error { return s.signInPage(c, "") }},
	{"POST", "-/sign_in", policy.Public, small, func(s *Server, c *req, _ struct{}, _ string) error { return s.signIn(c) }},
	{"POST", "-/sign_out", policy.SignedIn, small, func(s *Server, c *req, _ struct{}, _ string) error { return s.signOut(c) }},
	{"GET", "-/projects/new", policy.SignedIn, small, func(s *Server, c *req, _ struct{}, _ string) error { return s.newProjectPage(c, "", nil) }},
	{"POST", "-/projects", policy.CreateProject, small, func(s *Server, c *req, _ struct{}, _ string) error { return s.createProject(c) }},
	{"GET", "-/runners", policy.ReadAdmin, small, func(s *Server, c *req, _ struct{}, _ string) error { return s.runnersPage(c, "") }},
	{"POST", "-/runners", policy.AdminInstance, small, func(s *Server, c *req, _ struct{}, _ string) error { return s.createRunner(c) }},
	{"POST", "-/runners/{id}/pause", policy.AdminInstance, small, func(s *Server, c *req, _ struct{}, id string) error { return s.toggleRunner(c, id) }},
	{"GET", "-/admin", policy.AdminInstance, small, func(s *Server, c *req, _ struct{}, _ string) error { return s.adminPage(c) }},
	{"GET", "-/user/sessions", policy.SignedIn, small, func(s *Server, c *req, _ struct{}, _ string) error { return s.sessionsPage(c) }},
	{"POST", "-/user/sessions/{id}/revoke", policy.SignedIn, small, func(s *Server, c *req, _ struct{}, id string) error { return s.revokeSession(c, id) }},
	{"GET", "-/admin/ci_cd", policy.ReadInstanceVariables, small, varRoute(instanceVars, showVariables)},
	{"POST", "-/admin/ci_cd/variables", policy.AdminInstanceVariables, small, varRoute(instanceVars, createVariable)},
	{"POST", "-/admin/ci_cd/variables/update", policy.AdminInstanceVariables, small, varRoute(instanceVars, updateVariable)},
	{"POST", "-/admin/ci_cd/variables/delete", policy.AdminInstanceVariables, small, varRoute(instanceVars, (*Server).deleteVariable)},
	{"GET", "-/groups/{group...}/settings/ci_cd", policy.ReadGroupVariables, small, varRoute((*Server).groupVars, showVariables)},
	{"POST", "-/groups/{group...}/settings/ci_cd/variables", policy.AdminGroupVariables, small, varRoute((*Server).groupVars, createVariable)},
	{"POST", "-/groups/{group...}/settings/ci_cd/variables/update", policy.AdminGroupVariables, small, varRoute((*Server).groupVars, updateVariable)},
	{"POST", "-/groups/{group...}/settings/ci_cd/variables/delete", policy.AdminGroupVariables, small, varRoute((*Server).groupVars, (*Server).deleteVariable)},
	{"GET", "-/ui/pipelines/{id}.json", policy.ReadPipeline, small, func(s *Server, c *req, _ struct{}, id string) error { return s.pipelineJSON(c, id) }},
	{"GET", "-/ui/jobs/{id}/trace.json", policy.ReadLog, small, func(s *Server, c *req, _ struct{}, id string) error { return s.traceJSON(c, id) }},
	{"GET", "-/ui/pipelines/{id}/events", policy.ReadPipeline, small, func(s *Server, c *req, _ struct{}, id string) error { return s.pipelineEvents(c, id) }},
	{"GET", "-/ui/jobs/{id}/trace/events", policy.ReadLog, small, func(s *Server, c *req, _ struct{}, id string) error { return s.traceEvents(c, id) }},
}

// projectRouteTable is every route of a project itself, below
// /<namespace>/<project>/-/ (the project page is the empty path). The
// pipeline and job tables serve pipelines/:id/... and jobs/:id/....
var projectRouteTable = []route[struct{}]{
	{"GET", "", policy.ReadProject, small, func(s *Server, c *req, _ struct{}, _ string) error { return s.projectPage(c) }},
	{"GET", "pipelines", policy.ReadPipeline, small, func(s *Server, c *req, _ struct{}, _ string) error { return s.pipelinesPage(c) }},
	{"GET", "jobs/artifacts/{ref...}", policy.ReadArtifact, small, func(s *Server, c *req, _ struct{}, rest string) error { return s.refArtifact(c, rest) }},
	{"GET", "settings", policy.AdminProject, small, func(s *Server, c *req, _ struct{}, _ string) error { return s.settingsPage(c, "", nil) }},
	{"POST", "settings", policy.AdminProject, small, func(s *Server, c *req, _ struct{}, _ string) error { return s.saveSettings(c) }},
	{"GET", "ci/lint", policy.CreatePipeline, small, func(s *Server, c *req, _ struct{}, _ string) error { return s.lintPage(c) }},
	{"POST", "ci/lint", policy.CreatePipeline, lintBody, func(s *Server, c *req, _ struct{}, _ string) error { return s.lint(c) }},
	{"POST", "settings/protected_branches", policy.AdminProtectedRefs, small, func(s *Server, c *req, _ struct{}, _ string) error { return s.protectBranch(c) }},
	{"POST", "settings/protected_branches/delete", policy.AdminProtectedRefs, small, func(s *Server, c *req, _ struct{}, _ string) error { return s.unprotectBranch(c) }},
	{"GET", "settings/ci_cd", policy.ReadVariables, small, varRoute(projectVars, showVariables)},
	{"POST", "settings/ci_cd/variables", policy.AdminVariables, small, varRoute(projectVars, createVariable)},
	{"POST", "settings/ci_cd/variables/update", policy.AdminVariables, small, varRoute(projectVars, updateVariable)},
	{"POST", "settings/ci_cd/variables/delete", policy.AdminVariables, small, varRoute(projectVars, (*Server).deleteVariable)},
	{"POST", "settings/protected_tags", policy.AdminProtectedRefs, small, func(s *Server, c *req, _ struct{}, _ string) error { return s.protectTag(c) }},
	{"POST", "settings/protected_tags/delete", policy.AdminProtectedRefs, small, func(s *Server, c *req, _ struct{}, _ string) error { return s.unprotectTag(c) }},
	{"GET", "pipeline_schedules", policy.ReadPipelineSchedules, small, func(s *Server, c *req, _ struct{}, _ string) error { return s.schedulesPage(c, "", nil) }},
	{"POST", "pipeline_schedules", policy.CreatePipelineSchedule, small, func(s *Server, c *req, _ struct{}, _ string) error { return s.saveSchedule(c, "") }},
	{"POST", "pipeline_schedules/{id}/play", policy.PlayPipelineSchedule, small, func(s *Server, c *req, _ struct{}, id string) error { return s.playSchedule(c, id) }},
	{"POST", "pipeline_schedules/{id}", policy.UpdatePipelineSchedule, small, func(s *Server, c *req, _ struct{}, id string) error { return s.saveSchedule(c, id) }},
	{"GET", "environments", policy.ReadEnvironment, small, func(s *Server, c *req, _ struct{}, _ string) error { return s.environmentsPage(c) }},
	{"POST", "environments/{id}/stop", policy.StopEnvironment, small, func(s *Server, c *req, _ struct{}, id string) error { return s.stopEnvironment(c, id) }},
	{"GET", "releases", policy.ReadRelease, small, func(s *Server, c *req, _ struct{}, _ string) error { return s.releasesPage(c) }},
	{"GET", "releases/{rest...}", policy.ReadRelease, small, func(s *Server, c *req, _ struct{}, rest string) error { return s.releaseDownload(c, rest) }},
	{"GET", "hooks", policy.ReadHooks, small, func(s *Server, c *req, _ struct{}, _ string) error { return s.hooksPage(c, "") }},
	{"POST", "hooks", policy.AdminHooks, small, func(s *Server, c *req, _ struct{}, _ string) error { return s.createHook(c) }},
	{"POST", "hooks/{id}/test", policy.AdminHooks, small, func(s *Server, c *req, _ struct{}, id string) error { return s.hookAction(c, id, "test") }},
	{"GET", "hooks/{id}/edit", policy.AdminHooks, small, func(s *Server, c *req, _ struct{}, id string) error { return s.editHookPage(c, id, "", nil) }},
	{"POST", "hooks/{id}/edit", policy.AdminHooks, small, func(s *Server, c *req, _ struct{}, id string) error { return s.updateHook(c, id) }},
	{"POST", "hooks/{id}/delete", policy.AdminHooks, small, func(s *Server, c *req, _ struct{}, id string) error { return s.hookAction(c, id, "delete") }},
	{"GET", "artifact_tokens", policy.ReadArtifactTokens, small, func(s *Server, c *req, _ struct{}, _ string) error { return s.artifactTokensPage(c) }},
	{"POST", "artifact_tokens/{id}/revoke", policy.AdminArtifactTokens, small, func(s *Server, c *req, _ struct{}, id string) error { return s.revokeArtifactToken(c, id) }},
}

// pipelineRouteTable is every route under /<project>/-/pipelines/:id.
var pipelineRouteTable = []route[*ci.Pipeline]{
	{"GET", "", policy.ReadPipeline, small, func(s *Server, c *req, pl *ci.Pipeline, _ string) error { return s.pipelinePage(c, pl) }},
	{"GET", "test_report", policy.ReadJob, small, func(s *Server, c *req, pl *ci.Pipeline, _ string) error { return s.testReportPage(c, pl) }},
	{"POST", "cancel", policy.UpdatePipeline, small, (*Server).pipelineAction},
	{"POST", "retry", policy.UpdatePipeline, small, (*Server).pipelineAction},
	{"GET", "artifacts/download", policy.ReadArtifact, small, func(s *Server, c *req, pl *ci.Pipeline, _ string) error { return s.pipelineArtifact(c, pl, "") }},
	{"GET", "artifacts/raw/{path...}", policy.ReadArtifact, small, (*Server).pipelineArtifact},
}

// jobRouteTable is every route under /<project>/-/jobs/:id.
var jobRouteTable = []route[*ci.Job]{
	{"GET", "", policy.ReadJob, small, func(s *Server, c *req, j *ci.Job, _ string) error { return s.jobPage(c, j) }},
	{"GET", "raw", policy.ReadLog, small, func(s *Server, c *req, j *ci.Job, _ string) error { return s.rawTrace(c, j) }},
	{"POST", "cancel", policy.UpdateJob, small, (*Server).jobAction},
	{"POST", "retry", policy.UpdateJob, small, (*Server).jobAction},
	{"POST", "play", policy.UpdateJob, small, (*Server).jobAction},
	{"POST", "unschedule", policy.UpdateJob, small, (*Server).jobAction},
	{"GET", "artifacts/download", policy.ReadArtifact, small, func(s *Server, c *req, j *ci.Job, _ string) error { return s.jobArchive(c, j) }},
	{"GET", "artifacts/raw/{path...}", policy.ReadArtifact, small, (*Server).jobRaw},
	{"GET", "artifacts/browse", policy.ReadArtifact, small, func(s *Server, c *req, j *ci.Job, _ string) error { return s.browsePage(c, j, "") }},
	{"GET", "artifacts/browse/{dir...}", policy.ReadArtifact, small, (*Server).browsePage},
	{"GET", "artifacts/file/{path...}", policy.ReadArtifact, small, (*Server).previewPage},
	{"POST", "artifacts/keep", policy.KeepArtifacts, small, func(s *Server, c *req, j *ci.Job, _ string) error { return s.artifactAction(c, j, "keep") }},
	{"POST", "artifacts/delete", policy.DeleteArtifacts, small, func(s *Server, c *req, j *ci.Job, _ string) error { return s.artifactAction(c, j, "delete") }},
}

// find is the route of table that serves method and rest.
func find[T any](table []route[T], method, rest string) (*route[T], string) {
	if method == http.MethodHead {
		method = http.MethodGet
	}
	for i := range table {
		rt := &table[i]
		if rt.method != method {
			continue
		}
		if arg, ok := rt.match(rest); ok {
			return rt, arg
		}
	}
	return nil, ""
}

// serve runs rt for c: it bounds the body to the route's limit, puts the
// route's ability where the handler's checks read it, asks the policy for
// a project ability when c has the project, and loads the route's resource
// only then.
func serve[T any](s *Server, c *req, rt *route[T], arg string, load func() (T, error)) error {
	if rt.body >= 0 && c.r.Body != nil && c.r.Body != http.NoBody {
		if err := tooLarge(c.r, rt.body); err != nil {
			return err
		}
		c.r.Body = http.MaxBytesReader(c.w, c.r.Body, rt.body)
	}
	c.ability = rt.ability
	if c.proj != nil && rt.ability.Resource() == policy.ResourceProject && !(rt.ability == policy.ReadProject && c.frame) {
		if err := s.allow(c, rt.ability); err != nil {
			return err
		}
	}
	t, err := load()
	if err != nil {
		return err
	}
	return rt.serve(s, c, t, arg)
}

func none() (struct{}, error) { return struct{}{}, nil }

// maxRouteBody is the largest body any route reads (the CI lint form's).
var maxRouteBody = func() int64 {
	var n int64
	for _, rt := range Routes() {
		n = max(n, rt.Body)
	}
	return n
}()

// tooLarge refuses, unread, a body that says it is longer than max.
func tooLarge(r *http.Request, max int64) error {
	if r.ContentLength > max {
		return ci.Errorf(ci.KindTooLarge, "413 Request Entity Too Large: forms may hold at most %d KiB", max>>10)
	}
	return nil
}

// globalRoutes serves / and /-/... by globalRouteTable.
func (s *Server) globalRoutes(c *req) error {
	rt, arg := find(globalRouteTable, c.r.Method, strings.TrimPrefix(c.r.URL.Path, "/"))
	if rt == nil {
		return notFound()
	}
	return serve(s, c, rt, arg, none)
}

// projectRoutes serves /<namespace>/<project>[/-/<rest>].
func (s *Server) projectRoutes(c *req) error {
	if cands, rt, ok := badgeRoute(c.r.URL.Path); ok && (c.r.Method == http.MethodGet || c.r.Method == http.MethodHead) {
		err := s.serveBadge(c, cands, rt)
		if err == errBadgeNotFound {
			// An image, not a page: the same bytes for every missing or
			// private badge, whatever its path.
			http.Error(c.w, "404 Not Found", http.StatusNotFound)
			return nil
		}
		return err
	}
	full, rest, _ := strings.Cut(strings.Trim(c.r.URL.Path, "/"), "/-/")
	if !strings.Contains(full, "/") {
		return notFound()
	}
	// Before the project lookup, so that a wrong token is 401 whether or
	// not the project exists.
	if (c.r.Method == http.MethodGet || c.r.Method == http.MethodHead) && artifactDownload(rest) {
		if err := s.artifactAuth(c); err != nil {
			return err
		}
	}
	if err := s.lookupProject(c, full); err != nil {
		return err
	}
	// The page frame shows the project only to those who may see it, so
	// that a private project's 404 is a missing one's, byte for byte.
	if err := s.onProject(c, policy.ReadProject); err != nil {
		c.proj, c.level = nil, nil // the frame of a missing project
		return err
	}
	c.frame = true
	if rt, arg := find(projectRouteTable, c.r.Method, rest); rt != nil {
		return serve(s, c, rt, arg, none)
	}
	seg := strings.SplitN(rest, "/", 3)
	if len(seg) >= 2 {
		sub := ""
		if len(seg) == 3 {
			sub = seg[2]
		}
		switch seg[0] {
		case "pipelines":
			return dispatch(s, c, pipelineRouteTable, sub, func() (*ci.Pipeline, error) { return s.pipelineOf(c, seg[1]) })
		case "jobs":
			return dispatch(s, c, jobRouteTable, sub, func() (*ci.Job, error) { return s.jobOf(c, seg[1]) })
		}
	}
	return notFound()
}

// lookupProject sets the request's project by its full path (see
// loadProject); a missing one is errProjectNotFound.
func (s *Server) lookupProject(c *req, full string) error {
	err := s.loadProject(c, 0, full)
	if ci.IsNotFound(err) {
		return errProjectNotFound
	}
	return err
}

// loadProject sets the request's project by id, or by full path when id
// is 0, with the caller's membership level in the same query when the
// policy needs it (as the API's projectFor does).
func (s *Server) loadProject(c *req, id int64, full string) error {
	var proj *ci.Project
	var err error
	switch {
	case policy.NeedsMemberLevel(c.p):
		var lvl ci.AccessLevel
		if proj, lvl, err = s.Store.ProjectWithLevel(c.r.Context(), id, full, c.p.User.ID); err == nil {
			c.level = &lvl
		}
	case id != 0:
		proj, err = s.Store.ProjectByID(c.r.Context(), id)
	default:
		proj, err = s.Store.ProjectByFullPath(c.r.Context(), full)
	}
	if err != nil {
		return err
	}
	c.proj = proj
	return nil
}

// dispatch serves rest by table; load resolves the pipeline or job only
// once the route is known and allowed.
func dispatch[T any](s *Server, c *req, table []route[T], rest string, load func() (T, error)) error {
	rt, arg := find(table, c.r.Method, rest)
	if rt == nil {
		return notFound()
	}
	return serve(s, c, rt, arg, load)
}

// Routes describes every route table of the UI, with the paths as they
// are served ({project} stands for a project's full path), for checks
// that walk every surface.
func Routes() []policy.Route {
	var out []policy.Route
	add := func(method, path string, a policy.Ability, body int64) {
		out = append(out, policy.Route{Pattern: method + " " + path, Ability: a, Body: body})
	}
	for _, rt := range globalRouteTable {
		add(rt.method, "/"+rt.pattern, rt.ability, rt.body)
	}
	for _, rt := range projectRouteTable {
		add(rt.method, strings.TrimSuffix("/{project}/-/"+rt.pattern, "/-/"), rt.ability, rt.body)
	}
	for _, rt := range badgeRouteTable {
		add(rt.method, "/{project}/badges/{ref}/"+rt.pattern, rt.ability, rt.body)
	}
	for _, rt := range pipelineRouteTable {
		add(rt.method, strings.TrimSuffix("/{project}/-/pipelines/{id}/"+rt.pattern, "/"), rt.ability, rt.body)
	}
	for _, rt := range jobRouteTable {
		add(rt.method, strings.TrimSuffix("/{project}/-/jobs/{id}/"+rt.pattern, "/"), rt.ability, rt.body)
	}
	return out
}
