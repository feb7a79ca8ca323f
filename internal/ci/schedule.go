package ci

import (
	"context"
	"time"
)

// PipelineSchedule runs a pipeline for a ref of its project whenever its
// cron expression comes due, as its owner.
type PipelineSchedule struct {
	ID           int64
	ProjectID    int64
	OwnerID      int64
	Description  string
	Ref          string
	Cron         string // five fields, GitLab's (fugit's) syntax
	CronTimezone string // IANA name, "UTC" unless given
	Active       bool
	// NextRunAt is when the schedule next comes due; nil while inactive.
	NextRunAt *time.Time
	// LastPipelineID is the pipeline it last created, 0 if none yet.
	LastPipelineID int64
	// InactiveReason says why the schedule deactivated itself (its owner
	// lost access, its ref is gone, ...); "" for one a user deactivated.
	InactiveReason string
	// Variables are given to every pipeline it creates. Only
	// PipelineScheduleByID fills them.
	Variables []Variable
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ScheduleStore keeps pipeline schedules and their variables.
type ScheduleStore interface {
	// CreatePipelineSchedule inserts s (without variables) unless its
	// project already has max schedules (KindInvalid), setting ID,
	// CreatedAt and UpdatedAt.
	CreatePipelineSchedule(ctx context.Context, s *PipelineSchedule, max int) error
	// PipelineScheduleByID returns a schedule with its variables.
	PipelineScheduleByID(ctx context.Context, id int64) (*PipelineSchedule, error)
	// ListPipelineSchedules lists a project's schedules by id, only the
	// active (or inactive) ones when active is not nil.
	ListPipelineSchedules(ctx context.Context, projectID int64, active *bool) ([]*PipelineSchedule, error)
	// UpdatePipelineSchedule saves owner, description, ref, cron, time
	// zone, active, next run and inactive reason; it sets UpdatedAt.
	UpdatePipelineSchedule(ctx context.Context, s *PipelineSchedule) error
	// DeletePipelineSchedule removes a project's schedule with its
	// variables; KindNotFound if the project has no such schedule.
	DeletePipelineSchedule(ctx context.Context, projectID, id int64) error
	// CreatePipelineScheduleVariable adds v unless the schedule has max
	// variables (KindInvalid); a key it has already is KindConflict.
	CreatePipelineScheduleVariable(ctx context.Context, scheduleID int64, v Variable, max int) error
	// UpdatePipelineScheduleVariable changes the value and type of v.Key;
	// KindNotFound if the schedule has no such variable.
	UpdatePipelineScheduleVariable(ctx context.Context, scheduleID int64, v Variable) error
	// DeletePipelineScheduleVariable removes key and returns what it was.
	DeletePipelineScheduleVariable(ctx context.Context, scheduleID int64, key string) (*Variable, error)
	// DuePipelineSchedules lists up to limit active schedules whose
	// NextRunAt is at or before now, earliest first.
	DuePipelineSchedules(ctx context.Context, now time.Time, limit int) ([]*PipelineSchedule, error)
	// ClaimPipelineScheduleRun moves an active schedule's NextRunAt from
	// due to next in one conditional UPDATE (compare-and-set) and reports
	// whether this caller moved it: of several replicas that saw the same
	// due run, exactly one claims it.
	ClaimPipelineScheduleRun(ctx context.Context, id int64, due, next time.Time) (bool, error)
	// SetPipelineScheduleLastPipeline records the pipeline a run created, as
	// the schedule's last and among those GET .../pipelines lists.
	SetPipelineScheduleLastPipeline(ctx context.Context, id, pipelineID int64) error
}
