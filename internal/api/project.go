package api

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/httpx"
	"github.com/batonci/baton/internal/policy"
)

// lookupProject resolves :id, a numeric id or a URL-encoded full path.
func (s *Server) lookupProject(r *http.Request) (*ci.Project, error) {
	proj, err := byIDOrPath(r.Context(), r.PathValue("id"), s.Store.ProjectByID, s.Store.ProjectByFullPath)
	if ci.IsNotFound(err) {
		return nil, ci.Errorf(ci.KindNotFound, "404 Project Not Found")
	}
	return proj, err
}

// lookupProjectWithLevel is lookupProject with userID's membership level.
func (s *Server) lookupProjectWithLevel(r *http.Request, userID int64) (*ci.Project, ci.AccessLevel, error) {
	raw := r.PathValue("id")
	id, err := strconv.ParseInt(raw, 10, 64)
	path := ""
	if err != nil {
		id, path = 0, strings.Trim(raw, "/")
	}
	proj, lvl, err := s.Store.ProjectWithLevel(r.Context(), id, path, userID)
	if ci.IsNotFound(err) {
		return nil, ci.AccessNone, ci.Errorf(ci.KindNotFound, "404 Project Not Found")
	}
	return proj, lvl, err
}

// projectFor resolves :id and asks the policy whether the caller may do the
// route's ability on the project. A project the caller cannot see is 404,
// like a missing one.
func (s *Server) projectFor(r *http.Request) (*ci.Project, *auth.Principal, error) {
	p, err := s.principal(r)
	if err != nil {
		return nil, nil, err
	}
	if policy.NeedsMemberLevel(p) {
		// The project and the caller's level on it in one query.
		proj, lvl, err := s.lookupProjectWithLevel(r, p.User.ID)
		if err != nil {
			return nil, nil, err
		}
		if err := s.Policy.ProjectAt(r.Context(), p, routeAbility(r), proj, lvl); err != nil {
			return nil, nil, err
		}
		return proj, p, nil
	}
	proj, err := s.lookupProject(r)
	if err != nil {
		return nil, nil, err
	}
	if err := s.Policy.Project(r.Context(), p, routeAbility(r), proj); err != nil {
		return nil, nil, err
	}
	return proj, p, nil
}

func (s *Server) projectJSON(r *http.Request, proj *ci.Project) (projectEntity, error) {
	ns, err := s.Store.NamespaceByID(r.Context(), proj.NamespaceID)
	if err != nil {
		return projectEntity{}, err
	}
	return s.project(proj, ns), nil
}

var pathRe = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)

// validPath checks a project or group path segment as GitLab does.
func validPath(what, path string) error {
	if !pathRe.MatchString(path) || strings.HasSuffix(path, ".git") || strings.HasSuffix(path, ".atom") || len(path) > 255 {
		return ci.Errorf(ci.KindInvalid, "400 Bad request - %s path %q can contain only letters, digits, '_', '-' and '.', cannot start with '-' or end in '.git' or '.atom'", what, path)
	}
	return nil
}

func parseVisibility(v string, def ci.Visibility) (ci.Visibility, error) {
	switch ci.Visibility(v) {
	case "":
		return def, nil
	case ci.VisibilityPrivate, ci.VisibilityInternal, ci.VisibilityPublic:
		return ci.Visibility(v), nil
	}
	return "", ci.Errorf(ci.KindInvalid, "400 Bad request - visibility does not have a valid value: %q (private, internal or public)", v)
}

func (s *Server) createProject(w http.ResponseWriter, r *http.Request) error {
	p, err := s.instanceFor(r)
	if err != nil {
		return err
	}
	q, err := httpx.ReadParams(r)
	if err != nil {
		return err
	}
	name, path := strings.TrimSpace(q.Get("name")), strings.TrimSpace(q.Get("path"))
	if name == "" && path == "" {
		return ci.Errorf(ci.KindInvalid, "400 Bad request - name or path is missing")
	}
	if path == "" {
		path = ci.PathFromName(name)
	}
	if name == "" {
		name = path
	}
	if err := validPath("project", path); err != nil {
		return err
	}
	vis, err := parseVisibility(q.Get("visibility"), ci.VisibilityPrivate)
	if err != nil {
		return err
	}
	ns, err := s.targetNamespace(r, p, q)
	if err != nil {
		return err
	}
	proj := &ci.Project{NamespaceID: ns.ID, Name: name, Path: path, Description: q.Get("description"),
		Visibility: vis, CreatorID: p.User.ID}
	cfg := q.Get("ci_config_path")
	if _, _, err := (ci.ProjectChange{CIConfigPath: &cfg}).Apply(proj); err != nil {
		return err
	}
	if err := s.Store.CreateProject(r.Context(), proj); err != nil {
		if ci.IsConflict(err) {
			return ci.Errorf(ci.KindInvalid, "400 Bad request - path %q has already been taken in namespace %s", path, ns.FullPath)
		}
		return err
	}
	if err := s.Repos.Create(r.Context(), proj.ID); err != nil {
		_ = s.Store.DeleteProject(r.Context(), proj.ID)
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, s.project(proj, ns))
	return nil
}

// targetNamespace is the namespace a new project or group goes to: the
// caller's personal namespace unless namespace_id names a group it may
// create projects in (Developer or more; admins anywhere).
func (s *Server) targetNamespace(r *http.Request, p *auth.Principal, q *httpx.Params) (*ci.Namespace, error) {
	raw := q.Get("namespace_id")
	if raw == "" {
		raw = q.Get("namespace")
	}
	if raw == "" {
		return s.Store.NamespaceOfUser(r.Context(), p.User.ID)
	}
	ns, err := byIDOrPath(r.Context(), raw, s.Store.NamespaceByID, s.Store.NamespaceByFullPath)
	if ci.IsNotFound(err) {
		return nil, ci.Errorf(ci.KindNotFound, "404 Namespace Not Found")
	}
	if err != nil {
		return nil, err
	}
	if err := s.Policy.Namespace(r.Context(), p, policy.CreateProjectIn, ns); err != nil {
		if ci.IsNotFound(err) {
			return nil, ci.Errorf(ci.KindNotFound, "404 Namespace Not Found")
		}
		return nil, err
	}
	return ns, nil
}

func (s *Server) getProject(w http.ResponseWriter, r *http.Request) error {
	proj, _, err := s.projectFor(r)
	if err != nil {
		return err
	}
	e, err := s.projectJSON(r, proj)
	if err != nil {
		return err
	}
	if stats, _ := strconv.ParseBool(r.URL.Query().Get("statistics")); stats {
		size, err := s.Store.ProjectArtifactsSize(r.Context(), proj.ID)
		if err != nil {
			return err
		}
		httpx.WriteJSON(w, http.StatusOK, struct {
			projectEntity
			Statistics map[string]int64 `json:"statistics"`
		}{e, map[string]int64{"job_artifacts_size": size}})
		return nil
	}
	httpx.WriteJSON(w, http.StatusOK, e)
	return nil
}

func (s *Server) listProjects(w http.ResponseWriter, r *http.Request) error {
	p, err := s.instanceFor(r)
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
	if p.IsJob() {
		// A job token reads its own project, not everything its user can see.
		proj, err := s.Store.ProjectByID(r.Context(), p.Job.ProjectID)
		if err != nil {
			return err
		}
		e, err := s.projectJSON(r, proj)
		if err != nil {
			return err
		}
		s.setPagination(w, r, ci.Page{Page: 1, PerPage: pg.PerPage}, 1)
		httpx.WriteJSON(w, http.StatusOK, []projectEntity{e})
		return nil
	}
	f := ci.ProjectFilter{VisibleTo: p.UserID(), All: p.Admin(), Search: q.Get("search"),
		OrderBy: q.Get("order_by"), Sort: q.Get("sort"), Page: pg}
	switch f.OrderBy {
	case "", "id", "name", "path", "created_at", "updated_at", "last_activity_at":
	default:
		return ci.Errorf(ci.KindInvalid, "400 Bad request - order_by does not have a valid value: %q", f.OrderBy)
	}
	if f.OrderBy == "last_activity_at" {
		f.OrderBy = "updated_at"
	}
	if f.Sort != "" && f.Sort != "asc" && f.Sort != "desc" {
		return ci.Errorf(ci.KindInvalid, "400 Bad request - sort does not have a valid value: %q (asc or desc)", f.Sort)
	}
	projects, total, err := s.Store.ListProjects(r.Context(), f)
	if err != nil {
		return err
	}
	out := make([]projectEntity, 0, len(projects))
	nsCache := map[int64]*ci.Namespace{}
	for _, proj := range projects {
		ns := nsCache[proj.NamespaceID]
		if ns == nil {
			if ns, err = s.Store.NamespaceByID(r.Context(), proj.NamespaceID); err != nil {
				return err
			}
			nsCache[proj.NamespaceID] = ns
		}
		out = append(out, s.project(proj, ns))
	}
	s.setPagination(w, r, pg, total)
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) deleteProject(w http.ResponseWriter, r *http.Request) error {
	proj, _, err := s.projectFor(r)
	if err != nil {
		return err
	}
	keys, err := s.projectBlobKeys(r, proj.ID)
	if err != nil {
		return err
	}
	if err := s.Store.DeleteProject(r.Context(), proj.ID); err != nil {
		return err
	}
	for _, k := range keys {
		if err := s.Blobs.Delete(r.Context(), k); err != nil {
			s.Logger.Warn("deleting artifact bytes of a deleted project", "project_id", proj.ID, "key", k, "err", err)
		}
	}
	if err := s.Repos.Delete(r.Context(), proj.ID); err != nil {
		s.Logger.Warn("deleting repository of a deleted project", "project_id", proj.ID, "err", err)
	}
	httpx.WriteJSON(w, http.StatusAccepted, map[string]string{"message": "202 Accepted"})
	return nil
}

// projectBlobKeys lists the blob keys of every artifact of a project.
func (s *Server) projectBlobKeys(r *http.Request, projectID int64) ([]string, error) {
	if s.Blobs == nil {
		return nil, nil
	}
	arts, err := s.Store.ArtifactsOfProject(r.Context(), projectID, 0)
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, a := range arts {
		keys = append(keys, a.BlobKey)
		if a.IndexKey != "" {
			keys = append(keys, a.IndexKey)
		}
	}
	return keys, nil
}
