package runnerapi

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/httpx"
)

// onlineWindow is how recent a contact must be for a runner to count as
// online (GitLab: 2 hours).
const onlineWindow = 2 * time.Hour

// principal authenticates a personal access token caller; what it may do
// is the policy's to say. Job tokens and anonymous callers are refused.
func (s *Server) principal(r *http.Request) (*auth.Principal, error) {
	if s.Auth == nil {
		return nil, ci.Errorf(ci.KindUnauthorized, "401 Unauthorized")
	}
	p, err := s.Auth.Authenticate(r.Context(), r)
	if err != nil {
		return nil, err
	}
	if p == nil || p.User == nil {
		return nil, ci.Errorf(ci.KindUnauthorized, "401 Unauthorized")
	}
	if p.IsJob() {
		return nil, ci.Errorf(ci.KindForbidden, "403 Forbidden: job tokens cannot manage runners")
	}
	return p, nil
}

// createUserRunner is POST /api/v4/user/runners: it creates a runner and
// returns its glrt- token, which `gitlab-runner register --token` verifies.
func (s *Server) createUserRunner(w http.ResponseWriter, r *http.Request) error {
	pr, err := s.principal(r)
	if err != nil {
		return err
	}
	p, err := httpx.ReadParams(r)
	if err != nil {
		return err
	}
	rn := &ci.Runner{RunnerType: p.Get("runner_type"), AccessLevel: "not_protected"}
	switch rn.RunnerType {
	case ci.RunnerInstance:
	case ci.RunnerProject:
		if rn.ProjectID, err = p.Int("project_id", 0); err != nil || rn.ProjectID == 0 {
			return ci.Errorf(ci.KindInvalid, "400 Bad request - project_id is missing")
		}
	case ci.RunnerGroup:
		if rn.NamespaceID, err = p.Int("group_id", 0); err != nil || rn.NamespaceID == 0 {
			return ci.Errorf(ci.KindInvalid, "400 Bad request - group_id is missing")
		}
	case "":
		return ci.Errorf(ci.KindInvalid, "400 Bad request - runner_type is missing")
	default:
		return ci.Errorf(ci.KindInvalid, "400 Bad request - runner_type does not have a valid value")
	}
	if err := s.Policy.Runner(r.Context(), pr, routeAbility(r), rn); err != nil {
		return err
	}
	if err := applyRunnerParams(rn, p, true); err != nil {
		return err
	}
	secret, hash := auth.NewToken(auth.PrefixRunner)
	rn.TokenHash = hash
	if err := s.Store.CreateRunner(r.Context(), rn); err != nil {
		return fmt.Errorf("creating runner: %w", err)
	}
	httpx.WriteJSON(w, http.StatusCreated, tokenResponse{ID: rn.ID, Token: secret})
	return nil
}

// runnerJSON is GitLab's runner entity (list and detail fields).
type runnerJSON struct {
	ID             int64      `json:"id"`
	Description    string     `json:"description"`
	Active         bool       `json:"active"`
	Paused         bool       `json:"paused"`
	IsShared       bool       `json:"is_shared"`
	RunnerType     string     `json:"runner_type"`
	Name           string     `json:"name"`
	Online         bool       `json:"online"`
	Status         string     `json:"status"`
	IPAddress      string     `json:"ip_address"`
	TagList        []string   `json:"tag_list"`
	RunUntagged    bool       `json:"run_untagged"`
	Locked         bool       `json:"locked"`
	MaximumTimeout *int       `json:"maximum_timeout"`
	AccessLevel    string     `json:"access_level"`
	Version        string     `json:"version"`
	Platform       string     `json:"platform"`
	Architecture   string     `json:"architecture"`
	ContactedAt    *time.Time `json:"contacted_at"`
	CreatedAt      time.Time  `json:"created_at"`
}

func (s *Server) runnerEntity(rn *ci.Runner) runnerJSON {
	status, online := "never_contacted", false
	if rn.ContactedAt != nil {
		online = s.now().Sub(*rn.ContactedAt) < onlineWindow
		status = "offline"
		if online {
			status = "online"
		}
	}
	var maxTimeout *int
	if rn.MaximumTimeout > 0 {
		v := rn.MaximumTimeout
		maxTimeout = &v
	}
	tags := rn.Tags
	if tags == nil {
		tags = []string{}
	}
	return runnerJSON{
		ID: rn.ID, Description: rn.Description, Active: !rn.Paused, Paused: rn.Paused,
		IsShared: rn.RunnerType == ci.RunnerInstance, RunnerType: rn.RunnerType, Name: "gitlab-runner",
		Online: online, Status: status, IPAddress: rn.IPAddress, TagList: tags, RunUntagged: rn.RunUntagged,
		Locked: rn.Locked, MaximumTimeout: maxTimeout, AccessLevel: rn.AccessLevel, Version: rn.Version,
		Platform: rn.Platform, Architecture: rn.Architecture, ContactedAt: rn.ContactedAt, CreatedAt: rn.CreatedAt,
	}
}

// listRunners is GET /api/v4/runners and /runners/all. Only administrators
// may list runners (Baton keeps no per-user runner ownership).
func (s *Server) listRunners(w http.ResponseWriter, r *http.Request) error {
	pr, err := s.principal(r)
	if err != nil {
		return err
	}
	if err := s.Policy.Instance(pr, routeAbility(r)); err != nil {
		return err
	}
	p, err := httpx.ReadParams(r)
	if err != nil {
		return err
	}
	f := ci.RunnerFilter{Type: p.Get("type")}
	if p.Get("paused") != "" {
		b, err := p.Bool("paused", false)
		if err != nil {
			return err
		}
		f.Paused = &b
	}
	page, err := p.Int("page", 1)
	if err != nil {
		return err
	}
	per, err := p.Int("per_page", 20)
	if err != nil {
		return err
	}
	f.Page = ci.Page{Page: int(max(page, 1)), PerPage: int(min(max(per, 1), 100))}
	list, total, err := s.Store.ListRunners(r.Context(), f)
	if err != nil {
		return fmt.Errorf("listing runners: %w", err)
	}
	out := make([]runnerJSON, 0, len(list))
	for _, rn := range list {
		out = append(out, s.runnerEntity(rn))
	}
	pages := (total + f.PerPage - 1) / f.PerPage
	h := w.Header()
	h.Set("X-Total", strconv.Itoa(total))
	h.Set("X-Total-Pages", strconv.Itoa(max(pages, 1)))
	h.Set("X-Per-Page", strconv.Itoa(f.PerPage))
	h.Set("X-Page", strconv.Itoa(f.Page.Page))
	next := ""
	if f.Page.Page < pages {
		next = strconv.Itoa(f.Page.Page + 1)
	}
	h.Set("X-Next-Page", next)
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

// managedRunner loads the runner named in the path and checks that the
// caller may do the route's ability on it. A runner the caller may not manage is 403, as in
// GitLab; a missing one 404.
func (s *Server) managedRunner(r *http.Request) (*ci.Runner, error) {
	pr, err := s.principal(r)
	if err != nil {
		return nil, err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return nil, err
	}
	rn, err := s.Store.RunnerByID(r.Context(), id)
	if ci.IsNotFound(err) {
		return nil, ci.Errorf(ci.KindNotFound, "404 Runner Not Found")
	}
	if err != nil {
		return nil, fmt.Errorf("loading runner %d: %w", id, err)
	}
	if err := s.Policy.Runner(r.Context(), pr, routeAbility(r), rn); err != nil {
		return nil, err
	}
	return rn, nil
}

func (s *Server) getRunner(w http.ResponseWriter, r *http.Request) error {
	rn, err := s.managedRunner(r)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, s.runnerEntity(rn))
	return nil
}

// updateRunner is PUT /api/v4/runners/:id.
func (s *Server) updateRunner(w http.ResponseWriter, r *http.Request) error {
	rn, err := s.managedRunner(r)
	if err != nil {
		return err
	}
	p, err := httpx.ReadParams(r)
	if err != nil {
		return err
	}
	if err := applyRunnerParams(rn, p, false); err != nil {
		return err
	}
	if err := s.Store.UpdateRunner(r.Context(), rn); err != nil {
		return fmt.Errorf("updating runner %d: %w", rn.ID, err)
	}
	httpx.WriteJSON(w, http.StatusOK, s.runnerEntity(rn))
	return nil
}

// deleteRunner is DELETE /api/v4/runners/:id.
func (s *Server) deleteRunner(w http.ResponseWriter, r *http.Request) error {
	rn, err := s.managedRunner(r)
	if err != nil {
		return err
	}
	if err := s.Store.DeleteRunner(r.Context(), rn.ID); err != nil {
		return fmt.Errorf("deleting runner %d: %w", rn.ID, err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// resetRunnerToken is POST /api/v4/runners/:id/reset_authentication_token.
func (s *Server) resetRunnerToken(w http.ResponseWriter, r *http.Request) error {
	rn, err := s.managedRunner(r)
	if err != nil {
		return err
	}
	return s.resetToken(w, r, rn)
}
