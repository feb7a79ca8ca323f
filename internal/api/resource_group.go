package api

import (
	"time"

	"github.com/batonci/baton/internal/ci"
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

// resourceGroupOf resolves :key (URL-encoded) within the call's project.
func (s *Server) resourceGroupOf(c *call) (*ci.ResourceGroup, error) {
	g, err := s.Store.ResourceGroupByKey(c.ctx(), c.proj.ID, c.r.PathValue("key"))
	if ci.IsNotFound(err) {
		return nil, ci.Errorf(ci.KindNotFound, "404 Resource Group Not Found")
	}
	return g, err
}

func (s *Server) listResourceGroups(c *call) (answer, error) {
	return listed(c, func(pg ci.Page) ([]*ci.ResourceGroup, int, error) {
		return s.Store.ListResourceGroups(c.ctx(), c.proj.ID, pg)
	}, resourceGroupJSON)
}

func (s *Server) getResourceGroup(c *call, g *ci.ResourceGroup) (answer, error) {
	return ok(resourceGroupJSON(g)), nil
}

func (s *Server) editResourceGroup(c *call, g *ci.ResourceGroup) (answer, error) {
	q, err := c.params()
	if err != nil {
		return answer{}, err
	}
	if q.Given("process_mode") {
		mode := q.Get("process_mode")
		valid := false
		for _, m := range ci.ProcessModes {
			valid = valid || m == mode
		}
		if !valid {
			return answer{}, ci.Errorf(ci.KindInvalid, "400 Bad request - process_mode does not have a valid value")
		}
		g.ProcessMode = mode
		if err := s.Store.SetProcessMode(c.ctx(), g); err != nil {
			return answer{}, err
		}
	}
	return ok(resourceGroupJSON(g)), nil
}

// maxUpcoming bounds upcoming_jobs (GitLab pages it; Baton answers the
// first 100 in the order the group hands them out).
const maxUpcoming = 100

func (s *Server) upcomingJobs(c *call, g *ci.ResourceGroup) (answer, error) {
	jobs, err := s.Store.WaitingJobs(c.ctx(), c.proj.ID, g.Key, g.ProcessMode, maxUpcoming)
	if err != nil {
		return answer{}, err
	}
	out, err := s.jobViews(c.r, c.proj, jobs)
	if err != nil {
		return answer{}, err
	}
	if out == nil {
		out = []jobEntity{}
	}
	return ok(out), nil
}
