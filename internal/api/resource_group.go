package api

import (
	"net/http"
	"time"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/httpx"
)

type resourceGroupEntity struct {
	ID          int64      `json:"id"`
	Key         string     `json:"key"`
	ProcessMode string     `json:"process_mode"`
	CreatedAt   *time.Time `json:"created_at"`
	UpdatedAt   *time.Time `json:"updated_at"`
}

func resourceGroupJSON(g *ci.ResourceGroup) resourceGroupEntity {
	return resourceGroupEntity{ID: g.ID, Key: g.Key, ProcessMode: g.ProcessMode, CreatedAt: utc(&g.CreatedAt), UpdatedAt: utc(&g.UpdatedAt)}
}

// resourceGroupIn resolves :key (URL-encoded) within proj.
func (s *Server) resourceGroupIn(r *http.Request, proj *ci.Project) (*ci.ResourceGroup, error) {
	g, err := s.Store.ResourceGroupByKey(r.Context(), proj.ID, r.PathValue("key"))
	if ci.IsNotFound(err) {
		return nil, ci.Errorf(ci.KindNotFound, "404 Resource Group Not Found")
	}
	return g, err
}

func (s *Server) listResourceGroups(w http.ResponseWriter, r *http.Request) error {
	proj, _, err := s.projectFor(r)
	if err != nil {
		return err
	}
	q, err := httpx.ReadParams(r)
	if err != nil {
		return err
	}
	pg, err := q.Page()
	if err != nil {
		return err
	}
	gs, total, err := s.Store.ListResourceGroups(r.Context(), proj.ID, pg)
	if err != nil {
		return err
	}
	out := make([]resourceGroupEntity, 0, len(gs))
	for _, g := range gs {
		out = append(out, resourceGroupJSON(g))
	}
	s.setPagination(w, r, pg, total)
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getResourceGroup(w http.ResponseWriter, r *http.Request) error {
	proj, _, err := s.projectFor(r)
	if err != nil {
		return err
	}
	g, err := s.resourceGroupIn(r, proj)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, resourceGroupJSON(g))
	return nil
}

func (s *Server) editResourceGroup(w http.ResponseWriter, r *http.Request) error {
	proj, _, err := s.projectFor(r)
	if err != nil {
		return err
	}
	g, err := s.resourceGroupIn(r, proj)
	if err != nil {
		return err
	}
	q, err := httpx.ReadParams(r)
	if err != nil {
		return err
	}
	if q.Given("process_mode") {
		mode := q.Get("process_mode")
		valid := false
		for _, m := range ci.ProcessModes {
			valid = valid || m == mode
		}
		if !valid {
			return ci.Errorf(ci.KindInvalid, "400 Bad request - process_mode does not have a valid value")
		}
		g.ProcessMode = mode
		if err := s.Store.SetProcessMode(r.Context(), g); err != nil {
			return err
		}
	}
	httpx.WriteJSON(w, http.StatusOK, resourceGroupJSON(g))
	return nil
}

// maxUpcoming bounds upcoming_jobs (GitLab pages it; Baton answers the
// first 100 in the order the group hands them out).
const maxUpcoming = 100

func (s *Server) upcomingJobs(w http.ResponseWriter, r *http.Request) error {
	proj, _, err := s.projectFor(r)
	if err != nil {
		return err
	}
	g, err := s.resourceGroupIn(r, proj)
	if err != nil {
		return err
	}
	jobs, err := s.Store.WaitingJobs(r.Context(), proj.ID, g.Key, g.ProcessMode, maxUpcoming)
	if err != nil {
		return err
	}
	out, err := s.jobViews(r, proj, jobs)
	if err != nil {
		return err
	}
	if out == nil {
		out = []jobEntity{}
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}
