package policy

import (
	"context"

	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/ci"
)

// PipelineSchedule decides a on one schedule of proj: Project's rules,
// and for UpdatePipelineSchedule the caller must own the schedule unless
// it may AdminPipelineSchedules (GitLab's update_pipeline_schedule and
// admin_pipeline_schedule). A caller who may not change someone else's
// schedule gets KindForbidden.
func (p *Policy) PipelineSchedule(ctx context.Context, who *auth.Principal, a Ability, proj *ci.Project, s *ci.PipelineSchedule) error {
	if err := p.Project(ctx, who, a, proj); err != nil {
		return err
	}
	if a != UpdatePipelineSchedule || (who.User != nil && who.User.ID == s.OwnerID) {
		return nil
	}
	if err := p.Project(ctx, who, AdminPipelineSchedules, proj); err != nil {
		return ci.Errorf(ci.KindForbidden, "403 Forbidden: only the schedule's owner or a Maintainer may change it")
	}
	return nil
}
