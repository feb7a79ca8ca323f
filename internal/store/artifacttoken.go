package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/batonci/baton/internal/ci"
)

const artifactTokenCols = `id, project_id, pipeline_id, job_id, token_hash, token_tail, jobs, artifacts, allowed_ips,
	max_uses, uses, expires_at, revoked_at, created_at, last_used_at`

func joinList(l []string) string { return strings.Join(l, "\n") }

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func scanArtifactToken(row interface{ Scan(...any) error }) (*ci.ArtifactToken, error) {
	t := &ci.ArtifactToken{}
	var jobs, arts, ips string
	err := row.Scan(&t.ID, &t.ProjectID, &t.PipelineID, &t.JobID, &t.TokenHash, &t.TokenTail, &jobs, &arts, &ips,
		&t.MaxUses, &t.Uses, scanTime(&t.ExpiresAt), scanNullTime(&t.RevokedAt), scanTime(&t.CreatedAt), scanNullTime(&t.LastUsedAt))
	t.Jobs, t.Artifacts, t.AllowedIPs = splitList(jobs), splitList(arts), splitList(ips)
	return t, err
}

// CreateArtifactToken inserts t, setting ID and CreatedAt, unless the
// pipeline already has perPipeline tokens (any, revoked and expired ones
// included) or the project perProject live ones: KindTooMany. The counts
// hold across replicas: concurrent mints of a project are serialized.
func (db *DB) CreateArtifactToken(ctx context.Context, t *ci.ArtifactToken, perPipeline, perProject int) error {
	at := now()
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if perPipeline > 0 || perProject > 0 {
			// Mints of one project queue on its row (LockRow), so two
			// replicas cannot both pass the counts below.
			var id int64
			if err := db.queryRow(ctx, tx, `SELECT id FROM projects WHERE id = ?`+db.engine.LockRow, t.ProjectID).Scan(&id); err != nil {
				return db.notFound(err, "project %d", t.ProjectID)
			}
		}
		if perPipeline > 0 {
			var n int
			if err := db.queryRow(ctx, tx, `SELECT COUNT(*) FROM artifact_tokens WHERE pipeline_id = ?`, t.PipelineID).Scan(&n); err != nil {
				return fmt.Errorf("counting artifact tokens: %w", err)
			}
			if n >= perPipeline {
				return ci.Errorf(ci.KindTooMany, "429 Too Many Requests - pipeline %d already has %d artifact tokens (--max-artifact-tokens-per-pipeline)", t.PipelineID, n)
			}
		}
		if perProject > 0 {
			var n int
			if err := db.queryRow(ctx, tx, `SELECT COUNT(*) FROM artifact_tokens WHERE project_id = ? AND revoked_at IS NULL AND expires_at > ?`,
				t.ProjectID, db.t(at)).Scan(&n); err != nil {
				return fmt.Errorf("counting artifact tokens: %w", err)
			}
			if n >= perProject {
				return ci.Errorf(ci.KindTooMany, "429 Too Many Requests - the project already has %d live artifact tokens (--max-artifact-tokens-per-project)", n)
			}
		}
		err := db.queryRow(ctx, tx,
			`INSERT INTO artifact_tokens (project_id, pipeline_id, job_id, token_hash, token_tail, jobs, artifacts, allowed_ips,
			 max_uses, uses, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?) RETURNING id`,
			t.ProjectID, t.PipelineID, t.JobID, t.TokenHash, t.TokenTail, joinList(t.Jobs), joinList(t.Artifacts), joinList(t.AllowedIPs),
			t.MaxUses, db.t(t.ExpiresAt), db.t(at)).Scan(&t.ID)
		return db.violation(err, "creating artifact token", "artifact token already exists")
	})
	if err != nil {
		t.ID = 0
		return err
	}
	t.CreatedAt, t.ExpiresAt = at, norm(t.ExpiresAt)
	return nil
}

// ArtifactTokenByHash finds a token by its secret's hash.
func (db *DB) ArtifactTokenByHash(ctx context.Context, hash string) (*ci.ArtifactToken, error) {
	t, err := scanArtifactToken(db.queryRow(ctx, db.sql, `SELECT `+artifactTokenCols+` FROM artifact_tokens WHERE token_hash = ?`, hash))
	if err != nil {
		return nil, db.notFound(err, "artifact token")
	}
	return t, nil
}

// ArtifactTokenByID finds a project's token.
func (db *DB) ArtifactTokenByID(ctx context.Context, projectID, id int64) (*ci.ArtifactToken, error) {
	t, err := scanArtifactToken(db.queryRow(ctx, db.sql,
		`SELECT `+artifactTokenCols+` FROM artifact_tokens WHERE project_id = ? AND id = ?`, projectID, id))
	if err != nil {
		return nil, db.notFound(err, "artifact token %d", id)
	}
	return t, nil
}

// ListArtifactTokens lists a project's tokens, newest first.
func (db *DB) ListArtifactTokens(ctx context.Context, projectID int64, p ci.Page) ([]*ci.ArtifactToken, int, error) {
	out, err := queryAll(ctx, db, "artifact tokens", scanArtifactToken,
		`SELECT `+artifactTokenCols+` FROM artifact_tokens WHERE project_id = ? ORDER BY id DESC`+limitOffset(p), projectID)
	if err != nil {
		return nil, 0, err
	}
	total, err := db.total(ctx, p, len(out), `SELECT COUNT(*) FROM artifact_tokens WHERE project_id = ?`, projectID)
	return out, total, err
}

// RevokeArtifactToken revokes a project's token (the first revocation's
// time is kept).
func (db *DB) RevokeArtifactToken(ctx context.Context, projectID, id int64, at time.Time) error {
	res, err := db.exec(ctx, db.sql,
		`UPDATE artifact_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE project_id = ? AND id = ?`, db.t(at), projectID, id)
	if err != nil {
		return fmt.Errorf("revoking artifact token %d: %w", id, err)
	}
	return mustAffect(res, "artifact token %d", id)
}

// ClaimArtifactTokenUse counts one use in a single conditional UPDATE: two
// replicas claiming the last use of a token cannot both succeed.
func (db *DB) ClaimArtifactTokenUse(ctx context.Context, id int64, at time.Time) error {
	res, err := db.exec(ctx, db.sql,
		`UPDATE artifact_tokens SET uses = uses + 1, last_used_at = ?
		 WHERE id = ? AND revoked_at IS NULL AND expires_at > ? AND (max_uses = 0 OR uses < max_uses)`,
		db.t(at), id, db.t(at))
	if err != nil {
		return fmt.Errorf("claiming a use of artifact token %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("counting affected rows: %w", err)
	}
	if n == 0 {
		return ci.Errorf(ci.KindUnauthorized, "401 Unauthorized")
	}
	return nil
}

// RecordArtifactTokenUse appends u and drops all but the token's newest
// keep uses.
func (db *DB) RecordArtifactTokenUse(ctx context.Context, u *ci.ArtifactTokenUse, keep int) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		err := db.queryRow(ctx, tx,
			`INSERT INTO artifact_token_uses (token_id, used_at, remote_addr, route, status, bytes) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
			u.TokenID, db.t(u.UsedAt), u.RemoteAddr, u.Route, u.Status, u.Bytes).Scan(&u.ID)
		if err != nil {
			return db.violation(err, "recording artifact token use", "duplicate use")
		}
		if keep > 0 {
			if _, err := db.exec(ctx, tx, `DELETE FROM artifact_token_uses WHERE token_id = ? AND id NOT IN
				(SELECT id FROM artifact_token_uses WHERE token_id = ? ORDER BY id DESC LIMIT ?)`, u.TokenID, u.TokenID, keep); err != nil {
				return fmt.Errorf("trimming artifact token uses: %w", err)
			}
		}
		return nil
	})
}

// ArtifactTokenUses lists a token's recorded uses, newest first.
func (db *DB) ArtifactTokenUses(ctx context.Context, tokenID int64, p ci.Page) ([]*ci.ArtifactTokenUse, int, error) {
	rows, err := db.query(ctx, db.sql,
		`SELECT id, token_id, used_at, remote_addr, route, status, bytes FROM artifact_token_uses WHERE token_id = ? ORDER BY id DESC`+limitOffset(p), tokenID)
	if err != nil {
		return nil, 0, fmt.Errorf("listing artifact token uses: %w", err)
	}
	defer rows.Close()
	var out []*ci.ArtifactTokenUse
	for rows.Next() {
		u := &ci.ArtifactTokenUse{}
		if err := rows.Scan(&u.ID, &u.TokenID, scanTime(&u.UsedAt), &u.RemoteAddr, &u.Route, &u.Status, &u.Bytes); err != nil {
			return nil, 0, fmt.Errorf("scanning artifact token use: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	total, err := db.total(ctx, p, len(out), `SELECT COUNT(*) FROM artifact_token_uses WHERE token_id = ?`, tokenID)
	return out, total, err
}

var _ ci.ArtifactTokenStore = (*DB)(nil)
