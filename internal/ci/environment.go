package ci

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math/big"
	"regexp"
	"strings"
	"time"
)

// EnvironmentSpec is a job's environment: keyword, its name and url
// expanded when the pipeline was planned.
type EnvironmentSpec struct {
	Name       string `json:"name"`
	URL        string `json:"url,omitempty"`
	Action     string `json:"action,omitempty"` // start (default), prepare, stop, verify, access
	OnStop     string `json:"on_stop,omitempty"`
	AutoStopIn string `json:"auto_stop_in,omitempty"` // GitLab duration syntax or "never"
	Tier       string `json:"deployment_tier,omitempty"`
}

// The environment actions GitLab knows.
const (
	EnvActionStart   = "start"
	EnvActionPrepare = "prepare"
	EnvActionStop    = "stop"
	EnvActionVerify  = "verify"
	EnvActionAccess  = "access"
)

// MaxEnvironmentName is GitLab's limit on an environment's name.
const MaxEnvironmentName = 255

// EnvironmentActions are the values environment:action accepts.
var EnvironmentActions = []string{EnvActionStart, EnvActionPrepare, EnvActionStop, EnvActionVerify, EnvActionAccess}

// DeploymentTiers are the values environment:deployment_tier accepts.
var DeploymentTiers = []string{"production", "staging", "testing", "development", "other"}

// ActionOrStart is the spec's action, start when none is given.
func (e *EnvironmentSpec) ActionOrStart() string {
	if e.Action == "" {
		return EnvActionStart
	}
	return e.Action
}

// Deploys reports whether a job with this environment creates a
// deployment: only start does (GitLab: prepare, verify and access touch
// the environment without deploying; stop stops it).
func (e *EnvironmentSpec) Deploys() bool { return e.ActionOrStart() == EnvActionStart }

// TierOrGuess is the spec's deployment tier, or the one GitLab guesses
// from the environment's name.
func (e *EnvironmentSpec) TierOrGuess() string {
	if e.Tier != "" {
		return e.Tier
	}
	return GuessTier(e.Name)
}

var tierGuesses = []struct {
	re   *regexp.Regexp
	tier string
}{
	{regexp.MustCompile(`(?i)(dev|review|trunk)`), "development"},
	{regexp.MustCompile(`(?i)(test|tst|int|ac(ce|)pt|qa|qc|control|quality)`), "testing"},
	{regexp.MustCompile(`(?i)(st(a|)g|mod(e|)l|pre|demo|non)`), "staging"},
	{regexp.MustCompile(`(?i)(pr(o|)d|live)`), "production"},
}

// GuessTier is GitLab's deployment tier for an environment name that
// sets none (Environment#guess_tier).
func GuessTier(name string) string {
	for _, g := range tierGuesses {
		if g.re.MatchString(name) {
			return g.tier
		}
	}
	return "other"
}

// EnvironmentState is GitLab's environment state.
type EnvironmentState string

// Environment states.
const (
	EnvAvailable EnvironmentState = "available"
	EnvStopping  EnvironmentState = "stopping"
	EnvStopped   EnvironmentState = "stopped"
)

// Environment is a place a project deploys to, created by the first job
// that names it (or the API).
type Environment struct {
	ID          int64
	ProjectID   int64
	Name        string
	Slug        string
	ExternalURL string
	State       EnvironmentState
	Tier        string
	AutoStopAt  *time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Deployment is one job's deployment to an environment; its status
// follows the job's.
type Deployment struct {
	ID            int64
	IID           int64 // per project
	ProjectID     int64
	EnvironmentID int64
	JobID         int64
	PipelineID    int64
	Ref           string
	SHA           string
	Tag           bool
	UserID        int64
	Status        Status // created, running, success, failed, canceled, skipped, blocked
	// OnStop names the job of the same pipeline that stops the environment.
	OnStop     string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	FinishedAt *time.Time
}

// DeploymentStatusOf is the deployment status that follows a job status
// (GitLab's Deployment statuses: created, running, success, failed,
// canceled, skipped, blocked).
func DeploymentStatusOf(s Status) Status {
	switch s {
	case StatusRunning, StatusCanceling:
		return StatusRunning
	case StatusSuccess, StatusFailed, StatusCanceled, StatusSkipped:
		return s
	case StatusManual:
		return "blocked"
	}
	return StatusCreated
}

// DeploymentFilter selects deployments for ListDeployments.
type DeploymentFilter struct {
	ProjectID     int64
	EnvironmentID int64 // 0 = any
	Status        Status
	Page
	Ascending bool // by id; default newest first
}

// EnvironmentStore keeps environments and their deployments.
type EnvironmentStore interface {
	// EnsureEnvironment returns the project's environment named e.Name,
	// creating it from e if there is none (setting e's fields from what is
	// stored either way). Creating one past max per project is KindInvalid.
	EnsureEnvironment(ctx context.Context, e *Environment, max int) error
	// CreateEnvironment inserts e; a taken name is KindConflict.
	CreateEnvironment(ctx context.Context, e *Environment, max int) error
	EnvironmentByID(ctx context.Context, id int64) (*Environment, error)
	ListEnvironments(ctx context.Context, projectID int64, name, state string, p Page) ([]*Environment, int, error)
	// UpdateEnvironment saves e's URL, state, tier and auto-stop time.
	UpdateEnvironment(ctx context.Context, e *Environment) error
	// DeleteEnvironment removes a stopped environment and its deployments.
	DeleteEnvironment(ctx context.Context, projectID, id int64) error
	// DueEnvironments lists up to limit available environments whose
	// auto-stop time is at or before t.
	DueEnvironments(ctx context.Context, t time.Time, limit int) ([]*Environment, error)
	// NextAutoStop is the earliest auto-stop time of an available
	// environment, nil if none has one.
	NextAutoStop(ctx context.Context) (*time.Time, error)

	// RecordDeployment inserts the deployment of d.JobID, or updates its
	// status and times if it exists (one deployment per job); it sets d's
	// ID, IID and CreatedAt.
	RecordDeployment(ctx context.Context, d *Deployment) error
	DeploymentByID(ctx context.Context, id int64) (*Deployment, error)
	ListDeployments(ctx context.Context, f DeploymentFilter) ([]*Deployment, int, error)
	// LastDeployments returns each environment's latest successful
	// deployment, by environment id (missing where there is none).
	LastDeployments(ctx context.Context, envIDs []int64) (map[int64]*Deployment, error)
}

// EnvironmentSlug is GitLab's CI_ENVIRONMENT_SLUG: lowercase letters,
// digits and dashes, starting with a letter, at most 24 characters; a
// name that had to change gets a suffix hashed from the name.
func EnvironmentSlug(name string) string {
	sum := sha256.Sum256([]byte(name))
	return environmentSlug(name, hex.EncodeToString(sum[:]))
}

// environmentSlug is EnvironmentSlug with the name's SHA-256 given in hex.
func environmentSlug(name, hexDigest string) string {
	b := []byte(strings.ToLower(name))
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			b[i] = '-'
		}
	}
	s := string(b)
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		s = "env-" + s
	}
	for strings.Contains(s, "--") {
		s = strings.ReplaceAll(s, "--", "-")
	}
	if len(s) > 24 || s != name {
		if len(s) > 17 {
			s = s[:17]
		}
		if !strings.HasSuffix(s, "-") {
			s += "-"
		}
		n, _ := new(big.Int).SetString(hexDigest, 16)
		t := n.Text(36)
		return s + t[len(t)-6:]
	}
	return strings.TrimSuffix(s, "-")
}
