package main

import (
	"github.com/batonci/baton/internal/api"
	"github.com/batonci/baton/internal/artifacts"
	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/deploy"
	"github.com/batonci/baton/internal/gitserve"
	"github.com/batonci/baton/internal/hooks"
	"github.com/batonci/baton/internal/planner"
	"github.com/batonci/baton/internal/policy"
	"github.com/batonci/baton/internal/reaper"
	"github.com/batonci/baton/internal/releases"
	"github.com/batonci/baton/internal/resourcegroup"
	"github.com/batonci/baton/internal/runnerapi"
	"github.com/batonci/baton/internal/schedule"
	"github.com/batonci/baton/internal/scheduler"
	"github.com/batonci/baton/internal/store"
	"github.com/batonci/baton/internal/sweeper"
	"github.com/batonci/baton/internal/web"
)

// Each consumer declares the store methods it uses; the one store
// implements them all, and the planner's entry point is what the API and
// pushes call.
var (
	_ planner.Store           = (*store.DB)(nil)
	_ scheduler.Store         = (*store.DB)(nil)
	_ reaper.Store            = (*store.DB)(nil)
	_ auth.Store              = (*store.DB)(nil)
	_ policy.Levels           = (*store.DB)(nil)
	_ artifacts.Store         = (*store.DB)(nil)
	_ runnerapi.Store         = (*store.DB)(nil)
	_ web.Store               = (*store.DB)(nil)
	_ api.Store               = (*store.DB)(nil)
	_ runnerapi.Notifier      = (*store.DB)(nil)
	_ sweeper.Store           = (*store.DB)(nil)
	_ schedule.Store          = (*store.DB)(nil)
	_ hooks.Store             = (*store.DB)(nil)
	_ hooks.DeliverStore      = (*store.DB)(nil)
	_ scheduler.CoverageStore = (*store.DB)(nil)
	_ deploy.Store            = (*store.DB)(nil)
	_ resourcegroup.Store     = (*store.DB)(nil)
	_ releases.Store          = (*store.DB)(nil)

	_ planner.Scheduler    = (*scheduler.Scheduler)(nil)
	_ runnerapi.Scheduler  = (*scheduler.Scheduler)(nil)
	_ web.Scheduler        = (*scheduler.Scheduler)(nil)
	_ api.Scheduler        = (*scheduler.Scheduler)(nil)
	_ api.Planner          = (*planner.Planner)(nil)
	_ planner.Policy       = (*policy.Policy)(nil)
	_ planner.IncludeRepos = (*gitserve.Repos)(nil)
	_ scheduler.Events     = (*hooks.Service)(nil)
	_ scheduler.Events     = (*deploy.Service)(nil)
	_ api.Environments     = (*deploy.Service)(nil)
	_ resourcegroup.Jobs   = (*scheduler.Scheduler)(nil)
	_ scheduler.Resources  = (*resourcegroup.Service)(nil)
	_ runnerapi.Releaser   = (*releases.Service)(nil)
	_ api.Releases         = (*releases.Service)(nil)
	_ releases.Code        = (*gitserve.Repos)(nil)
	_ api.HookTester       = (*hooks.Service)(nil)
)
