package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/batonci/baton/internal/ci"
)

var _ ci.DownstreamStore = (*DB)(nil)

const linkCols = `pipeline_id, project_id, parent_pipeline_id, parent_project_id, parent_job_id, depth, child_depth`

// insertLink records, in CreatePipeline's transaction, the bridge job that
// created pipeline id. A second pipeline for one bridge job is KindConflict.
func (db *DB) insertLink(ctx context.Context, tx *sql.Tx, id int64, p *ci.Pipeline) error {
	l := p.Parent
	l.PipelineID, l.ProjectID = id, p.ProjectID
	_, err := db.exec(ctx, tx, `INSERT INTO pipeline_links (`+linkCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		l.PipelineID, l.ProjectID, l.ParentPipelineID, l.ParentProjectID, l.ParentJobID, l.Depth, l.ChildDepth)
	if err != nil {
		return db.violation(err, "linking downstream pipeline", "the bridge job already created a downstream pipeline")
	}
	return nil
}

func scanLink(row interface{ Scan(...any) error }) (*ci.PipelineLink, error) {
	l := &ci.PipelineLink{}
	return l, row.Scan(&l.PipelineID, &l.ProjectID, &l.ParentPipelineID, &l.ParentProjectID, &l.ParentJobID, &l.Depth, &l.ChildDepth)
}

// LinkOf returns the link of a downstream pipeline; KindNotFound for a
// pipeline no bridge job created.
func (db *DB) LinkOf(ctx context.Context, pipelineID int64) (*ci.PipelineLink, error) {
	l, err := scanLink(db.queryRow(ctx, db.sql, `SELECT `+linkCols+` FROM pipeline_links WHERE pipeline_id = ?`, pipelineID))
	if err != nil {
		return nil, db.notFound(err, "upstream of pipeline %d", pipelineID)
	}
	return l, nil
}

// LinksOfJobs returns the links of the pipelines the given bridge jobs
// created, in pipeline order.
func (db *DB) LinksOfJobs(ctx context.Context, jobIDs []int64) ([]*ci.PipelineLink, error) {
	if len(jobIDs) == 0 {
		return nil, nil
	}
	args := make([]any, len(jobIDs))
	for i, id := range jobIDs {
		args[i] = id
	}
	return db.listLinks(ctx, `SELECT `+linkCols+` FROM pipeline_links WHERE parent_job_id IN (`+
		placeholders(len(jobIDs))+`) ORDER BY pipeline_id`, args...)
}

// ChildLinks returns the links of the pipelines bridges of pipeline
// parentID created, in creation order.
func (db *DB) ChildLinks(ctx context.Context, parentID int64) ([]*ci.PipelineLink, error) {
	return db.listLinks(ctx, `SELECT `+linkCols+` FROM pipeline_links WHERE parent_pipeline_id = ? ORDER BY pipeline_id`, parentID)
}

func (db *DB) listLinks(ctx context.Context, q string, args ...any) ([]*ci.PipelineLink, error) {
	return queryAll(ctx, db, "pipeline links", scanLink, q, args...)
}

// ListActiveBridges returns up to limit bridge jobs (latest attempts) that
// are pending (their downstream pipeline is still to be created) or
// running (a strategy: depend bridge waiting for it) with an id above
// afterID, oldest first: a sweep pages through all of them.
func (db *DB) ListActiveBridges(ctx context.Context, afterID int64, limit int) ([]*ci.Job, error) {
	if limit <= 0 {
		limit = 100
	}
	return db.listJobs(ctx, `SELECT `+jobCols+` FROM jobs WHERE bridge AND status IN ('pending', 'running') AND NOT retried
		AND id > ? ORDER BY id LIMIT `+fmt.Sprint(limit), afterID)
}

// PipelineStatuses returns the status of each of the given pipelines that
// exists, by id, in one query.
func (db *DB) PipelineStatuses(ctx context.Context, ids []int64) (map[int64]ci.Status, error) {
	out := make(map[int64]ci.Status, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := db.query(ctx, db.sql, `SELECT id, status FROM pipelines WHERE id IN (`+placeholders(len(ids))+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("reading pipeline statuses: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var st string
		if err := rows.Scan(&id, &st); err != nil {
			return nil, fmt.Errorf("scanning pipeline status: %w", err)
		}
		out[id] = ci.Status(st)
	}
	return out, rows.Err()
}
