package ci

import (
	"context"
	"time"
)

// MaxHookField bounds a hook's token and its push events branch filter
// (the API and the webhooks pages alike).
const MaxHookField = 1024

// ProjectHook is a project's webhook: events it subscribes to are POSTed
// to URL with Token in X-Gitlab-Token.
type ProjectHook struct {
	ID                     int64
	ProjectID              int64
	URL                    string
	Token                  string // sent, never shown again
	PushEvents             bool
	TagPushEvents          bool
	PipelineEvents         bool
	JobEvents              bool
	EnableSSLVerification  bool
	PushEventsBranchFilter string // wildcard pattern of branch names; "" for all
	CreatedAt              time.Time
}

// Hook triggers: the event names of GitLab's hook settings, as
// POST /hooks/:hook_id/test/:trigger takes them.
const (
	HookPush     = "push_events"
	HookTagPush  = "tag_push_events"
	HookPipeline = "pipeline_events"
	HookJob      = "job_events"
)

// Hook delivery states.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// HookDelivery is one event queued for one hook, and the outcome of its
// latest attempt.
type HookDelivery struct {
	ID            int64
	HookID        int64
	ProjectID     int64
	Trigger       string // HookPush, ...
	Event         string // X-Gitlab-Event: "Push Hook", "Pipeline Hook", ...
	UUID          string // X-Gitlab-Event-UUID
	Payload       []byte
	Status        string // DeliveryPending, DeliveryDelivered, DeliveryFailed
	Attempts      int
	NextAttemptAt time.Time
	// Outcome of the latest attempt.
	ResponseStatus int    // 0 when no response came
	ResponseBody   string // an excerpt
	Error          string // why no response came (refused address, timeout, ...)
	Duration       time.Duration
	CreatedAt      time.Time
	FinishedAt     *time.Time
}

// EventSubject is the job or pipeline an event reports, and the status
// it reports.
type EventSubject struct {
	Job    bool // a job; else a pipeline
	ID     int64
	Status Status
}

// HookStore keeps project hooks and their delivery queue.
type HookStore interface {
	// CreateProjectHook inserts h unless its project already has max hooks
	// (KindInvalid), setting ID and CreatedAt.
	CreateProjectHook(ctx context.Context, h *ProjectHook, max int) error
	// ProjectHookByID returns a project's hook; KindNotFound if the
	// project has no such hook.
	ProjectHookByID(ctx context.Context, projectID, id int64) (*ProjectHook, error)
	ListProjectHooks(ctx context.Context, projectID int64) ([]*ProjectHook, error)
	// UpdateProjectHook saves every field but ID, ProjectID and CreatedAt.
	UpdateProjectHook(ctx context.Context, h *ProjectHook) error
	// DeleteProjectHook removes a hook with its deliveries.
	DeleteProjectHook(ctx context.Context, projectID, id int64) error
	// EnqueueHookDeliveries inserts pending deliveries, setting their IDs.
	// With a subject, the subject's row is locked and its stored status
	// compared first: if it moved on (a newer event is being queued) the
	// deliveries are stale and nothing is inserted (false). Locking makes
	// a hook's events of one job or pipeline queue in the order its
	// status changed, whichever replica changed it.
	EnqueueHookDeliveries(ctx context.Context, ds []*HookDelivery, subject *EventSubject) (bool, error)
	// ClaimHookDelivery takes the oldest due pending delivery whose hook
	// has no older pending one (so that a hook gets its events in order)
	// and that nobody holds, holding it until now+lease with one
	// conditional UPDATE: of several replicas, exactly one gets it.
	// KindNotFound if none is due.
	ClaimHookDelivery(ctx context.Context, now time.Time, lease time.Duration) (*HookDelivery, error)
	// FinishHookAttempt records the outcome of an attempt on a claimed
	// delivery (status, attempts, next attempt, response, error, duration,
	// finish time) and releases it; it keeps only the latest keep finished
	// deliveries of the hook.
	FinishHookAttempt(ctx context.Context, d *HookDelivery, keep int) error
	// ListHookDeliveries lists a hook's deliveries, newest first, without
	// their payloads.
	ListHookDeliveries(ctx context.Context, hookID int64, p Page) ([]*HookDelivery, int, error)
}
