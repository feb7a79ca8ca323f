package api

import (
	"encoding/json"
	"net/http"
	"strings"

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

// variablePlace is the scope and owner of the route's variables, after
// the policy allowed the route's ability on it.
func (s *Server) variablePlace(r *http.Request) (ci.VariableScope, int64, error) {
	switch {
	case strings.HasPrefix(r.URL.Path, "/api/v4/projects/"):
		proj, _, err := s.projectFor(r)
		if err != nil {
			return "", 0, err
		}
		return ci.ScopeProject, proj.ID, nil
	case strings.HasPrefix(r.URL.Path, "/api/v4/groups/"):
		g, _, err := s.groupFor(r)
		if err != nil {
			return "", 0, err
		}
		return ci.ScopeGroup, g.ID, nil
	}
	if _, err := s.instanceFor(r); err != nil {
		return "", 0, err
	}
	return ci.ScopeInstance, 0, nil
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

func (s *Server) listVariables(w http.ResponseWriter, r *http.Request) error {
	scope, owner, err := s.variablePlace(r)
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
	vs, err := s.Variables.List(r.Context(), scope, owner)
	if err != nil {
		return err
	}
	out := []variableEntity{}
	for i := pg.Offset(); i < len(vs) && i < pg.Offset()+pg.PerPage; i++ {
		out = append(out, variableJSON(vs[i]))
	}
	s.setPagination(w, r, pg, len(vs))
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getVariable(w http.ResponseWriter, r *http.Request) error {
	scope, owner, err := s.variablePlace(r)
	if err != nil {
		return err
	}
	q, err := httpx.ReadParams(r)
	if err != nil {
		return err
	}
	v, err := s.Variables.Get(r.Context(), scope, owner, r.PathValue("key"), environmentFilter(q))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, variableJSON(v))
	return nil
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

func (s *Server) createVariable(w http.ResponseWriter, r *http.Request) error {
	scope, owner, err := s.variablePlace(r)
	if err != nil {
		return err
	}
	q, err := httpx.ReadParams(r)
	if err != nil {
		return err
	}
	key, err := q.Required("key")
	if err != nil {
		return err
	}
	if !q.Given("value") {
		return ci.Errorf(ci.KindInvalid, "400 Bad request - value is missing")
	}
	v := &ci.CIVariable{Scope: scope, OwnerID: owner, Key: key, Environment: ci.AllEnvironments}
	if err := variableChange(q, v); err != nil {
		return err
	}
	if err := s.Variables.Create(r.Context(), v); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, variableJSON(v))
	return nil
}

func (s *Server) updateVariable(w http.ResponseWriter, r *http.Request) error {
	scope, owner, err := s.variablePlace(r)
	if err != nil {
		return err
	}
	q, err := httpx.ReadParams(r)
	if err != nil {
		return err
	}
	v, err := s.Variables.Update(r.Context(), scope, owner, r.PathValue("key"), environmentFilter(q), func(v *ci.CIVariable) error {
		return variableChange(q, v)
	})
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, variableJSON(v))
	return nil
}

func (s *Server) deleteVariable(w http.ResponseWriter, r *http.Request) error {
	scope, owner, err := s.variablePlace(r)
	if err != nil {
		return err
	}
	q, err := httpx.ReadParams(r)
	if err != nil {
		return err
	}
	if err := s.Variables.Delete(r.Context(), scope, owner, r.PathValue("key"), environmentFilter(q)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
