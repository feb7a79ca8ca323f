package auth

import (
	"context"

	"github.com/batonci/baton/internal/ci"
)

// Access is a caller's effective level on a project, for permission checks.
// Job tokens get Reporter on their own project and on projects whose
// allow-list names it (read access), nothing elsewhere.
func (a *Authenticator) Access(ctx context.Context, p *Principal, proj *ci.Project) (ci.AccessLevel, error) {
	switch {
	case p == nil:
		if proj.Visibility == ci.VisibilityPublic {
			return ci.AccessGuest, nil
		}
		return ci.AccessNone, nil
	case p.Job != nil:
		if p.Job.ProjectID == proj.ID {
			return ci.AccessReporter, nil
		}
		ok, err := a.Projects.JobTokenAllowed(ctx, proj.ID, p.Job.ProjectID)
		if err != nil {
			return ci.AccessNone, err
		}
		if ok {
			return ci.AccessReporter, nil
		}
		return ci.AccessNone, nil
	case p.User != nil && p.User.Admin:
		return ci.AccessOwner, nil
	}
	lvl, err := a.Projects.AccessLevel(ctx, p.User.ID, proj.ID)
	if err != nil {
		return ci.AccessNone, err
	}
	if lvl == ci.AccessNone && proj.Visibility != ci.VisibilityPrivate {
		lvl = ci.AccessGuest
	}
	return lvl, nil
}

// Require checks that the caller has at least level min on the project. A
// caller that cannot see the project at all gets KindNotFound (a private
// project must not be confirmed to exist), one who can see it but lacks the
// level gets KindForbidden. write additionally requires the api scope for
// personal tokens (read_api is read-only) and rejects job tokens.
func (a *Authenticator) Require(ctx context.Context, p *Principal, proj *ci.Project, min ci.AccessLevel, write bool) error {
	lvl, err := a.Access(ctx, p, proj)
	if err != nil {
		return err
	}
	if lvl == ci.AccessNone {
		if p.IsJob() && p.Job.ProjectID != proj.ID && proj.Visibility != ci.VisibilityPrivate {
			return ci.Errorf(ci.KindForbidden, "403 Forbidden: this job token is not allowed to access project %s (add project %d to its job token allowlist)", proj.FullPath, p.Job.ProjectID)
		}
		return ci.Errorf(ci.KindNotFound, "404 Project Not Found")
	}
	if write {
		if p == nil {
			return ci.Errorf(ci.KindUnauthorized, "401 Unauthorized")
		}
		if p.IsJob() {
			return ci.Errorf(ci.KindForbidden, "403 Forbidden: job tokens cannot change this resource")
		}
		if p.Token != nil && !p.Token.HasScope(ci.ScopeAPI) {
			return ci.Errorf(ci.KindForbidden, "403 Forbidden: insufficient_scope, the api scope is required")
		}
	}
	if lvl < min {
		return ci.Errorf(ci.KindForbidden, "403 Forbidden")
	}
	return nil
}

// RequireScope checks that a personal-token caller has a token scope that
// allows reading (read_api or api) or writing (api) the API at all.
func RequireScope(p *Principal, write bool) error {
	if p == nil || p.Token == nil {
		return nil
	}
	need := ci.ScopeReadAPI
	if write {
		need = ci.ScopeAPI
	}
	if !p.Token.HasScope(need) {
		return ci.Errorf(ci.KindForbidden, "403 Forbidden: insufficient_scope, the %s scope is required", need)
	}
	return nil
}
