package web

import (
	"context"
	"net/http"
	"strings"

	"github.com/batonci/baton/internal/ciconfig"
	"github.com/batonci/baton/internal/httpx"
	"github.com/batonci/baton/internal/planner"
)

// Linter checks a CI configuration as GitLab's CI lint does
// (planner.Planner).
type Linter interface {
	Lint(ctx context.Context, req planner.LintRequest) (*ciconfig.LintResult, error)
}

// lintBody bounds the lint form: the content may be a whole 1 MiB file.
const lintBody = httpx.ParamsBody

// lintPage is /<project>/-/ci/lint: a form to paste a configuration and
// see whether it is valid, its jobs, includes and merged YAML.
func (s *Server) lintPage(c *req) error {
	return s.render(c, http.StatusOK, "lint", "CI Lint · "+c.proj.FullPath, map[string]any{"Content": "", "DryRun": false})
}

// lint runs the form's content through the same lint as POST
// /projects/:id/ci/lint.
func (s *Server) lint(c *req) error {
	if err := s.checkCSRF(c); err != nil {
		return err
	}
	content := c.r.PostForm.Get("content")
	dryRun := c.r.PostForm.Get("dry_run") == "true"
	data := map[string]any{"Content": content, "DryRun": dryRun}
	if strings.TrimSpace(content) == "" {
		data["Problem"] = "Paste a configuration to validate."
		return s.render(c, http.StatusUnprocessableEntity, "lint", "CI Lint · "+c.proj.FullPath, data)
	}
	res, err := s.Linter.Lint(c.r.Context(), planner.LintRequest{Project: c.proj, Content: []byte(content), DryRun: dryRun, UserID: c.p.UserID()})
	if err != nil {
		return err
	}
	data["Result"] = res
	return s.render(c, http.StatusOK, "lint", "CI Lint · "+c.proj.FullPath, data)
}
