package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/gitserve"
	"github.com/batonci/baton/internal/policy"
)

// gitAccess decides who may clone and push over smart HTTP: it turns Basic
// credentials into a principal (a personal token as password with any
// username, or `gitlab-ci-token:<job token>`) and asks the policy for
// the git route's ability (ReadCode or PushCode), as the API and the web UI ask it for theirs.
type gitAccess struct {
	auth   *auth.Authenticator
	policy *policy.Policy
}

// authorize returns the name of the user it identified (the pusher), "" for
// anonymous readers; the Basic username itself is never trusted.
func (g gitAccess) authorize(ctx context.Context, proj *ci.Project, username, password string, a policy.Ability) (string, error) {
	p, err := g.check(ctx, proj, username, password, a)
	if err != nil || p == nil || p.User == nil {
		return "", err
	}
	return p.User.Username, nil
}

func (g gitAccess) check(ctx context.Context, proj *ci.Project, username, password string, a policy.Ability) (*auth.Principal, error) {
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
	err = g.policy.Project(ctx, p, a, proj)
	if p == nil && err != nil {
		// Ask for credentials, whether the project is private or missing.
		return nil, ci.Errorf(ci.KindUnauthorized, "HTTP Basic: Access denied")
	}
	return p, err
}

// gitSource adapts gitserve.Repos to what the planner reads.
type gitSource struct{ repos *gitserve.Repos }

func (s gitSource) ResolveRef(ctx context.Context, projectID int64, ref string) (ci.Commit, bool, error) {
	sha, tag, err := s.repos.ResolveRef(ctx, projectID, ref)
	if err != nil {
		return ci.Commit{}, false, err
	}
	c, err := s.Commit(ctx, projectID, sha)
	if err != nil || !tag {
		return c, tag, err
	}
	// CI_COMMIT_TAG_MESSAGE: an annotated tag's message, "" otherwise.
	t, err := s.repos.Tag(ctx, projectID, strings.TrimPrefix(ref, "refs/tags/"))
	if err != nil {
		return ci.Commit{}, false, fmt.Errorf("reading tag %q: %w", ref, err)
	}
	c.TagMessage = t.Message
	return c, tag, nil
}

// Commit reads one commit (a child pipeline runs at its parent's).
func (s gitSource) Commit(ctx context.Context, projectID int64, sha string) (ci.Commit, error) {
	c, err := s.repos.Commit(ctx, projectID, sha)
	if err != nil {
		return ci.Commit{}, err
	}
	return ci.Commit{SHA: c.SHA, Title: c.Title, Message: c.Message, Author: c.AuthorName + " <" + c.AuthorEmail + ">",
		Timestamp: c.CommittedAt}, nil
}

func (s gitSource) ReadFile(ctx context.Context, projectID int64, sha, path string) ([]byte, error) {
	return s.repos.ReadFile(ctx, projectID, sha, path)
}

func (s gitSource) BlobID(ctx context.Context, projectID int64, sha, path string) (string, error) {
	return s.repos.BlobID(ctx, projectID, sha, path)
}

func (s gitSource) ChangedPaths(ctx context.Context, projectID int64, from, to string, mergeBase bool, max int) ([]string, bool, error) {
	return s.repos.ChangedPaths(ctx, projectID, from, to, mergeBase, max)
}

func (s gitSource) ListPaths(ctx context.Context, projectID int64, rev string, max int) ([]string, bool, error) {
	return s.repos.ListPaths(ctx, projectID, rev, max)
}

func (s gitSource) SetHEAD(ctx context.Context, projectID int64, branch string) error {
	return s.repos.SetHEAD(ctx, projectID, branch)
}
