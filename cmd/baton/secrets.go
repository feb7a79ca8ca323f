package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/gitserve"
	"github.com/batonci/baton/internal/policy"
	"github.com/batonci/baton/internal/variables"
)

// Secrets configure CI/CD variables: the key their values are encrypted
// with, which never enters the database, and how many one place may keep.
type Secrets struct {
	SecretsKey     string // --secrets-key: 64 hex digits or base64 of 32 bytes
	SecretsKeyFile string // --secrets-key-file: a file holding it
	MaxCIVariables int64  // variables of the instance, one group or one project
	// GenerateKey, when no key is given, uses DATA_DIR/secrets.key,
	// creating it (0600) first if needed (`baton up`).
	GenerateKey bool
}

// bindSecrets registers the secrets flags.
func (c *Config) bindSecrets(b flagBinder) {
	s := &c.Secrets
	b.str(&s.SecretsKey, "secrets-key", "BATON_SECRETS_KEY", "",
		"key encrypting CI/CD variable values: 64 hex digits or base64 of 32 bytes (openssl rand -base64 32); never stored in the database")
	b.str(&s.SecretsKeyFile, "secrets-key-file", "BATON_SECRETS_KEY_FILE", "", "file holding the --secrets-key")
	b.integer(&s.MaxCIVariables, "max-ci-variables", "BATON_MAX_CI_VARIABLES", variables.DefaultMaxPerScope,
		"CI/CD variables the instance, one group or one project may have")
}

// openVariables loads the secrets key, refuses to start when stored
// variables do not decrypt with it (or there is none), and builds the
// variables service.
func (m *Main) openVariables(ctx context.Context) (*variables.Service, error) {
	s := m.Config.Secrets
	key, err := variables.KeySource{Value: s.SecretsKey, File: s.SecretsKeyFile}.Load()
	if err != nil {
		return nil, err
	}
	if key == nil && s.GenerateKey {
		path := filepath.Join(m.Config.DataDir, "secrets.key")
		var created bool
		if key, created, err = variables.GenerateKeyFile(path); err != nil {
			return nil, fmt.Errorf("secrets key: %w", err)
		}
		if created {
			m.GeneratedKeyFile = path
			m.Logger.Warn("generated a secrets key for CI/CD variables; keep it (and back it up): without it the variables cannot be read",
				"path", path)
		}
		m.Config.SecretsKeyFile = path
	}
	var sealer *variables.Sealer
	if key != nil {
		if sealer, err = variables.NewSealer(key); err != nil {
			return nil, err
		}
	} else {
		m.Logger.Info("no secrets key given (--secrets-key, --secrets-key-file, BATON_SECRETS_KEY): CI/CD variables cannot be created")
	}
	svc := variables.New(m.Store, sealer, variables.Limits{MaxPerScope: int(s.MaxCIVariables), MaxValueBytes: m.Config.MaxVariableBytes})
	if err := svc.CheckKey(ctx); err != nil {
		return nil, fmt.Errorf("refusing to start: %w", err)
	}
	return svc, nil
}

// checkPush decides a push's ref updates against the project's protected
// branches and tags: the policy's PushToProtectedRef for each updated
// branch or tag, and for branch updates whether they may be forced. While
// the project has no branch (no default branch yet), its branches are
// protected as the instance's default branch protection says
// (PushToEmptyProject).
func (g gitAccess) checkPush(rules func(context.Context, int64) ([]*ci.ProtectedRef, error), prot ci.BranchProtection) func(ctx context.Context, proj *ci.Project, username, password string, updates []gitserve.RefUpdate) (gitserve.PushDecision, error) {
	return func(ctx context.Context, proj *ci.Project, username, password string, updates []gitserve.RefUpdate) (gitserve.PushDecision, error) {
		var d gitserve.PushDecision
		rs, err := rules(ctx, proj.ID)
		empty := proj.DefaultBranch == "" && prot.ProtectsEmptyProject()
		if err != nil || len(rs) == 0 && !empty {
			return d, err
		}
		who, err := g.check(ctx, proj, username, password, policy.PushCode)
		if err != nil {
			return d, err
		}
		// refused records a policy refusal of u and reports whether err was
		// one; any other error ends the decision.
		refused := func(u gitserve.RefUpdate, err error) (bool, error) {
			if err == nil {
				return false, nil
			}
			if ci.KindOf(err) != ci.KindForbidden {
				return false, err
			}
			if d.Refused == nil {
				d.Refused = map[string]string{}
			}
			d.Refused[u.Ref] = ci.MessageOf(err)
			return true, nil
		}
		for _, u := range updates {
			if !u.Tag && !isBranch(u.Ref) {
				continue
			}
			if empty && !u.Tag {
				if no, err := refused(u, g.policy.PushToEmptyProject(ctx, who, proj, prot)); err != nil {
					return d, err
				} else if no {
					continue
				}
			}
			change := policy.RefChange{Name: u.Name, Tag: u.Tag, Created: u.Created, Deleted: u.Deleted}
			if no, err := refused(u, g.policy.PushToProtectedRef(ctx, who, proj, rs, change)); err != nil {
				return d, err
			} else if no {
				continue
			}
			if u.Tag || u.Created || u.Deleted {
				continue
			}
			change.Forced = true
			if err := g.policy.PushToProtectedRef(ctx, who, proj, rs, change); err != nil {
				if d.NoForce == nil {
					d.NoForce = map[string]string{}
				}
				d.NoForce[u.Ref] = ci.MessageOf(err)
			}
		}
		return d, nil
	}
}

func isBranch(ref string) bool {
	return len(ref) > len("refs/heads/") && ref[:len("refs/heads/")] == "refs/heads/"
}
