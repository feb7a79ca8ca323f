package api

import (
	"context"
	"net/http"

	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/httpx"
)

// call is a request after its route's ability was allowed: on a project
// route, the project; on a variables route, the scope and owner of the
// variables; always the caller (nil when anonymous).
type call struct {
	r     *http.Request
	proj  *ci.Project
	p     *auth.Principal
	q     *httpx.Params
	scope ci.VariableScope // variables routes only
	owner int64            // variables routes only
	users map[int64]*ci.User
}

func (c *call) ctx() context.Context { return c.r.Context() }

// params reads the request's parameters (query, form or JSON body) on
// first use: a handler that resolves a resource first answers a missing
// one before it looks at a malformed body.
func (c *call) params() (*httpx.Params, error) {
	if c.q == nil {
		q, err := httpx.ReadParams(c.r)
		if err != nil {
			return nil, err
		}
		c.q = q
	}
	return c.q, nil
}

// userFor is user id's entity as the caller sees it, nil if there is no
// such user; each user is read once per call, however many items of a
// list name them.
func (s *Server) userFor(c *call, id int64) *userEntity {
	u, seen := c.users[id]
	if !seen {
		u, _ = s.Store.UserByID(c.ctx(), id)
		if c.users == nil {
			c.users = map[int64]*ci.User{}
		}
		c.users[id] = u
	}
	return s.user(c.p, u)
}

// page reads the pagination parameters.
func (c *call) page() (ci.Page, error) {
	_, pg, err := c.paged()
	return pg, err
}

// paged reads the parameters and the pagination among them.
func (c *call) paged() (*httpx.Params, ci.Page, error) {
	q, err := c.params()
	if err != nil {
		return nil, ci.Page{}, err
	}
	pg, err := q.Page()
	return q, pg, err
}

// answer is what a handler of a resource answers: a status with a JSON
// body, or the status alone (nil body), with GitLab's pagination headers
// when paged.
type answer struct {
	status int
	body   any
	paged  *ci.Page
	total  int
}

func ok(body any) answer      { return answer{status: http.StatusOK, body: body} }
func created(body any) answer { return answer{status: http.StatusCreated, body: body} }

// noContent is DELETE's usual 204.
var noContent = answer{status: http.StatusNoContent}

// page is one page of a list of total items.
// listed is a whole plain paginated list: the call's page, listed with
// list and each item shaped with one.
func listed[T, E any](c *call, list func(ci.Page) ([]T, int, error), one func(T) E) (answer, error) {
	pg, err := c.page()
	if err != nil {
		return answer{}, err
	}
	items, total, err := list(pg)
	if err != nil {
		return answer{}, err
	}
	out := make([]E, 0, len(items))
	for _, it := range items {
		out = append(out, one(it))
	}
	return page(pg, total, out), nil
}

func page(pg ci.Page, total int, body any) answer {
	return answer{status: http.StatusOK, body: body, paged: &pg, total: total}
}

func (s *Server) write(w http.ResponseWriter, r *http.Request, a answer) {
	if a.paged != nil {
		s.setPagination(w, r, *a.paged, a.total)
	}
	if a.body == nil {
		w.WriteHeader(a.status)
		return
	}
	httpx.WriteJSON(w, a.status, a.body)
}

// onProject is a route on a project: it resolves :id, asks the policy for
// the route's ability (a project the caller may not see is 404), runs fn
// and writes its answer.
func (s *Server) onProject(fn func(c *call) (answer, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		proj, p, err := s.projectFor(r)
		if err != nil {
			return err
		}
		a, err := fn(&call{r: r, proj: proj, p: p})
		if err != nil {
			return err
		}
		s.write(w, r, a)
		return nil
	}
}

// finder finds the route's resource (named by a path value) within the
// call's project; one of another project, or none, is KindNotFound.
type finder[T any] func(c *call) (T, error)

// onResource is a route on one resource of a project: onProject, then the
// resource find names, then fn.
func onResource[T any](s *Server, find finder[T], fn func(c *call, x T) (answer, error)) handlerFunc {
	return s.onProject(func(c *call) (answer, error) {
		x, err := find(c)
		if err != nil {
			return answer{}, err
		}
		return fn(c, x)
	})
}

// byPathID is a finder for resources with a numeric id in the path value
// param: get reads it within the project; a missing one answers missing.
func byPathID[T any](param, missing string, get func(c *call, id int64) (T, error)) finder[T] {
	return func(c *call) (T, error) {
		var zero T
		id, err := pathID(c.r, param)
		if err != nil {
			return zero, err
		}
		x, err := get(c, id)
		if ci.IsNotFound(err) {
			return zero, ci.Errorf(ci.KindNotFound, "%s", missing)
		}
		return x, err
	}
}
