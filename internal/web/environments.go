package web

import (
	"net/http"
	"strconv"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/policy"
)

// environmentRow is one environment as the page shows it.
type environmentRow struct {
	E    *ci.Environment
	Last *ci.Deployment // nil before its first successful deployment
}

// maxEnvironmentRows bounds the page; the API pages through the rest.
const maxEnvironmentRows = 100

// environmentsPage is /<project>/-/environments: each environment with its
// last successful deployment, and Stop for those who may.
func (s *Server) environmentsPage(c *req) error {
	envs, total, err := s.Store.ListEnvironments(c.r.Context(), c.proj.ID, "", "", ci.Page{Page: 1, PerPage: maxEnvironmentRows})
	if err != nil {
		return err
	}
	ids := make([]int64, 0, len(envs))
	for _, e := range envs {
		ids = append(ids, e.ID)
	}
	last, err := s.Store.LastDeployments(c.r.Context(), ids)
	if err != nil {
		return err
	}
	rows := make([]environmentRow, 0, len(envs))
	for _, e := range envs {
		rows = append(rows, environmentRow{E: e, Last: last[e.ID]})
	}
	return s.render(c, http.StatusOK, "environments", "Environments · "+c.proj.FullPath, map[string]any{
		"Environments": rows, "More": total - len(envs), "CanStop": s.can(c, policy.StopEnvironment)})
}

// stopEnvironment stops one of the project's environments, as the API's
// POST /environments/:id/stop.
func (s *Server) stopEnvironment(c *req, raw string) error {
	if err := s.checkCSRF(c); err != nil {
		return err
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return notFound()
	}
	env, err := s.Store.EnvironmentByID(c.r.Context(), id)
	if ci.IsNotFound(err) || (err == nil && env.ProjectID != c.proj.ID) {
		return notFound()
	}
	if err != nil {
		return err
	}
	if err := s.Environments.Stop(c.r.Context(), env, c.p.UserID()); err != nil {
		return err
	}
	http.Redirect(c.w, c.r, "/"+c.proj.FullPath+"/-/environments", http.StatusSeeOther)
	return nil
}
