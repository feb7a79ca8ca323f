package main

import (
	"context"

	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/gitserve"
	"github.com/batonci/baton/internal/planner"
)

// gitAccess decides who may clone and push over smart HTTP: anonymous
// readers of public projects, personal tokens (any username, the token as
// password) with the member's level, and `gitlab-ci-token:<job token>`
// read-only while the job runs.
type gitAccess struct {
	auth *auth.Authenticator
}

// authorize returns the name of the user it identified (the pusher), "" for
// anonymous readers; the Basic username itself is never trusted.
func (g gitAccess) authorize(ctx context.Context, proj *ci.Project, username, password string, write bool) (string, error) {
	p, err := g.check(ctx, proj, username, password, write)
	if err != nil || p == nil || p.User == nil {
		return "", err
	}
	return p.User.Username, nil
}

func (g gitAccess) check(ctx context.Context, proj *ci.Project, username, password string, write bool) (*auth.Principal, error) {
	var p *auth.Principal
	var err error
	switch {
	case password == "" && username == "":
	case username == "gitlab-ci-token":
		p, err = g.auth.JobPrincipal(ctx, password)
	default:
		p, err = g.auth.PersonalPrincipal(ctx, password)
	}
	if err != nil {
		return nil, ci.Errorf(ci.KindUnauthorized, "HTTP Basic: Access denied")
	}
	if p != nil && p.Token != nil {
		scope := ci.ScopeReadRepo
		if write {
			scope = ci.ScopeWriteRepo
		}
		if !p.Token.HasScope(scope) && !p.Token.HasScope(ci.ScopeAPI) && !(!write && p.Token.HasScope(ci.ScopeReadAPI)) {
			return nil, ci.Errorf(ci.KindForbidden, "this token's scopes do not allow %s", map[bool]string{true: "pushing", false: "cloning"}[write])
		}
	}
	min := ci.AccessReporter
	if write {
		min = ci.AccessDeveloper
		if p.IsJob() {
			return nil, ci.Errorf(ci.KindForbidden, "job tokens cannot push")
		}
	}
	if p == nil {
		if proj.Visibility == ci.VisibilityPublic && !write {
			return nil, nil
		}
		return nil, ci.Errorf(ci.KindUnauthorized, "HTTP Basic: Access denied")
	}
	lvl, err := g.auth.Access(ctx, p, proj)
	if err != nil {
		return nil, err
	}
	if lvl == ci.AccessNone {
		return nil, ci.Errorf(ci.KindNotFound, "project not found")
	}
	if lvl < min && !(lvl == ci.AccessGuest && !write && proj.Visibility == ci.VisibilityPublic) {
		return nil, ci.Errorf(ci.KindForbidden, "you are not allowed to %s this project", map[bool]string{true: "push to", false: "clone"}[write])
	}
	return p, nil
}

// gitSource adapts gitserve.Repos to what the planner reads.
type gitSource struct{ repos *gitserve.Repos }

func (s gitSource) ResolveRef(ctx context.Context, projectID int64, ref string) (planner.Commit, bool, error) {
	sha, tag, err := s.repos.ResolveRef(ctx, projectID, ref)
	if err != nil {
		return planner.Commit{}, false, err
	}
	c, err := s.repos.Commit(ctx, projectID, sha)
	if err != nil {
		return planner.Commit{}, false, err
	}
	return planner.Commit{SHA: c.SHA, Title: c.Title, Message: c.Message}, tag, nil
}

func (s gitSource) ReadFile(ctx context.Context, projectID int64, sha, path string) ([]byte, error) {
	return s.repos.ReadFile(ctx, projectID, sha, path)
}

func (s gitSource) SetHEAD(ctx context.Context, projectID int64, branch string) error {
	return s.repos.SetHEAD(ctx, projectID, branch)
}
