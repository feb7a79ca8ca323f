package policy

import (
	"context"

	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/ci"
)

// Runner abilities, decided by Runner.
const (
	CreateRunner Ability = iota + 100 // create a runner (create_runner or api scope)
	ReadRunner                        // a runner's details
	AdminRunner                       // change, pause, delete a runner, reset its token
)

var runnerScopes = map[Ability]scope{CreateRunner: scopeCreateRunner, ReadRunner: scopeRead, AdminRunner: scopeWrite}

func init() {
	abilityNames[CreateRunner], abilityNames[ReadRunner], abilityNames[AdminRunner] = "create_runner", "read_runner", "admin_runner"
}

// Runner decides whether who may do a on rn: administrators any runner,
// Maintainers of a project its project runners, Owners of a group its
// group runners (GitLab's rules). Job tokens and anonymous callers never.
// A refusal is KindForbidden: runners are not secret by existence.
func (p *Policy) Runner(ctx context.Context, who *auth.Principal, a Ability, rn *ci.Runner) error {
	sc, ok := runnerScopes[a]
	if !ok {
		return ci.Errorf(ci.KindInternal, "policy: %v is not a runner ability", a)
	}
	if who == nil || who.User == nil {
		return errUnauthorized
	}
	if who.IsJob() {
		return ci.Errorf(ci.KindForbidden, "403 Forbidden: job tokens cannot manage runners")
	}
	if err := sc.check(who); err != nil {
		return err
	}
	if who.User.Admin {
		return nil
	}
	var lvl, need ci.AccessLevel
	var err error
	switch rn.RunnerType {
	case ci.RunnerProject:
		need = ci.AccessMaintainer
		lvl, err = p.levels.AccessLevel(ctx, who.User.ID, rn.ProjectID)
	case ci.RunnerGroup:
		need = ci.AccessOwner
		lvl, err = p.levels.NamespaceAccessLevel(ctx, who.User.ID, rn.NamespaceID)
	default:
		return ci.Errorf(ci.KindForbidden, "403 Forbidden: only administrators manage instance runners")
	}
	if ci.IsNotFound(err) {
		return errForbidden
	}
	if err != nil {
		return err
	}
	if lvl < need {
		return errForbidden
	}
	return nil
}
