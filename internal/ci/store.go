package ci

import (
	"context"
	"iter"
	"time"
)

// The store interfaces. internal/store implements all of them on SQLite and
// PostgreSQL; consumers depend only on the ones they use. Unless a method says
// otherwise, a missing row is KindNotFound, a unique violation KindConflict.

// Page selects one page of a list: Page is 1-based, PerPage 1..100.
type Page struct {
	Page    int
	PerPage int
}

// Offset is the number of rows before the page.
func (p Page) Offset() int { return (p.Page - 1) * p.PerPage }

// UserStore keeps users and their personal access tokens.
type UserStore interface {
	// CreateUser inserts u, setting ID and CreatedAt, together with its personal
	// namespace (path = username). A taken username is KindConflict.
	CreateUser(ctx context.Context, u *User) error
	UserByID(ctx context.Context, id int64) (*User, error)
	UserByUsername(ctx context.Context, username string) (*User, error)
	// CreatePersonalToken inserts t, setting ID and CreatedAt.
	CreatePersonalToken(ctx context.Context, t *PersonalToken) error
	// PersonalTokenByHash finds a token by the hex SHA-256 of its secret.
	PersonalTokenByHash(ctx context.Context, hash string) (*PersonalToken, error)
	// PersonalTokenWithUser is PersonalTokenByHash with the token's user,
	// read together (authentication's one query).
	PersonalTokenWithUser(ctx context.Context, hash string) (*PersonalToken, *User, error)
	// TouchPersonalToken records the token's last use.
	TouchPersonalToken(ctx context.Context, id int64, at time.Time) error
}

// NamespaceStore keeps personal namespaces and groups.
type NamespaceStore interface {
	// CreateGroup inserts a group (Kind NamespaceGroup), setting ID, FullPath
	// (from the parent's) and CreatedAt. A taken full path is KindConflict.
	CreateGroup(ctx context.Context, g *Namespace) error
	NamespaceByID(ctx context.Context, id int64) (*Namespace, error)
	NamespaceByFullPath(ctx context.Context, fullPath string) (*Namespace, error)
	// NamespaceOfUser returns the user's personal namespace.
	NamespaceOfUser(ctx context.Context, userID int64) (*Namespace, error)
	// ListGroups lists groups visible to userID (admin: all), ordered by full path.
	ListGroups(ctx context.Context, userID int64, admin bool, p Page) ([]*Namespace, int, error)
	// NamespaceAncestors returns id and every ancestor's id, nearest first.
	NamespaceAncestors(ctx context.Context, id int64) ([]int64, error)
}

// ProjectFilter selects projects for ListProjects.
type ProjectFilter struct {
	// VisibleTo limits the list to projects the user can see (public ones,
	// and those where it is a member directly or through a group). Admins and
	// VisibleTo 0 with All see every project; VisibleTo 0 without All sees public ones.
	VisibleTo int64
	All       bool
	Search    string // substring of name or path
	OrderBy   string // id (default), name, path, created_at, updated_at
	Sort      string // desc (default) or asc
	Page
}

// ProjectStore keeps projects, their members, job-token allow-lists and triggers.
type ProjectStore interface {
	// CreateProject inserts p, setting ID, FullPath, CreatedAt and UpdatedAt.
	// A taken path in the namespace is KindConflict.
	CreateProject(ctx context.Context, p *Project) error
	ProjectByID(ctx context.Context, id int64) (*Project, error)
	ProjectByFullPath(ctx context.Context, fullPath string) (*Project, error)
	// ProjectWithLevel is ProjectByID (fullPath == "") or ProjectByFullPath
	// with userID's effective access level on it (as AccessLevel answers),
	// read together.
	ProjectWithLevel(ctx context.Context, id int64, fullPath string, userID int64) (*Project, AccessLevel, error)
	ListProjects(ctx context.Context, f ProjectFilter) ([]*Project, int, error)
	// UpdateProject saves the mutable fields: name, description, default branch,
	// visibility, CI config path, job token scope, build timeout, auto-cancel,
	// variables role; it sets UpdatedAt.
	UpdateProject(ctx context.Context, p *Project) error
	// DeleteProject removes the project and, with it, its pipelines, jobs,
	// traces, members, triggers and artifact rows. Blob bytes are the caller's.
	DeleteProject(ctx context.Context, id int64) error

	// SetMember adds or updates m.
	SetMember(ctx context.Context, m *Member) error
	// RemoveMember removes a user's membership of a project or namespace.
	RemoveMember(ctx context.Context, projectID, namespaceID, userID int64) error
	// ListProjectMembers lists direct members of a project.
	ListProjectMembers(ctx context.Context, projectID int64) ([]*Member, error)
	// AccessLevel is the user's effective access to the project: the highest
	// of its project membership, its memberships of the project's ancestor
	// groups, and Owner for the owner of a personal namespace. AccessNone if none.
	AccessLevel(ctx context.Context, userID, projectID int64) (AccessLevel, error)

	// AllowJobToken lets job tokens of project source act on project target.
	AllowJobToken(ctx context.Context, target, source int64) error
	DisallowJobToken(ctx context.Context, target, source int64) error
	// JobTokenAllowed reports whether target's allow-list includes source.
	JobTokenAllowed(ctx context.Context, target, source int64) (bool, error)
	ListJobTokenAllowlist(ctx context.Context, target int64) ([]int64, error)

	CreateTrigger(ctx context.Context, t *Trigger) error
	TriggerByHash(ctx context.Context, hash string) (*Trigger, error)
	ListTriggers(ctx context.Context, projectID int64) ([]*Trigger, error)
	DeleteTrigger(ctx context.Context, projectID, id int64) error
	TouchTrigger(ctx context.Context, id int64, at time.Time) error
	// TriggerByID returns one of the project's triggers.
	TriggerByID(ctx context.Context, projectID, id int64) (*Trigger, error)
	// UpdateTrigger saves the trigger's description.
	UpdateTrigger(ctx context.Context, t *Trigger) error
}

// PipelineFilter selects pipelines for ListPipelines.
type PipelineFilter struct {
	ProjectID int64
	Ref       string
	SHA       string // full sha, or a prefix of at least 7 characters
	Statuses  []Status
	Scope     string // running, pending, finished, branches, tags
	Source    string
	UserID    int64
	// Created and updated after or before these instants (exclusive, as
	// GitLab's created_after: created_at > t), when set.
	CreatedAfter, CreatedBefore *time.Time
	UpdatedAfter, UpdatedBefore *time.Time
	// YAMLErrors, when set, keeps only pipelines with (true) or without
	// (false) configuration errors.
	YAMLErrors *bool
	Name       string // exact workflow:name
	ScheduleID int64  // only pipelines this pipeline schedule created
	OrderBy    string // id (default), status, ref, updated_at, user_id
	Sort       string // desc (default) or asc
	Page
}

// PipelineStore keeps pipelines.
type PipelineStore interface {
	// CreatePipeline inserts p and its jobs in one transaction, setting p.ID,
	// p.IID (next per project), timestamps and each job's ID, PipelineID and ProjectID.
	CreatePipeline(ctx context.Context, p *Pipeline, jobs []*Job) error
	// PipelineByID returns the pipeline without its Spec.
	PipelineByID(ctx context.Context, id int64) (*Pipeline, error)
	// PipelineView is PipelineByID with, in the same statement, the user
	// who created the pipeline (nil if none or gone) and its coverage as
	// CoverageStore.PipelineCoverage computes it (nil if no job has one):
	// what GET pipeline shows, in one round trip instead of three.
	PipelineView(ctx context.Context, id int64) (*Pipeline, *User, *float64, error)
	// PipelineSpec returns what CreatePipeline stored as p.Spec; an empty
	// spec for a pipeline that has none (or none any more).
	PipelineSpec(ctx context.Context, pipelineID int64) (*PipelineSpec, error)
	ListPipelines(ctx context.Context, f PipelineFilter) ([]*Pipeline, int, error)
	// UpdatePipeline saves status, started/finished times and sets UpdatedAt.
	UpdatePipeline(ctx context.Context, p *Pipeline) error
	// DeletePipeline removes the pipeline with its jobs, traces and artifact rows.
	DeletePipeline(ctx context.Context, id int64) error
}

// JobFilter selects jobs for ListJobs.
type JobFilter struct {
	ProjectID  int64
	PipelineID int64
	Name       string   // exact
	Names      []string // any of these, exact
	Statuses   []Status
	// ScheduleOnly loads only the part of each Spec that scheduling reads
	// (When, AllowFailure, AllowFailureExitCodes, Needs, HasNeeds,
	// NodeIndex, NodeTotal, Timeout, Retry, Interruptible, Deploy,
	// ResourceGroup) and marks the jobs
	// PartialSpec: listing a pipeline's jobs to advance it then never reads
	// their scripts, variables, images or artifacts.
	ScheduleOnly   bool
	IncludeRetried bool
	// Kind limits the list to builds (jobs runners run), bridges
	// (trigger: jobs) or external commit statuses; "" lists all.
	Kind      JobKind
	Page           // PerPage 0 = no limit
	Ascending bool // by id; default newest first
}

// JobKind selects builds or bridges in JobFilter.
type JobKind string

// Job kinds.
const (
	JobKindBuilds  JobKind = "builds"
	JobKindBridges JobKind = "bridges"
	// JobKindExternal are external commit statuses (Job.External).
	JobKindExternal JobKind = "external"
)

// JobStore keeps jobs, their traces and job-token lookups.
type JobStore interface {
	JobByID(ctx context.Context, id int64) (*Job, error)
	// JobByTokenHash finds the job whose token hashes to hash.
	JobByTokenHash(ctx context.Context, hash string) (*Job, error)
	ListJobs(ctx context.Context, f JobFilter) ([]*Job, int, error)
	// UpdateJob saves j's mutable fields (status, runner, token hash, failure
	// reason, exit code, trace size, times) if the stored status is still
	// from; otherwise it is KindConflict and nothing changes.
	UpdateJob(ctx context.Context, j *Job, from Status) error
	// RetryJob marks old as retried and inserts next (a new attempt) in one
	// transaction, setting next.ID. old must not be retried already (KindConflict).
	RetryJob(ctx context.Context, old, next *Job) error
	// AssignNextJob atomically hands the oldest pending job that r may run
	// (tags, run_untagged, project/group scope, not paused) to r: status
	// running, RunnerID, TokenHash and StartedAt set. KindNotFound if none.
	// No job is ever assigned twice, also across replicas.
	AssignNextJob(ctx context.Context, r *Runner, tokenHash string, now time.Time) (*Job, error)
	// ListStaleJobs returns active (running or canceling) jobs whose
	// UpdatedAt is before before.
	ListStaleJobs(ctx context.Context, before time.Time, limit int) ([]*Job, error)
	// TouchJob sets an active job's UpdatedAt (runner keepalive).
	TouchJob(ctx context.Context, id int64, at time.Time) error

	// AppendTrace appends data to the job's log if offset equals its current
	// size and returns the new size. On a mismatch it returns the current size
	// and a KindConflict error.
	AppendTrace(ctx context.Context, jobID, offset int64, data []byte) (int64, error)
	// ReadTrace returns the job's log from offset on (at most limit bytes, 0 = all).
	ReadTrace(ctx context.Context, jobID, offset, limit int64) ([]byte, error)
	// EraseJob removes a finished job's log and records who erased it and
	// when (ErasedAt, ErasedBy set on j, TraceSize 0). A job that is not
	// finished is KindConflict and nothing changes. Artifacts are the
	// caller's to remove.
	EraseJob(ctx context.Context, j *Job, by int64, at time.Time) error
}

// ArtifactStore keeps artifact rows. Rows point at bytes in the blob store.
type ArtifactStore interface {
	// CreateArtifact inserts a, setting ID and CreatedAt. A second artifact
	// of the same file type for one job is KindConflict.
	CreateArtifact(ctx context.Context, a *Artifact) error
	// CreateArchive is CreateArtifact for an archive together with one row
	// per file (its path and digest), in one transaction: FilesByDigest
	// finds the archive's files as soon as it exists. Files with an empty
	// SHA256 are skipped.
	CreateArchive(ctx context.Context, a *Artifact, files iter.Seq[ArtifactFile]) error
	// FilesByDigest lists the archives of a project holding a file whose
	// SHA-256 is sha256 (lowercase hex), newest first, one page, with the
	// total count.
	FilesByDigest(ctx context.Context, projectID int64, sha256 string, p Page) ([]*FileProvenance, int, error)
	// ReplaceArtifact inserts a in place of the job's artifact of the same
	// file type and name in one transaction, returning the replaced row
	// (nil if none) whose bytes the caller deletes.
	ReplaceArtifact(ctx context.Context, a *Artifact) (*Artifact, error)
	ArtifactByID(ctx context.Context, id int64) (*Artifact, error)
	// ArtifactsOfJobs lists the artifacts of the given jobs.
	ArtifactsOfJobs(ctx context.Context, jobIDs []int64) ([]*Artifact, error)
	// JobWithArtifacts reads a job's identity and status (PartialSpec: no
	// spec, no token) and its artifacts in one query; KindNotFound if the
	// job does not exist.
	JobWithArtifacts(ctx context.Context, jobID int64) (*Job, []*Artifact, error)
	// ArtifactsOfProject lists a project's artifacts, only those of one
	// pipeline when pipelineID is not 0.
	ArtifactsOfProject(ctx context.Context, projectID, pipelineID int64) ([]*Artifact, error)
	// UpdateArtifact saves ExpireAt and Locked.
	UpdateArtifact(ctx context.Context, a *Artifact) error
	DeleteArtifact(ctx context.Context, id int64) error
	// ListExpiredArtifacts returns unlocked artifacts whose ExpireAt is before now.
	ListExpiredArtifacts(ctx context.Context, now time.Time, limit int) ([]*Artifact, error)
	// ProjectArtifactsSize is the total size of a project's artifacts.
	ProjectArtifactsSize(ctx context.Context, projectID int64) (int64, error)
}

// RunnerFilter selects runners for ListRunners.
type RunnerFilter struct {
	// ProjectID selects the runners that may run the project's jobs: its
	// project runners (its own and those enabled for it), the group
	// runners of its groups and the instance runners.
	ProjectID int64
	Type      string
	Paused    *bool
	Page
}

// RunnerStore keeps runners and instance-wide settings.
type RunnerStore interface {
	// CreateRunner inserts r, setting ID and CreatedAt.
	CreateRunner(ctx context.Context, r *Runner) error
	RunnerByID(ctx context.Context, id int64) (*Runner, error)
	RunnerByTokenHash(ctx context.Context, hash string) (*Runner, error)
	ListRunners(ctx context.Context, f RunnerFilter) ([]*Runner, int, error)
	// UpdateRunner saves every field but ID and CreatedAt.
	UpdateRunner(ctx context.Context, r *Runner) error
	DeleteRunner(ctx context.Context, id int64) error
	// TouchRunner records a contact: time, version, platform, architecture,
	// executor and IP address.
	TouchRunner(ctx context.Context, r *Runner) error
}

// SettingStore keeps instance-wide settings (registration token hash, ...).
type SettingStore interface {
	// Setting returns the value of key, KindNotFound if unset.
	Setting(ctx context.Context, key string) (string, error)
	SetSetting(ctx context.Context, key, value string) error
}

// GroupMemberStore answers membership questions about groups.
type GroupMemberStore interface {
	// NamespaceAccessLevel is the user's access to a namespace: the highest of
	// its memberships of the namespace and its ancestors, Owner for the owner
	// of a personal namespace, AccessNone otherwise.
	NamespaceAccessLevel(ctx context.Context, userID, namespaceID int64) (AccessLevel, error)
	// ListNamespaceMembers lists direct members of a namespace.
	ListNamespaceMembers(ctx context.Context, namespaceID int64) ([]*Member, error)
	// CountOwners is how many distinct users have Owner access to a project
	// (projectID != 0) or else the namespace, directly or inherited.
	CountOwners(ctx context.Context, projectID, namespaceID int64) (int, error)
}
