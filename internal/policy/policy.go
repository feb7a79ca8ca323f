// Package policy decides who may do what. Every surface (the REST API, the
// web UI, git over HTTP, the runner API's management routes) asks it and
// none compares access levels itself: one function per kind of resource
// (Project, Namespace, Instance) takes the principal, an ability and the
// resource, and answers nil or an error whose kind is the answer's status.
//
// The answers follow GitLab's permission table for the abilities Baton has
// (doc/user/permissions.md), with GitLab's default "public pipelines" on
// public and internal projects, and its token scopes: read abilities need
// read_api or api, write abilities api; git reads read_repository,
// write_repository, read_api or api; git writes write_repository or api.
// Job tokens read (never write) their own project and projects whose
// allow-list names theirs, while their job runs.
//
// Private things are indistinguishable from absent ones: a caller that may
// not see a project gets exactly the answer a missing project gets.
package policy

import (
	"context"
	"fmt"

	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/ci"
)

// Levels is what the policy reads from the store: effective access levels
// (memberships inherited down the group tree) and job-token allow-lists.
type Levels interface {
	// AccessLevel is the user's effective level on the project; KindNotFound
	// if the project does not exist.
	AccessLevel(ctx context.Context, userID, projectID int64) (ci.AccessLevel, error)
	// NamespaceAccessLevel is the user's effective level on a group.
	NamespaceAccessLevel(ctx context.Context, userID, namespaceID int64) (ci.AccessLevel, error)
	// JobTokenAllowed reports whether target's allow-list names source.
	JobTokenAllowed(ctx context.Context, targetProjectID, sourceProjectID int64) (bool, error)
}

// Policy answers permission questions. The zero value is not usable; build
// it with New.
type Policy struct {
	levels Levels
}

// New returns a policy reading levels from l.
func New(l Levels) *Policy { return &Policy{levels: l} }

// Errors the policy answers with. Their messages are GitLab's.
var (
	errProjectNotFound = ci.Errorf(ci.KindNotFound, "404 Project Not Found")
	errGroupNotFound   = ci.Errorf(ci.KindNotFound, "404 Group Not Found")
	errUnauthorized    = ci.Errorf(ci.KindUnauthorized, "401 Unauthorized")
	errForbidden       = ci.Errorf(ci.KindForbidden, "403 Forbidden")
	errJobWrite        = ci.Errorf(ci.KindForbidden, "403 Forbidden: job tokens cannot change this resource")
)

// Level is the caller's effective level on a project as the policy sees it:
// members their level, administrators Owner, job tokens Reporter on their
// own and allow-listing projects, signed-in non-members Guest on public and
// internal projects, anonymous callers Guest on public ones. AccessNone
// means the caller cannot see the project.
func (p *Policy) Level(ctx context.Context, who *auth.Principal, proj *ci.Project) (ci.AccessLevel, error) {
	return p.level(ctx, who, proj, nil)
}

// NeedsMemberLevel reports whether deciding on a project for who reads
// who's membership level from the store (signed-in users other than
// administrators). A caller that reads the project anyway can read that
// level with it (ci.ProjectStore's ProjectWithLevel) and use ProjectAt.
func NeedsMemberLevel(who *auth.Principal) bool {
	return who != nil && who.Job == nil && who.User != nil && !who.User.Admin
}

// level is Level; member, when not nil, is who's membership level on proj
// as Levels.AccessLevel answers it, read by the caller.
func (p *Policy) level(ctx context.Context, who *auth.Principal, proj *ci.Project, member *ci.AccessLevel) (ci.AccessLevel, error) {
	switch {
	case who == nil:
		if proj.Visibility == ci.VisibilityPublic {
			return ci.AccessGuest, nil
		}
		return ci.AccessNone, nil
	case who.Job != nil:
		if who.Job.ProjectID == proj.ID {
			return ci.AccessReporter, nil
		}
		ok, err := p.levels.JobTokenAllowed(ctx, proj.ID, who.Job.ProjectID)
		if err != nil {
			return ci.AccessNone, err
		}
		if ok {
			return ci.AccessReporter, nil
		}
		return ci.AccessNone, nil
	case who.User == nil:
		return ci.AccessNone, nil
	case who.User.Admin:
		return ci.AccessOwner, nil
	}
	var lvl ci.AccessLevel
	if member != nil {
		lvl = *member
	} else {
		var err error
		if lvl, err = p.levels.AccessLevel(ctx, who.User.ID, proj.ID); err != nil {
			return ci.AccessNone, err
		}
	}
	if lvl == ci.AccessNone && proj.Visibility != ci.VisibilityPrivate {
		lvl = ci.AccessGuest
	}
	return lvl, nil
}

// Project decides whether who may do a on proj. A caller that cannot see
// the project gets KindNotFound, as for a missing project; an anonymous
// caller asked for more than reading gets KindUnauthorized; a token without
// the needed scope, a job token asked to write, or a level below the
// ability's gets KindForbidden.
func (p *Policy) Project(ctx context.Context, who *auth.Principal, a Ability, proj *ci.Project) error {
	return p.project(ctx, who, a, proj, nil)
}

// ProjectAt is Project for a caller that read who's membership level on
// proj together with proj (see NeedsMemberLevel): the same rules, one
// query fewer.
func (p *Policy) ProjectAt(ctx context.Context, who *auth.Principal, a Ability, proj *ci.Project, member ci.AccessLevel) error {
	return p.project(ctx, who, a, proj, &member)
}

func (p *Policy) project(ctx context.Context, who *auth.Principal, a Ability, proj *ci.Project, member *ci.AccessLevel) error {
	r, ok := projectRules[a]
	if !ok {
		return fmt.Errorf("policy: %v is not a project ability", a)
	}
	if err := r.scope.check(who); err != nil {
		return err
	}
	lvl, err := p.level(ctx, who, proj, member)
	if err != nil {
		return err
	}
	if lvl == ci.AccessNone {
		if who.IsJob() && proj.Visibility != ci.VisibilityPrivate {
			return ci.Errorf(ci.KindForbidden, "403 Forbidden: this job token is not allowed to access project %s (add project %d to its job token allowlist)", proj.FullPath, who.Job.ProjectID)
		}
		return errProjectNotFound
	}
	if r.write {
		if who == nil {
			return errUnauthorized
		}
		if who.IsJob() {
			return errJobWrite
		}
	}
	if lvl < r.min(proj) {
		if who == nil {
			return errUnauthorized
		}
		return errForbidden
	}
	return nil
}

// Can is Project as a yes/no, for showing or hiding buttons. Store errors
// answer no.
func (p *Policy) Can(ctx context.Context, who *auth.Principal, a Ability, proj *ci.Project) bool {
	return p.Project(ctx, who, a, proj) == nil
}

// Namespace decides whether who may do a on a group. A group the caller
// cannot see is KindNotFound.
func (p *Policy) Namespace(ctx context.Context, who *auth.Principal, a Ability, ns *ci.Namespace) error {
	r, ok := namespaceRules[a]
	if !ok {
		return fmt.Errorf("policy: %v is not a group ability", a)
	}
	if err := r.scope.check(who); err != nil {
		return err
	}
	lvl, err := p.NamespaceLevel(ctx, who, ns)
	if err != nil {
		return err
	}
	if lvl == ci.AccessNone {
		return errGroupNotFound
	}
	if r.write {
		if who == nil {
			return errUnauthorized
		}
		if who.IsJob() {
			return errJobWrite
		}
	}
	if lvl < r.minLevel {
		return errForbidden
	}
	return nil
}

// NamespaceLevel is the caller's effective level on a group: members their
// level, administrators Owner, the owner of a personal namespace Owner,
// signed-in users Guest on internal and public groups, anyone Guest on
// public ones. Job tokens see groups as anonymous callers do.
func (p *Policy) NamespaceLevel(ctx context.Context, who *auth.Principal, ns *ci.Namespace) (ci.AccessLevel, error) {
	signedIn := who != nil && who.Job == nil && who.User != nil
	var lvl ci.AccessLevel
	switch {
	case signedIn && who.User.Admin:
		return ci.AccessOwner, nil
	case signedIn && ns.Kind == ci.NamespaceUser:
		if ns.OwnerID == who.User.ID {
			return ci.AccessOwner, nil
		}
	case signedIn:
		var err error
		if lvl, err = p.levels.NamespaceAccessLevel(ctx, who.User.ID, ns.ID); err != nil {
			return ci.AccessNone, err
		}
	}
	if lvl == ci.AccessNone {
		switch {
		case ns.Visibility == ci.VisibilityPublic, ns.Visibility == ci.VisibilityInternal && signedIn:
			lvl = ci.AccessGuest
		}
	}
	return lvl, nil
}

// Instance decides instance-wide abilities (administration, creating
// projects and groups, reading one's own profile).
func (p *Policy) Instance(who *auth.Principal, a Ability) error {
	r, ok := instanceRules[a]
	if !ok {
		return fmt.Errorf("policy: %v is not an instance ability", a)
	}
	if who == nil || who.User == nil && who.Job == nil {
		if r.anonymous {
			return nil
		}
		return errUnauthorized
	}
	if who.IsJob() {
		if r.jobs {
			return nil
		}
		return ci.Errorf(ci.KindForbidden, "403 Forbidden: job tokens cannot %s", r.what)
	}
	if err := r.scope.check(who); err != nil {
		return err
	}
	if r.admin && !who.User.Admin {
		return ci.Errorf(ci.KindForbidden, "403 Forbidden: administrators only")
	}
	return nil
}
