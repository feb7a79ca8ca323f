package planner

import (
	"context"
	"strings"
	"time"

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
// GitLab does: none for deletions, none when the head commit asks to skip
// CI, none without a configuration file or when rules leave nothing to run,
// and a failed pipeline with yaml_errors when the file is invalid. The first
// branch pushed to a project becomes its default branch. Errors are logged,
// never returned: the push itself has already succeeded.
func (p *Planner) Push(ctx context.Context, proj *ci.Project, pusherID int64, updates []RefUpdate) []*ci.Pipeline {
	var created []*ci.Pipeline
	for _, u := range updates {
		if u.Deleted {
			continue
		}
		if proj.DefaultBranch == "" && !u.Tag {
			p.setDefaultBranch(ctx, proj, u.Name)
		}
		if pl := p.pushPipeline(ctx, proj, pusherID, u); pl != nil {
			created = append(created, pl)
		}
	}
	return created
}

func (p *Planner) setDefaultBranch(ctx context.Context, proj *ci.Project, branch string) {
	proj.DefaultBranch = branch
	if err := p.Store.UpdateProject(ctx, proj); err != nil {
		p.Logger.Error("setting default branch", "project_id", proj.ID, "branch", branch, "err", err)
		return
	}
	if err := p.Source.SetHEAD(ctx, proj.ID, branch); err != nil {
		p.Logger.Error("setting repository HEAD", "project_id", proj.ID, "branch", branch, "err", err)
	}
}

func (p *Planner) pushPipeline(ctx context.Context, proj *ci.Project, pusherID int64, u RefUpdate) *ci.Pipeline {
	log := p.Logger.With("project_id", proj.ID, "ref", u.Name, "sha", u.NewSHA)
	c, _, err := p.Source.ResolveRef(ctx, proj.ID, u.Name)
	if err != nil {
		log.Error("resolving pushed ref", "err", err)
		return nil
	}
	if c.SHA != u.NewSHA {
		log.Info("ref moved on since the push; planning its current commit", "current_sha", c.SHA)
	}
	if SkipCI(c.Message) {
		log.Info("push skips CI ([skip ci] in the commit message)")
		return nil
	}
	pl := &ci.Pipeline{ProjectID: proj.ID, Ref: u.Name, Tag: u.Tag, SHA: c.SHA, BeforeSHA: u.OldSHA,
		Source: ci.SourcePush, UserID: pusherID, CommitTitle: c.Title}
	if pl.BeforeSHA == "" {
		pl.BeforeSHA = zeroSHA
	}
	plan, err := p.plan(ctx, proj, pl, c)
	switch {
	case err == nil:
		if err := p.Creator.CreatePipeline(ctx, pl, plan); err != nil {
			log.Error("creating pipeline", "err", err)
			return nil
		}
		p.cancelRedundant(ctx, proj, pl)
	case isNoPipeline(err):
		log.Info("push runs no pipeline", "reason", ci.MessageOf(err))
		return nil
	case ci.KindOf(err) == ci.KindInvalid:
		if err := p.createFailed(ctx, pl, ci.MessageOf(err)); err != nil {
			log.Error("creating failed pipeline", "err", err)
			return nil
		}
	default:
		log.Error("planning pipeline", "err", err)
		return nil
	}
	return pl
}

// createFailed stores a pipeline whose configuration was invalid.
func (p *Planner) createFailed(ctx context.Context, pl *ci.Pipeline, yamlErrors string) error {
	now := p.now()
	pl.Status = ci.StatusFailed
	pl.YAMLErrors = yamlErrors
	pl.FinishedAt = &now
	return p.Store.CreatePipeline(ctx, pl, nil)
}

func (p *Planner) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now().UTC()
}

// SkipCI reports whether a commit message asks not to run CI.
func SkipCI(message string) bool {
	m := strings.ToLower(message)
	return strings.Contains(m, "[skip ci]") || strings.Contains(m, "[ci skip]")
}
