package web

import (
	"net/http"
	"strconv"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/policy"
)

// artifactTokenRow is one token on the artifact tokens page, with its
// state and most recent uses.
type artifactTokenRow struct {
	T     *ci.ArtifactToken
	State string
	Uses  []*ci.ArtifactTokenUse
}

// artifactTokensPage lists the project's artifact tokens (newest 100) with
// their last 10 uses each; Maintainers revoke them from it.
func (s *Server) artifactTokensPage(c *req) error {
	if s.ArtifactTokens == nil {
		return notFound()
	}
	ctx := c.r.Context()
	toks, total, err := s.ArtifactTokens.List(ctx, c.proj.ID, ci.Page{Page: 1, PerPage: 100})
	if err != nil {
		return err
	}
	rows := make([]artifactTokenRow, 0, len(toks))
	for _, t := range toks {
		uses, _, err := s.ArtifactTokens.Uses(ctx, t.ID, ci.Page{Page: 1, PerPage: 10})
		if err != nil {
			return err
		}
		rows = append(rows, artifactTokenRow{T: t, State: s.ArtifactTokens.StateNow(t), Uses: uses})
	}
	return s.render(c, http.StatusOK, "artifact_tokens", "Artifact tokens · "+c.proj.FullPath, map[string]any{
		"Tokens": rows, "Total": total, "CanAdmin": s.can(c, policy.AdminArtifactTokens)})
}

// revokeArtifactToken revokes one of the project's artifact tokens.
func (s *Server) revokeArtifactToken(c *req, raw string) error {
	if err := s.checkCSRF(c); err != nil {
		return err
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || s.ArtifactTokens == nil {
		return notFound()
	}
	if err := s.ArtifactTokens.Revoke(c.r.Context(), c.proj.ID, id); ci.IsNotFound(err) {
		return notFound()
	} else if err != nil {
		return err
	}
	http.Redirect(c.w, c.r, "/"+c.proj.FullPath+"/-/artifact_tokens", http.StatusSeeOther)
	return nil
}
