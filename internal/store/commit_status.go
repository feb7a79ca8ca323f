package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/batonci/baton/internal/ci"
)

const commitStatusCols = `id, project_id, sha, ref, name, status, target_url, description, coverage, COALESCE(pipeline_id, 0),
	author_id, created_at, updated_at, started_at, finished_at`

func scanCommitStatus(row interface{ Scan(...any) error }) (*ci.CommitStatus, error) {
	s := &ci.CommitStatus{}
	var status string
	var cov sql.NullFloat64
	err := row.Scan(&s.ID, &s.ProjectID, &s.SHA, &s.Ref, &s.Name, &status, &s.TargetURL, &s.Description, &cov,
		&s.PipelineID, &s.AuthorID, scanTime(&s.CreatedAt), scanTime(&s.UpdatedAt), scanNullTime(&s.StartedAt),
		scanNullTime(&s.FinishedAt))
	if err != nil {
		return nil, err
	}
	s.Status = ci.Status(status)
	if cov.Valid {
		c := cov.Float64
		s.Coverage = &c
	}
	return s, nil
}

// SetCommitStatus inserts s or updates the status of the same project, sha,
// ref and name in one statement: status, target URL, description,
// coverage, pipeline, author, UpdatedAt; StartedAt keeps its first value,
// FinishedAt is s's. It sets s.ID, CreatedAt and UpdatedAt.
func (db *DB) SetCommitStatus(ctx context.Context, s *ci.CommitStatus) error {
	at := now()
	var cov any
	if s.Coverage != nil {
		cov = *s.Coverage
	}
	s.SHA = strings.ToLower(s.SHA)
	row := db.queryRow(ctx, db.sql,
		`INSERT INTO commit_statuses (project_id, sha, ref, name, status, target_url, description, coverage,
			pipeline_id, author_id, created_at, updated_at, started_at, finished_at)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		 ON CONFLICT (project_id, sha, ref, name) DO UPDATE SET status = excluded.status,
			target_url = excluded.target_url, description = excluded.description, coverage = excluded.coverage,
			pipeline_id = excluded.pipeline_id, author_id = excluded.author_id, updated_at = excluded.updated_at,
			started_at = COALESCE(commit_statuses.started_at, excluded.started_at), finished_at = excluded.finished_at
		 RETURNING `+commitStatusCols,
		s.ProjectID, s.SHA, s.Ref, s.Name, string(s.Status), s.TargetURL, s.Description, cov, nullID(s.PipelineID),
		s.AuthorID, db.t(at), db.t(at), db.tp(s.StartedAt), db.tp(s.FinishedAt))
	saved, err := scanCommitStatus(row)
	if err != nil {
		return db.violation(err, "saving commit status", "commit status already exists")
	}
	*s = *saved
	return nil
}

// ListCommitStatuses lists the statuses f selects, oldest first, and their
// total count.
func (db *DB) ListCommitStatuses(ctx context.Context, f ci.CommitStatusFilter) ([]*ci.CommitStatus, int, error) {
	conds := []string{`project_id = ?`, `sha = ?`}
	args := []any{f.ProjectID, strings.ToLower(f.SHA)}
	if f.Ref != "" {
		conds, args = append(conds, `ref = ?`), append(args, f.Ref)
	}
	if f.Name != "" {
		conds, args = append(conds, `name = ?`), append(args, f.Name)
	}
	where := ` WHERE ` + strings.Join(conds, " AND ")
	rows, err := db.query(ctx, db.sql, `SELECT `+commitStatusCols+` FROM commit_statuses`+where+` ORDER BY id`+limitOffset(f.Page), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("listing commit statuses: %w", err)
	}
	defer rows.Close()
	var out []*ci.CommitStatus
	for rows.Next() {
		s, err := scanCommitStatus(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("scanning commit status: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("listing commit statuses: %w", err)
	}
	total, err := db.total(ctx, f.Page, len(out), `SELECT COUNT(*) FROM commit_statuses`+where, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("counting commit statuses: %w", err)
	}
	return out, total, nil
}

var _ ci.CommitStatusStore = (*DB)(nil)
var _ ci.RunnerProjectStore = (*DB)(nil)

// EnableRunner lets a project runner run projectID's jobs too.
// KindConflict if it already may (its own project included), KindNotFound
// if the runner or project is missing, KindInvalid for other runner types.
func (db *DB) EnableRunner(ctx context.Context, runnerID, projectID int64) error {
	r, err := db.RunnerByID(ctx, runnerID)
	if err != nil {
		return err
	}
	if r.RunnerType != ci.RunnerProject {
		return ci.Errorf(ci.KindInvalid, "runner %d is not a project runner", runnerID)
	}
	if r.ProjectID == projectID {
		return ci.Errorf(ci.KindConflict, "runner %d already runs jobs of project %d", runnerID, projectID)
	}
	if _, err := db.ProjectByID(ctx, projectID); err != nil {
		return err
	}
	_, err = db.exec(ctx, db.sql, `INSERT INTO runner_projects (runner_id, project_id, created_at) VALUES (?, ?, ?)`,
		runnerID, projectID, db.t(now()))
	if err != nil {
		return db.violation(err, "enabling runner", fmt.Sprintf("runner %d already runs jobs of project %d", runnerID, projectID))
	}
	db.queueChanged(ctx)
	return nil
}

// DisableRunner undoes EnableRunner; KindNotFound if it was not enabled.
func (db *DB) DisableRunner(ctx context.Context, runnerID, projectID int64) error {
	res, err := db.exec(ctx, db.sql, `DELETE FROM runner_projects WHERE runner_id = ? AND project_id = ?`, runnerID, projectID)
	if err != nil {
		return fmt.Errorf("disabling runner %d for project %d: %w", runnerID, projectID, err)
	}
	if err := mustAffect(res, "runner %d enabled for project %d", runnerID, projectID); err != nil {
		return err
	}
	db.queueChanged(ctx)
	return nil
}

// RunnerProjects lists the projects the runner was enabled for, by id.
func (db *DB) RunnerProjects(ctx context.Context, runnerID int64) ([]int64, error) {
	rows, err := db.query(ctx, db.sql, `SELECT project_id FROM runner_projects WHERE runner_id = ? ORDER BY project_id`, runnerID)
	if err != nil {
		return nil, fmt.Errorf("listing projects of runner %d: %w", runnerID, err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
