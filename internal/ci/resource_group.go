package ci

import (
	"context"
	"time"
)

// ResourceGroup lets at most one job of a project's jobs that name it run
// at a time (resource_group: keyword). HolderJobID is the job holding it,
// 0 when it is free.
type ResourceGroup struct {
	ID          int64
	ProjectID   int64
	Key         string
	ProcessMode string // unordered, oldest_first, newest_first
	HolderJobID int64
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// GitLab's resource group process modes.
const (
	ProcessUnordered   = "unordered"
	ProcessOldestFirst = "oldest_first"
	ProcessNewestFirst = "newest_first"
)

// ProcessModes are the values process_mode accepts.
var ProcessModes = []string{ProcessUnordered, ProcessOldestFirst, ProcessNewestFirst}

// MaxResourceGroupKey is GitLab's limit on a resource group's key.
const MaxResourceGroupKey = 255

// ResourceGroupStore keeps resource groups and who holds them. Claims are
// compare-and-sets on the group's row, so that any number of replicas
// hand a group to one job at a time.
type ResourceGroupStore interface {
	// EnsureResourceGroup returns the project's group named key, creating
	// it (unordered) if there is none.
	EnsureResourceGroup(ctx context.Context, projectID int64, key string) (*ResourceGroup, error)
	ResourceGroupByKey(ctx context.Context, projectID int64, key string) (*ResourceGroup, error)
	ListResourceGroups(ctx context.Context, projectID int64, p Page) ([]*ResourceGroup, int, error)
	// SetProcessMode changes a group's process mode.
	SetProcessMode(ctx context.Context, g *ResourceGroup) error
	// ClaimResourceGroup makes jobID the holder if the group is free;
	// false if another job holds it.
	ClaimResourceGroup(ctx context.Context, groupID, jobID int64) (bool, error)
	// ReleaseResourceGroup frees the group if jobID holds it.
	ReleaseResourceGroup(ctx context.Context, groupID, jobID int64) error
	// WaitingJobs lists up to limit jobs of the project waiting for the
	// group, in the order mode hands it out.
	WaitingJobs(ctx context.Context, projectID int64, key, mode string, limit int) ([]*Job, error)
	// GroupsWithWaitingJobs lists up to limit (project, key) pairs that
	// have waiting jobs and come after after, in (project, key) order: a
	// sweep pages through them all.
	GroupsWithWaitingJobs(ctx context.Context, after ResourceGroupRef, limit int) ([]ResourceGroupRef, error)
}

// ResourceGroupRef names a resource group.
type ResourceGroupRef struct {
	ProjectID int64
	Key       string
}
