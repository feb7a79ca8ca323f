package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/ci"
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

func requireAdmin(c *req) error {
	if c.p == nil {
		return ci.Errorf(ci.KindUnauthorized, "401 Unauthorized")
	}
	if !c.p.Admin() {
		return ci.Errorf(ci.KindForbidden, "403 Forbidden: administrators only")
	}
	return nil
}

// runnersPage lists every runner (administrators only); newToken is a
// runner token just created, shown once.
func (s *Server) runnersPage(c *req, newToken string) error {
	if err := requireAdmin(c); err != nil {
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
		"CanEdit": c.canWrite(0)})
}

// createRunner creates an instance runner and shows its glrt- token once.
func (s *Server) createRunner(c *req) error {
	if err := s.checkCSRF(c); err != nil {
		return err
	}
	if err := requireAdmin(c); err != nil {
		return err
	}
	if !c.canWrite(0) {
		return ci.Errorf(ci.KindForbidden, "403 Forbidden: your token is read-only (it lacks the api scope)")
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
	if err := requireAdmin(c); err != nil {
		return err
	}
	if !c.canWrite(0) {
		return ci.Errorf(ci.KindForbidden, "403 Forbidden: your token is read-only (it lacks the api scope)")
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
func (s *Server) adminPage(c *req) error {
	if err := requireAdmin(c); err != nil {
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
