package planner

import (
	"context"
	"strings"

	"github.com/batonci/baton/internal/ci"
)

// RefUpdate is one ref a push changed.
type RefUpdate struct {
	Name    string // branch or tag name
	Tag     bool
	OldSHA  string
	NewSHA  string
	Deleted bool
}

// Push creates one pipeline per updated branch or tag, source push, as
// GitLab does, through Create: none for deletions, none when the head
// commit asks to skip CI, none without a configuration file or when rules
// leave nothing to run, and a failed pipeline with yaml_errors when the
// file is invalid. The first branch pushed to a project becomes its
// default branch. Errors are logged, never returned: the push itself has
// already succeeded.
func (p *Planner) Push(ctx context.Context, proj *ci.Project, pusherID int64, updates []RefUpdate) []*ci.Pipeline {
	var created []*ci.Pipeline
	for _, u := range updates {
		if u.Deleted {
			continue
		}
		if proj.DefaultBranch == "" && !u.Tag {
			p.setDefaultBranch(ctx, proj, u.Name)
		}
		ref := "refs/heads/" + u.Name
		if u.Tag {
			ref = "refs/tags/" + u.Name
		}
		pl, err := p.Create(ctx, ci.PipelineRequest{Project: proj, Ref: ref, Source: ci.SourcePush, UserID: pusherID,
			SHA: u.NewSHA, BeforeSHA: u.OldSHA})
		log := p.log.With("project_id", proj.ID, "ref", u.Name, "sha", u.NewSHA)
		switch {
		case err == nil:
			created = append(created, pl)
		case IsNoPipeline(err):
			log.InfoContext(ctx, "push runs no pipeline", "reason", ci.MessageOf(err))
		default:
			log.ErrorContext(ctx, "creating pipeline", "err", err)
		}
	}
	return created
}

func (p *Planner) setDefaultBranch(ctx context.Context, proj *ci.Project, branch string) {
	proj.DefaultBranch = branch
	if err := p.store.UpdateProject(ctx, proj); err != nil {
		p.log.ErrorContext(ctx, "setting default branch", "project_id", proj.ID, "branch", branch, "err", err)
		return
	}
	if err := p.source.SetHEAD(ctx, proj.ID, branch); err != nil {
		p.log.ErrorContext(ctx, "setting repository HEAD", "project_id", proj.ID, "branch", branch, "err", err)
	}
	if p.opts.DefaultBranchCreated != nil {
		p.opts.DefaultBranchCreated(ctx, proj, branch)
	}
}

// SkipCI reports whether a commit message asks not to run CI.
func SkipCI(message string) bool {
	m := strings.ToLower(message)
	return strings.Contains(m, "[skip ci]") || strings.Contains(m, "[ci skip]")
}
