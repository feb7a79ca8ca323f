package api

import (
	"encoding/json"
	"net/http"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/httpx"
)

// variableEntity is GitLab's JSON of a CI/CD variable (project, group and
// instance variables; the instance's have no environment_scope).
type variableEntity struct {
	VariableType     string  `json:"variable_type"`
	Key              string  `json:"key"`
	Value            string  `json:"value"`
	Protected        bool    `json:"protected"`
	Masked           bool    `json:"masked"`
	Hidden           bool    `json:"hidden"`
	Raw              bool    `json:"raw"`
	EnvironmentScope *string `json:"environment_scope,omitempty"`
	Description      *string `json:"description"`
}

func variableJSON(v *ci.CIVariable) variableEntity {
	e := variableEntity{VariableType: "env_var", Key: v.Key, Value: v.Value, Protected: v.Protected, Masked: v.Masked, Raw: v.Raw}
	if v.File {
		e.VariableType = "file"
	}
	if v.Scope != ci.ScopeInstance {
		env := v.Environment
		e.EnvironmentScope = &env
	}
	if v.Description != "" {
		d := v.Description
		e.Description = &d
	}
	return e
}

// onVariables is a route on CI/CD variables of scope (a project's, a
// group's or the instance's): it resolves their owner, asks the policy for
// the route's ability there, runs fn and writes its answer.
func (s *Server) onVariables(scope ci.VariableScope, fn func(c *call) (answer, error)) handlerFunc {
	if scope == ci.ScopeProject {
		return s.onProject(func(c *call) (answer, error) {
			c.scope, c.owner = scope, c.proj.ID
			return fn(c)
		})
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		c := &call{r: r, scope: scope}
		if scope == ci.ScopeGroup {
			g, p, err := s.groupFor(r)
			if err != nil {
				return err
			}
			c.p, c.owner = p, g.ID
		} else {
			p, err := s.instanceFor(r)
			if err != nil {
				return err
			}
			c.p = p
		}
		a, err := fn(c)
		if err != nil {
			return err
		}
		s.write(w, r, a)
		return nil
	}
}

// environmentFilter is GitLab's filter[environment_scope] parameter, in
// the query or a form, or as {"filter": {"environment_scope": ...}} in a
// JSON body (as GitLab's clients send it with PUT).
func environmentFilter(q *httpx.Params) string {
	if v := q.Get("filter[environment_scope]"); v != "" {
		return v
	}
	var f struct {
		EnvironmentScope string `json:"environment_scope"`
	}
	if raw, ok := q.JSON["filter"]; ok && json.Unmarshal(raw, &f) == nil {
		return f.EnvironmentScope
	}
	return ""
}

func (s *Server) listVariables(c *call) (answer, error) {
	pg, err := c.page()
	if err != nil {
		return answer{}, err
	}
	vs, err := s.Variables.List(c.ctx(), c.scope, c.owner)
	if err != nil {
		return answer{}, err
	}
	out := []variableEntity{}
	for i := pg.Offset(); i < len(vs) && i < pg.Offset()+pg.PerPage; i++ {
		out = append(out, variableJSON(vs[i]))
	}
	return page(pg, len(vs), out), nil
}

func (s *Server) getVariable(c *call) (answer, error) {
	q, err := c.params()
	if err != nil {
		return answer{}, err
	}
	v, err := s.Variables.Get(c.ctx(), c.scope, c.owner, c.r.PathValue("key"), environmentFilter(q))
	if err != nil {
		return answer{}, err
	}
	return ok(variableJSON(v)), nil
}

// variableChange applies the parameters given to v; on create every field
// not given keeps GitLab's default.
func variableChange(q *httpx.Params, v *ci.CIVariable) error {
	if q.Given("value") {
		v.Value = q.Get("value")
	}
	if q.Given("variable_type") {
		switch t := q.Get("variable_type"); t {
		case "env_var":
			v.File = false
		case "file":
			v.File = true
		default:
			return ci.Errorf(ci.KindInvalid, "400 Bad request - variable_type does not have a valid value: %q (env_var or file)", t)
		}
	}
	for _, f := range []struct {
		name string
		dst  *bool
	}{{"protected", &v.Protected}, {"masked", &v.Masked}, {"raw", &v.Raw}} {
		if q.Given(f.name) {
			b, err := q.Bool(f.name, *f.dst)
			if err != nil {
				return err
			}
			*f.dst = b
		}
	}
	// GitLab's hidden variables are masked ones whose value it never shows
	// again; Baton masks them (and shows values to Maintainers).
	if hidden, err := q.Bool("masked_and_hidden", false); err != nil {
		return err
	} else if hidden {
		v.Masked = true
	}
	if q.Given("environment_scope") {
		v.Environment = q.Get("environment_scope")
	}
	if q.Given("description") {
		v.Description = q.Get("description")
	}
	return nil
}

func (s *Server) createVariable(c *call) (answer, error) {
	q, err := c.params()
	if err != nil {
		return answer{}, err
	}
	key, err := q.Required("key")
	if err != nil {
		return answer{}, err
	}
	if !q.Given("value") {
		return answer{}, ci.Errorf(ci.KindInvalid, "400 Bad request - value is missing")
	}
	v := &ci.CIVariable{Scope: c.scope, OwnerID: c.owner, Key: key, Environment: ci.AllEnvironments}
	if err := variableChange(q, v); err != nil {
		return answer{}, err
	}
	if err := s.Variables.Create(c.ctx(), v); err != nil {
		return answer{}, err
	}
	return created(variableJSON(v)), nil
}

func (s *Server) updateVariable(c *call) (answer, error) {
	q, err := c.params()
	if err != nil {
		return answer{}, err
	}
	v, err := s.Variables.Update(c.ctx(), c.scope, c.owner, c.r.PathValue("key"), environmentFilter(q), func(v *ci.CIVariable) error {
		return variableChange(q, v)
	})
	if err != nil {
		return answer{}, err
	}
	return ok(variableJSON(v)), nil
}

func (s *Server) deleteVariable(c *call) (answer, error) {
	q, err := c.params()
	if err != nil {
		return answer{}, err
	}
	return noContent, s.Variables.Delete(c.ctx(), c.scope, c.owner, c.r.PathValue("key"), environmentFilter(q))
}
