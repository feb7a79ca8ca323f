package planner

import (
	"context"
	"fmt"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/ciconfig"
)

// LintRequest is a CI lint: of given content, or of the project's CI
// configuration at a ref or commit.
type LintRequest struct {
	Project *ci.Project
	Content []byte // nil: the project's configuration file at Ref or SHA
	Ref     string // the branch or tag the lint simulates ("": the default branch)
	SHA     string // a commit to read the configuration at, instead of Ref's head
	DryRun  bool   // plan as a push to Ref would, instead of listing every job
	UserID  int64  // whose access include:project and components are read with
}

// Lint checks a configuration as GitLab's CI lint does. Problems of the
// configuration are in the result; an error means the lint could not run.
func (p *Planner) Lint(ctx context.Context, req LintRequest) (*ciconfig.LintResult, error) {
	proj := req.Project
	ref := req.Ref
	if ref == "" {
		ref = proj.DefaultBranch
	}
	pl := &ci.Pipeline{ProjectID: proj.ID, Ref: ref, BeforeSHA: ci.ZeroSHA, Source: ci.SourcePush, UserID: req.UserID}
	c := ci.Commit{SHA: ci.ZeroSHA}
	resolved := false
	if req.SHA != "" {
		c.SHA, resolved = req.SHA, true
	} else if rc, tag, err := p.source.ResolveRef(ctx, proj.ID, ref); err == nil {
		c, pl.Tag, resolved = rc, tag, true
	} else if !ci.IsNotFound(err) && ci.KindOf(err) != ci.KindInvalid {
		return nil, fmt.Errorf("resolving ref %q: %w", ref, err)
	}
	c.Message = p.opts.Limits.clip(c.Message)
	pl.SHA, pl.CommitTitle = c.SHA, c.Title
	content := req.Content
	if content == nil {
		invalid := func(msg string) *ciconfig.LintResult {
			return &ciconfig.LintResult{Errors: []string{msg}, Warnings: []string{}}
		}
		if !resolved {
			return invalid("Reference not found"), nil
		}
		path := proj.ConfigPath()
		data, err := p.source.ReadFile(ctx, proj.ID, c.SHA, path)
		if ci.IsNotFound(err) || ci.KindOf(err) == ci.KindInvalid {
			return invalid("Missing CI config file"), nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s at %s: %w", path, c.SHA, err)
		}
		content = data
	}
	vars, err := p.ruleVariables(ctx, proj, pl, &c)
	if err != nil {
		return nil, err
	}
	// A simulated pipeline has no diff of its own; compare_to works. An
	// unresolved ref has no repository to read but other projects'.
	in := p.repoInput(ctx, proj, pl, &c)
	if !resolved {
		in = ciconfig.Input{Sources: in.Sources}
	}
	in.Content, in.Variables = content, vars
	return ciconfig.Lint(in, req.DryRun), nil
}
