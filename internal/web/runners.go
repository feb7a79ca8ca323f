package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/policy"
)

// onlineWithin is GitLab's rule: a runner that made contact in the last two
// hours is online.
const onlineWithin = 2 * time.Hour

// runnerRow is a runner with its derived state.
type runnerRow struct {
	*ci.Runner
	Online bool
}

func (s *Server) runnerRows(rs []*ci.Runner) []runnerRow {
	now := s.Now()
	out := make([]runnerRow, len(rs))
	for i, r := range rs {
		out[i] = runnerRow{Runner: r, Online: r.ContactedAt != nil && now.Sub(*r.ContactedAt) < onlineWithin}
	}
	return out
}

// requireInstance asks the policy for the route's instance ability.
func (s *Server) requireInstance(c *req) error { return s.instanceAllowed(c, c.ability) }

// instanceAllowed asks the policy for an instance ability; forms that change
// something also need a signed-in session (they carry its CSRF token).
func (s *Server) instanceAllowed(c *req, a policy.Ability) error {
	if err := s.Policy.Instance(c.p, a); err != nil {
		return err
	}
	if c.r.Method == http.MethodPost && c.sess == nil {
		return ci.Errorf(ci.KindForbidden, "403 Forbidden: sign in to change this")
	}
	return nil
}

// runnersPage lists every runner (administrators only); newToken is a
// runner token just created, shown once.
func (s *Server) runnersPage(c *req, newToken string) error {
	if err := s.requireInstance(c); err != nil {
		return err
	}
	page := pageParam(c.r)
	rs, total, err := s.Store.ListRunners(c.r.Context(), ci.RunnerFilter{Page: ci.Page{Page: page, PerPage: 50}})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if newToken != "" {
		status = http.StatusCreated
	}
	return s.render(c, status, "runners", "Runners", map[string]any{"Runners": s.runnerRows(rs), "Total": total,
		"Pager": newPager(c.r, page, 50, total), "NewToken": newToken, "URL": s.ExternalURL,
		"CanEdit": c.sess != nil && s.instanceAllowed(c, policy.AdminInstance) == nil})
}

// createRunner creates an instance runner and shows its glrt- token once.
func (s *Server) createRunner(c *req) error {
	if err := s.checkCSRF(c); err != nil {
		return err
	}
	if err := s.requireInstance(c); err != nil {
		return err
	}
	f := c.r.PostForm
	var tags []string
	for _, t := range strings.FieldsFunc(f.Get("tags"), func(r rune) bool { return r == ',' || r == ' ' }) {
		tags = append(tags, t)
	}
	secret, hash := auth.NewToken(auth.PrefixRunner)
	rn := &ci.Runner{Description: strings.TrimSpace(f.Get("description")), TokenHash: hash, RunnerType: ci.RunnerInstance,
		Tags: tags, RunUntagged: f.Get("run_untagged") != "" || len(tags) == 0, AccessLevel: "not_protected"}
	if err := s.Store.CreateRunner(c.r.Context(), rn); err != nil {
		return err
	}
	return s.runnersPage(c, secret)
}

// toggleRunner pauses or resumes a runner.
func (s *Server) toggleRunner(c *req, raw string) error {
	if err := s.checkCSRF(c); err != nil {
		return err
	}
	if err := s.requireInstance(c); err != nil {
		return err
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return notFound()
	}
	rn, err := s.Store.RunnerByID(c.r.Context(), id)
	if err != nil {
		return err
	}
	rn.Paused = !rn.Paused
	if err := s.Store.UpdateRunner(c.r.Context(), rn); err != nil {
		return err
	}
	http.Redirect(c.w, c.r, "/-/runners", http.StatusSeeOther)
	return nil
}

// adminPage shows the instance's registration token and a few counts.
// It shows a secret that registers runners, so it needs what changing the
// instance needs (an administrator's token with the api scope).
func (s *Server) adminPage(c *req) error {
	if err := s.requireInstance(c); err != nil {
		return err
	}
	ctx := c.r.Context()
	tok, err := s.RegistrationToken(ctx)
	if err != nil {
		return err
	}
	_, projects, err := s.Store.ListProjects(ctx, ci.ProjectFilter{All: true, Page: ci.Page{Page: 1, PerPage: 1}})
	if err != nil {
		return err
	}
	_, runners, err := s.Store.ListRunners(ctx, ci.RunnerFilter{Page: ci.Page{Page: 1, PerPage: 1}})
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "admin", "Admin", map[string]any{"RegistrationToken": tok,
		"Projects": projects, "Runners": runners, "URL": s.ExternalURL})
}
