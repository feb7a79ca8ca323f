package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/httpx"
)

// pipelineFor resolves :id and :pipeline_id, checking that the pipeline
// belongs to the project and the route's ability.
func (s *Server) pipelineFor(r *http.Request) (*ci.Project, *ci.Pipeline, *auth.Principal, error) {
	proj, p, err := s.projectFor(r)
	if err != nil {
		return nil, nil, nil, err
	}
	pl, err := s.pipelineIn(r, proj)
	if err != nil {
		return nil, nil, nil, err
	}
	return proj, pl, p, nil
}

func (s *Server) writePipeline(w http.ResponseWriter, r *http.Request, status int, pl *ci.Pipeline, proj *ci.Project) error {
	var u *ci.User
	if pl.UserID != 0 {
		var err error
		if u, err = s.Store.UserByID(r.Context(), pl.UserID); err != nil && !ci.IsNotFound(err) {
			return err
		}
	}
	// GitLab's pipeline coverage: the average of its jobs' (a string).
	cov, err := s.Store.PipelineCoverage(r.Context(), pl.ID)
	if err != nil {
		return err
	}
	s.writePipelineView(w, r, status, pl, proj, u, cov)
	return nil
}

// writePipelineView writes the pipeline entity from what writePipeline
// loads (or Store.PipelineView loaded in one statement).
func (s *Server) writePipelineView(w http.ResponseWriter, r *http.Request, status int, pl *ci.Pipeline, proj *ci.Project, u *ci.User, cov *float64) {
	e := s.pipeline(s.viewer(r), pl, proj, u)
	if cov != nil {
		c := strconv.FormatFloat(*cov, 'f', 2, 64)
		e.Coverage = &c
	}
	httpx.WriteJSON(w, status, e)
}

// pipelineInputs reads inputs given as a JSON object ({"inputs": {"env":
// "prod", "replicas": 3}}: values keep their JSON types) or as form fields
// inputs[NAME]=value (strings).
func pipelineInputs(q *httpx.Params) (map[string]any, error) {
	if raw, ok := q.JSON["inputs"]; ok {
		var in map[string]any
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		if err := dec.Decode(&in); err != nil {
			return nil, ci.Errorf(ci.KindInvalid, "400 Bad request - inputs is invalid: it should be a hash of input names and values")
		}
		return in, nil
	}
	var in map[string]any
	for k, vs := range q.Values {
		name, ok := strings.CutPrefix(k, "inputs[")
		if !ok || !strings.HasSuffix(name, "]") || len(vs) == 0 {
			continue
		}
		if in == nil {
			in = map[string]any{}
		}
		in[strings.TrimSuffix(name, "]")] = vs[len(vs)-1]
	}
	return in, nil
}

// pipelineVariables reads variables given as a JSON array of {key, value,
// variable_type} or as form fields variables[][key]=…&variables[][value]=….
func pipelineVariables(q *httpx.Params) ([]ci.Variable, error) {
	var raw []struct {
		Key          string `json:"key"`
		Value        any    `json:"value"`
		VariableType string `json:"variable_type"`
	}
	if j, ok := q.JSON["variables"]; ok {
		if err := json.Unmarshal(j, &raw); err != nil {
			return nil, ci.Errorf(ci.KindInvalid, "400 Bad request - variables must be an array of {key, value, variable_type}")
		}
	} else {
		keys, values, types := q.Values["variables[][key]"], q.Values["variables[][value]"], q.Values["variables[][variable_type]"]
		for i, k := range keys {
			v := struct {
				Key          string `json:"key"`
				Value        any    `json:"value"`
				VariableType string `json:"variable_type"`
			}{Key: k}
			if i < len(values) {
				v.Value = values[i]
			}
			if i < len(types) {
				v.VariableType = types[i]
			}
			raw = append(raw, v)
		}
	}
	vars := make([]ci.Variable, 0, len(raw))
	for _, v := range raw {
		if !validVariableKey(v.Key) {
			return nil, ci.Errorf(ci.KindInvalid, "400 Bad request - variable key %q can contain only letters, digits and '_'", v.Key)
		}
		var value string
		switch x := v.Value.(type) {
		case string:
			value = x
		case nil:
		default:
			b, _ := json.Marshal(x)
			value = string(b)
		}
		if v.VariableType != "" && v.VariableType != "env_var" && v.VariableType != "file" {
			return nil, ci.Errorf(ci.KindInvalid, "400 Bad request - variable_type of %q must be env_var or file", v.Key)
		}
		vars = append(vars, ci.Variable{Key: v.Key, Value: value, File: v.VariableType == "file"})
	}
	return vars, nil
}

func validVariableKey(k string) bool {
	if k == "" || len(k) > 255 {
		return false
	}
	for _, c := range k {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// writePlanError answers a configuration error as GitLab does:
// 400 {"message": {"base": [...]}}.
func writePlanError(w http.ResponseWriter, err error) bool {
	a, ok := planError(err)
	if ok {
		httpx.WriteJSON(w, a.status, a.body)
	}
	return ok
}

// planError is the answer writePlanError writes, for handlers that answer.
func planError(err error) (answer, bool) {
	if ci.KindOf(err) != ci.KindInvalid {
		return answer{}, false
	}
	msg := ci.MessageOf(err)
	var lines []string
	for _, l := range strings.Split(msg, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return answer{status: http.StatusBadRequest, body: map[string]any{"message": map[string][]string{"base": lines}}}, true
}

func (s *Server) createPipeline(w http.ResponseWriter, r *http.Request) error {
	proj, p, err := s.projectFor(r)
	if err != nil {
		return err
	}
	q, err := httpx.ReadParams(r)
	if err != nil {
		return err
	}
	ref, err := q.Required("ref")
	if err != nil {
		return err
	}
	vars, err := pipelineVariables(q)
	if err != nil {
		return err
	}
	inputs, err := pipelineInputs(q)
	if err != nil {
		return err
	}
	// The planner asks the policy whether the caller may give variables.
	pl, err := s.Planner.Create(r.Context(), ci.PipelineRequest{Project: proj, Ref: ref, Source: ci.SourceAPI, UserID: p.UserID(),
		Variables: vars, Inputs: inputs})
	if err != nil {
		if writePlanError(w, err) {
			return nil
		}
		return err
	}
	return s.writePipeline(w, r, http.StatusCreated, pl, proj)
}

var pipelineOrder = map[string]bool{"": true, "id": true, "status": true, "ref": true, "updated_at": true, "user_id": true}

func (s *Server) listPipelines(w http.ResponseWriter, r *http.Request) error {
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
	f := ci.PipelineFilter{ProjectID: proj.ID, Ref: q.Get("ref"), SHA: q.Get("sha"), Scope: q.Get("scope"),
		Source: q.Get("source"), Name: q.Get("name"), OrderBy: q.Get("order_by"), Sort: q.Get("sort"), Page: pg}
	// Every filter GitLab documents is applied (an ignored one would return
	// pipelines the caller asked to leave out); parameters GitLab does not
	// know are ignored, as GitLab ignores them.
	for _, t := range []struct {
		key string
		dst **time.Time
	}{{"created_after", &f.CreatedAfter}, {"created_before", &f.CreatedBefore}, {"updated_after", &f.UpdatedAfter}, {"updated_before", &f.UpdatedBefore}} {
		if *t.dst, err = q.Time(t.key); err != nil {
			return err
		}
	}
	if q.Get("yaml_errors") != "" {
		yes, err := q.Bool("yaml_errors", false)
		if err != nil {
			return err
		}
		f.YAMLErrors = &yes
	}
	if st := q.Get("status"); st != "" {
		if !ci.Status(st).Valid() {
			return ci.Errorf(ci.KindInvalid, "400 Bad request - status does not have a valid value: %q", st)
		}
		f.Statuses = []ci.Status{ci.Status(st)}
	}
	switch f.Scope {
	case "", "running", "pending", "finished", "branches", "tags":
	default:
		return ci.Errorf(ci.KindInvalid, "400 Bad request - scope does not have a valid value: %q", f.Scope)
	}
	if !pipelineOrder[f.OrderBy] {
		return ci.Errorf(ci.KindInvalid, "400 Bad request - order_by does not have a valid value: %q", f.OrderBy)
	}
	if f.Sort != "" && f.Sort != "asc" && f.Sort != "desc" {
		return ci.Errorf(ci.KindInvalid, "400 Bad request - sort does not have a valid value: %q", f.Sort)
	}
	if f.SHA != "" && len(f.SHA) < 7 {
		return ci.Errorf(ci.KindInvalid, "400 Bad request - sha must be a full sha or a prefix of at least 7 characters")
	}
	if name := q.Get("username"); name != "" {
		u, err := s.Store.UserByUsername(r.Context(), name)
		if ci.IsNotFound(err) {
			s.setPagination(w, r, pg, 0)
			httpx.WriteJSON(w, http.StatusOK, []pipelineBasic{})
			return nil
		}
		if err != nil {
			return err
		}
		f.UserID = u.ID
	}
	pls, total, err := s.Store.ListPipelines(r.Context(), f)
	if err != nil {
		return err
	}
	out := make([]pipelineBasic, 0, len(pls))
	for _, pl := range pls {
		out = append(out, s.pipelineBasic(pl, proj))
	}
	s.setPagination(w, r, pg, total)
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

// getPipeline reads the pipeline, its user and its coverage in one
// statement: the route clients poll most.
func (s *Server) getPipeline(w http.ResponseWriter, r *http.Request) error {
	proj, _, err := s.projectFor(r)
	if err != nil {
		return err
	}
	id, err := pathID(r, "pipeline_id")
	if err != nil {
		return err
	}
	pl, u, cov, err := s.Store.PipelineView(r.Context(), id)
	if ci.IsNotFound(err) || (err == nil && pl.ProjectID != proj.ID) {
		return ci.Errorf(ci.KindNotFound, "404 Pipeline %d Not Found in project %s", id, proj.FullPath)
	}
	if err != nil {
		return err
	}
	s.writePipelineView(w, r, http.StatusOK, pl, proj, u, cov)
	return nil
}

func (s *Server) latestPipeline(w http.ResponseWriter, r *http.Request) error {
	proj, _, err := s.projectFor(r)
	if err != nil {
		return err
	}
	ref := r.URL.Query().Get("ref")
	if ref == "" {
		ref = proj.DefaultBranch
	}
	pls, _, err := s.Store.ListPipelines(r.Context(), ci.PipelineFilter{ProjectID: proj.ID, Ref: ref, Page: ci.Page{Page: 1, PerPage: 1}})
	if err != nil {
		return err
	}
	if len(pls) == 0 {
		// GitLab's not_found!('Pipeline') for a ref without pipelines.
		return ci.Errorf(ci.KindNotFound, "404 Pipeline Not Found")
	}
	return s.writePipeline(w, r, http.StatusOK, pls[0], proj)
}

func (s *Server) cancelPipeline(w http.ResponseWriter, r *http.Request) error {
	proj, pl, _, err := s.pipelineFor(r)
	if err != nil {
		return err
	}
	if err := s.Scheduler.CancelPipeline(r.Context(), pl.ID); err != nil {
		return err
	}
	return s.reloadPipeline(w, r, http.StatusOK, pl.ID, proj)
}

func (s *Server) retryPipeline(w http.ResponseWriter, r *http.Request) error {
	proj, pl, p, err := s.pipelineFor(r)
	if err != nil {
		return err
	}
	if err := s.Scheduler.RetryPipeline(r.Context(), pl.ID, p.UserID()); err != nil {
		return err
	}
	return s.reloadPipeline(w, r, http.StatusCreated, pl.ID, proj)
}

func (s *Server) reloadPipeline(w http.ResponseWriter, r *http.Request, status int, id int64, proj *ci.Project) error {
	pl, err := s.Store.PipelineByID(r.Context(), id)
	if err != nil {
		return err
	}
	return s.writePipeline(w, r, status, pl, proj)
}

func (s *Server) deletePipeline(w http.ResponseWriter, r *http.Request) error {
	_, pl, _, err := s.pipelineFor(r)
	if err != nil {
		return err
	}
	arts, err := s.Store.ArtifactsOfProject(r.Context(), pl.ProjectID, pl.ID)
	if err != nil {
		return err
	}
	if err := s.Store.DeletePipeline(r.Context(), pl.ID); err != nil {
		return err
	}
	if s.Artifacts != nil {
		// Requests waiting for its artifacts answer now that none are coming.
		s.Artifacts.Notify(pl.ProjectID, pl.ID)
	}
	for _, a := range arts {
		s.deleteArtifactBytes(r, a)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) deleteArtifactBytes(r *http.Request, a *ci.Artifact) {
	if s.Blobs == nil {
		return
	}
	for _, k := range []string{a.BlobKey, a.IndexKey} {
		if k == "" {
			continue
		}
		if err := s.Blobs.Delete(r.Context(), k); err != nil {
			s.Logger.Warn("deleting artifact bytes", "artifact_id", a.ID, "key", k, "err", err)
		}
	}
}

func (s *Server) pipelineVariablesList(w http.ResponseWriter, r *http.Request) error {
	_, pl, _, err := s.pipelineFor(r)
	if err != nil {
		return err
	}
	type variable struct {
		Key          string `json:"key"`
		Value        string `json:"value"`
		VariableType string `json:"variable_type"`
	}
	out := make([]variable, 0, len(pl.Variables))
	for _, v := range pl.Variables {
		t := "env_var"
		if v.File {
			t = "file"
		}
		out = append(out, variable{v.Key, v.Value, t})
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}
