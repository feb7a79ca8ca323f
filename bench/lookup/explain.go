package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/batonci/baton/internal/store"
)

// listJobsQuery is the statement store.ListJobs runs for
// JobFilter{PipelineID, Name, IncludeRetried: true} (no page, newest first),
// with the values inlined so that both engines can EXPLAIN it.
func listJobsQuery(pipelineID int64, name string) string {
	return `SELECT id, project_id, pipeline_id, name, stage, stage_idx, status, spec, retried, attempt, runner_id,
	COALESCE(token_hash, ''), failure_reason, exit_code, user_id, trace_size, created_at, queued_at, started_at,
	finished_at, updated_at, erased_at FROM jobs WHERE pipeline_id = ` + fmt.Sprint(pipelineID) +
		` AND name = '` + strings.ReplaceAll(name, "'", "''") + `' ORDER BY id DESC`
}

// artifactsQuery is the statement store.ArtifactsOfJobs runs for one job.
func artifactsQuery(jobID int64) string {
	return `SELECT id, job_id, pipeline_id, project_id, file_type, file_format, filename, size, sha256, blob_key,
	index_key, expire_at, locked, created_at FROM artifacts WHERE job_id IN (` + fmt.Sprint(jobID) + `) ORDER BY job_id, id`
}

// explain returns the engine's plan of q, one line per plan node: EXPLAIN
// QUERY PLAN on SQLite, EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL.
func explain(ctx context.Context, db *store.DB, q string) ([]string, error) {
	return db.Plan(ctx, true, q)
}
