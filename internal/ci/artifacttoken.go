package ci

import (
	"context"
	"slices"
	"time"
)

// ArtifactToken is a read-only, artifact-only token a running job mints for
// the world outside it: it reads the artifacts of named jobs of the job's
// own pipeline (only the named published artifacts when Artifacts is not
// empty) until it expires, is revoked or has been used MaxUses times,
// optionally only from some networks. Only the SHA-256 of its secret is
// stored.
type ArtifactToken struct {
	ID         int64
	ProjectID  int64
	PipelineID int64
	JobID      int64 // the job that minted it
	TokenHash  string
	TokenTail  string   // last 4 characters, to tell tokens apart in lists
	Jobs       []string // names of jobs of the pipeline it reads
	Artifacts  []string // published artifact names; empty: every artifact of those jobs
	AllowedIPs []string // CIDRs the token may be used from; empty: anywhere
	MaxUses    int64    // 0: unlimited
	Uses       int64
	ExpiresAt  time.Time
	RevokedAt  *time.Time
	CreatedAt  time.Time
	LastUsedAt *time.Time
}

// GrantsJob reports whether the token names the job name.
func (t *ArtifactToken) GrantsJob(name string) bool { return slices.Contains(t.Jobs, name) }

// GrantsArtifact reports whether the token reads the artifact of that name
// ("" is a job's archive): any when it names no artifacts.
func (t *ArtifactToken) GrantsArtifact(name string) bool {
	return len(t.Artifacts) == 0 || name != "" && slices.Contains(t.Artifacts, name)
}

// Usable reports whether the token is neither revoked, expired nor used up
// at now.
func (t *ArtifactToken) Usable(now time.Time) bool {
	return t.RevokedAt == nil && now.Before(t.ExpiresAt) && (t.MaxUses == 0 || t.Uses < t.MaxUses)
}

// ArtifactTokenUse is one recorded use of an artifact token.
type ArtifactTokenUse struct {
	ID         int64
	TokenID    int64
	UsedAt     time.Time
	RemoteAddr string
	Route      string // the route's pattern, e.g. GET /api/v4/projects/{id}/pipelines/{pipeline_id}/artifacts
	Status     int
	Bytes      int64
}

// ArtifactTokenStore keeps artifact tokens and the record of their uses.
type ArtifactTokenStore interface {
	// CreateArtifactToken inserts t, setting ID and CreatedAt, unless the
	// pipeline already has perPipeline tokens or the project perProject
	// live (neither revoked nor expired) ones: KindTooMany (limits ≤ 0:
	// none). An unknown project, pipeline or job is KindInvalid.
	CreateArtifactToken(ctx context.Context, t *ArtifactToken, perPipeline, perProject int) error
	// ArtifactTokenByHash finds a token by its secret's hash, KindNotFound if none.
	ArtifactTokenByHash(ctx context.Context, hash string) (*ArtifactToken, error)
	// ArtifactTokenByID finds a project's token, KindNotFound if none.
	ArtifactTokenByID(ctx context.Context, projectID, id int64) (*ArtifactToken, error)
	// ListArtifactTokens lists a project's tokens, newest first, with their total.
	ListArtifactTokens(ctx context.Context, projectID int64, p Page) ([]*ArtifactToken, int, error)
	// RevokeArtifactToken revokes a project's token at at; KindNotFound if
	// the project has no such token (revoking twice is not an error).
	RevokeArtifactToken(ctx context.Context, projectID, id int64, at time.Time) error
	// ClaimArtifactTokenUse counts one use of the token, in one statement
	// that holds on every replica: it fails (KindUnauthorized) unless the
	// token is, at at, neither revoked, expired nor used up.
	ClaimArtifactTokenUse(ctx context.Context, id int64, at time.Time) error
	// RecordArtifactTokenUse appends u to the token's use list, keeping its
	// newest keep entries (keep ≤ 0: all).
	RecordArtifactTokenUse(ctx context.Context, u *ArtifactTokenUse, keep int) error
	// ArtifactTokenUses lists a token's recorded uses, newest first, with their total.
	ArtifactTokenUses(ctx context.Context, tokenID int64, p Page) ([]*ArtifactTokenUse, int, error)
}
