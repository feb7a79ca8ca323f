// Package variables keeps CI/CD variables of the instance, groups and
// projects: it validates them as GitLab does, encrypts their values at
// rest (AES-256-GCM with a key that never enters the database) and
// resolves what a project's pipelines get, groups inherited down the tree.
// The API, the web UI, the planner (rules) and the runner API use it.
package variables

import (
	"context"
	"fmt"

	"github.com/batonci/baton/internal/ci"
)

// Store is what the service reads and writes.
type Store interface {
	ci.VariableStore
	// NamespaceAncestors returns id and every ancestor's id, nearest first.
	NamespaceAncestors(ctx context.Context, id int64) ([]int64, error)
}

// Limits bound the variables one place may keep.
type Limits struct {
	// MaxPerScope bounds the variables of the instance, of one group or of
	// one project (default DefaultMaxPerScope).
	MaxPerScope int
	// MaxValueBytes bounds one value's bytes, on top of GitLab's 10,000
	// characters (0: no further bound).
	MaxValueBytes int64
}

// DefaultMaxPerScope is Limits.MaxPerScope's default.
const DefaultMaxPerScope = 200

// Service keeps CI/CD variables. Build it with New.
type Service struct {
	store  Store
	sealer *Sealer
	limits Limits
}

// New returns a service storing in store and sealing with sealer; a nil
// sealer (no secrets key given) refuses every write with KindUnavailable.
func New(store Store, sealer *Sealer, limits Limits) *Service {
	if limits.MaxPerScope <= 0 {
		limits.MaxPerScope = DefaultMaxPerScope
	}
	return &Service{store: store, sealer: sealer, limits: limits}
}

var errNoKey = ci.Errorf(ci.KindUnavailable,
	"503 Service Unavailable - CI/CD variables need a secrets key: start Baton with --secrets-key, --secrets-key-file or BATON_SECRETS_KEY")

// CheckKey is the start-up check: it fails when variables are stored and
// the service has no key, or a key that does not decrypt them, saying so.
func (s *Service) CheckKey(ctx context.Context) error {
	v, err := s.store.AnyVariable(ctx)
	if ci.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("checking the secrets key: %w", err)
	}
	if s.sealer == nil {
		return fmt.Errorf("the database holds encrypted CI/CD variables but no secrets key was given: " +
			"pass the key they were encrypted with (--secrets-key, --secrets-key-file or BATON_SECRETS_KEY)")
	}
	if _, err := s.sealer.Open(v); err != nil {
		return fmt.Errorf("the secrets key does not decrypt the stored CI/CD variables: it is not the key they were encrypted with " +
			"(check --secrets-key, --secrets-key-file or BATON_SECRETS_KEY)")
	}
	return nil
}

func (s *Service) open(svs []*ci.SealedVariable) ([]*ci.CIVariable, error) {
	out := make([]*ci.CIVariable, 0, len(svs))
	if len(svs) > 0 && s.sealer == nil {
		return nil, errNoKey
	}
	for _, sv := range svs {
		v := sv.CIVariable
		plain, err := s.sealer.Open(sv)
		if err != nil {
			return nil, ci.Wrap(ci.KindInternal, err, "decrypting variable %s", v.Key)
		}
		v.Value = plain
		out = append(out, &v)
	}
	return out, nil
}

// List lists the variables of one place (OwnerID 0 for the instance), by
// key then environment scope, with their values.
func (s *Service) List(ctx context.Context, scope ci.VariableScope, ownerID int64) ([]*ci.CIVariable, error) {
	svs, err := s.store.ListVariables(ctx, scope, ownerID)
	if err != nil {
		return nil, err
	}
	return s.open(svs)
}

var errNotFound = ci.Errorf(ci.KindNotFound, "404 Variable Not Found")

// Get returns the variable key of one place; env, when not "", selects its
// environment scope (GitLab's filter[environment_scope]). A key defined
// for several environment scopes without env is KindConflict, as GitLab
// answers.
func (s *Service) Get(ctx context.Context, scope ci.VariableScope, ownerID int64, key, env string) (*ci.CIVariable, error) {
	sv, err := s.find(ctx, scope, ownerID, key, env)
	if err != nil {
		return nil, err
	}
	vs, err := s.open([]*ci.SealedVariable{sv})
	if err != nil {
		return nil, err
	}
	return vs[0], nil
}

// find is the one stored variable key of one place (of environment scope
// env, when not ""), still sealed: errNotFound if there is none,
// KindConflict if several environment scopes have it and env is "".
func (s *Service) find(ctx context.Context, scope ci.VariableScope, ownerID int64, key, env string) (*ci.SealedVariable, error) {
	svs, err := s.store.ListVariables(ctx, scope, ownerID)
	if err != nil {
		return nil, err
	}
	var found []*ci.SealedVariable
	for _, sv := range svs {
		if sv.Key == key && (env == "" || sv.Environment == env) {
			found = append(found, sv)
		}
	}
	switch len(found) {
	case 0:
		return nil, errNotFound
	case 1:
		return found[0], nil
	}
	return nil, ci.Errorf(ci.KindConflict, "409 There are multiple variables with provided parameters. Please use 'filter[environment_scope]'")
}

// Create validates v (ci.CIVariable.Validate), checks the place's count
// against the limit, seals the value and stores v, setting ID and times.
// The same key and environment scope in the same place is KindInvalid
// ("has already been taken"), as GitLab answers 400.
func (s *Service) Create(ctx context.Context, v *ci.CIVariable) error {
	if s.sealer == nil {
		return errNoKey
	}
	if v.Scope == ci.ScopeInstance {
		v.OwnerID, v.Environment = 0, ci.AllEnvironments // instance variables have no environment scope
	}
	if err := v.Validate(s.limits.MaxValueBytes); err != nil {
		return err
	}
	n, err := s.store.CountVariables(ctx, v.Scope, v.OwnerID)
	if err != nil {
		return err
	}
	if n >= s.limits.MaxPerScope {
		return ci.Errorf(ci.KindInvalid, "400 Bad request - the %s already has %d CI/CD variables, the limit (--max-ci-variables)", placeName(v.Scope), n)
	}
	sealed, err := s.sealer.Seal(v)
	if err != nil {
		return err
	}
	sv := &ci.SealedVariable{CIVariable: *v, Sealed: sealed}
	sv.Value = ""
	if err := s.store.CreateVariable(ctx, sv); err != nil {
		return taken(err, v)
	}
	v.ID, v.CreatedAt, v.UpdatedAt = sv.ID, sv.CreatedAt, sv.UpdatedAt
	return nil
}

func placeName(scope ci.VariableScope) string {
	switch scope {
	case ci.ScopeProject:
		return "project"
	case ci.ScopeGroup:
		return "group"
	}
	return "instance"
}

func taken(err error, v *ci.CIVariable) error {
	if ci.IsConflict(err) {
		return ci.Wrap(ci.KindInvalid, err, "400 Bad request - key (%s) has already been taken for environment scope %s", v.Key, v.Environment)
	}
	return err
}

// Update changes the variable Get finds (key, env) with change, then
// validates, re-seals and saves it. An error of change is returned as is
// and saves nothing.
func (s *Service) Update(ctx context.Context, scope ci.VariableScope, ownerID int64, key, env string, change func(*ci.CIVariable) error) (*ci.CIVariable, error) {
	if s.sealer == nil {
		return nil, errNoKey
	}
	v, err := s.Get(ctx, scope, ownerID, key, env)
	if err != nil {
		return nil, err
	}
	if err := change(v); err != nil {
		return nil, err
	}
	v.Scope, v.OwnerID, v.Key = scope, ownerID, key
	if scope == ci.ScopeInstance {
		v.Environment = ci.AllEnvironments
	}
	if err := v.Validate(s.limits.MaxValueBytes); err != nil {
		return nil, err
	}
	sealed, err := s.sealer.Seal(v)
	if err != nil {
		return nil, err
	}
	sv := &ci.SealedVariable{CIVariable: *v, Sealed: sealed}
	sv.Value = ""
	if err := s.store.UpdateVariable(ctx, sv); err != nil {
		return nil, taken(err, v)
	}
	v.UpdatedAt = sv.UpdatedAt
	return v, nil
}

// Delete removes the variable Get finds (key, env).
func (s *Service) Delete(ctx context.Context, scope ci.VariableScope, ownerID int64, key, env string) error {
	sv, err := s.find(ctx, scope, ownerID, key, env)
	if err != nil {
		return err
	}
	if err := s.store.DeleteVariable(ctx, sv.ID); ci.IsNotFound(err) {
		return errNotFound
	} else if err != nil {
		return err
	}
	return nil
}

// ForProject returns the variables a pipeline of proj may get: the
// instance's, those of every group above the project (farthest first) and
// the project's own, decrypted, in one query. Which of them a job gets
// (protected refs, environments) is ci.ScopedVariables.ForJob's.
func (s *Service) ForProject(ctx context.Context, proj *ci.Project) (ci.ScopedVariables, error) {
	var out ci.ScopedVariables
	ancestors, err := s.store.NamespaceAncestors(ctx, proj.NamespaceID)
	if err != nil {
		return out, fmt.Errorf("reading the groups of project %d: %w", proj.ID, err)
	}
	svs, err := s.store.VariablesFor(ctx, proj.ID, ancestors)
	if err != nil {
		return out, err
	}
	vs, err := s.open(svs)
	if err != nil {
		return out, err
	}
	depth := make(map[int64]int, len(ancestors))
	for i, id := range ancestors {
		depth[id] = len(ancestors) - 1 - i // farthest first
	}
	out.Groups = make([][]ci.CIVariable, len(ancestors))
	for _, v := range vs {
		switch v.Scope {
		case ci.ScopeInstance:
			out.Instance = append(out.Instance, *v)
		case ci.ScopeProject:
			out.Project = append(out.Project, *v)
		case ci.ScopeGroup:
			if d, ok := depth[v.OwnerID]; ok {
				out.Groups[d] = append(out.Groups[d], *v)
			}
		}
	}
	return out, nil
}
