package store

import (
	"context"
	"fmt"

	"github.com/batonci/baton/internal/ci"
)

// PipelineEventsChannel is the notification channel that hears of every
// pipeline event recorded, its payload the pipeline's id. On PostgreSQL the
// triggers of migration 0016 notify at commit; on SQLite the store does
// after its writes.
const PipelineEventsChannel = "baton_pipeline_events"

const eventCols = `pipeline_id, seq, project_id, kind, status, previous_status, detail, job_id, name, stage,
	artifact_id, artifact_name, filename, size, sha256, created_at`

// PipelineEvents returns up to limit events of the pipeline after seq
// after, in order. Triggers write them (migration 0016).
func (db *DB) PipelineEvents(ctx context.Context, pipelineID, after int64, limit int) ([]*ci.PipelineEvent, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := db.query(ctx, db.sql, `SELECT `+eventCols+` FROM pipeline_events
		WHERE pipeline_id = ? AND seq > ? ORDER BY seq LIMIT `+fmt.Sprint(limit), pipelineID, after)
	if err != nil {
		return nil, fmt.Errorf("listing events of pipeline %d: %w", pipelineID, err)
	}
	defer rows.Close()
	var out []*ci.PipelineEvent
	for rows.Next() {
		e := &ci.PipelineEvent{}
		var status, prev string
		if err := rows.Scan(&e.PipelineID, &e.Seq, &e.ProjectID, &e.Kind, &status, &prev, &e.Detail, &e.JobID,
			&e.JobName, &e.Stage, &e.ArtifactID, &e.ArtifactName, &e.Filename, &e.Size, &e.SHA256,
			scanTime(&e.CreatedAt)); err != nil {
			return nil, fmt.Errorf("scanning event of pipeline %d: %w", pipelineID, err)
		}
		e.Status, e.PreviousStatus = ci.Status(status), ci.Status(prev)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing events of pipeline %d: %w", pipelineID, err)
	}
	return out, nil
}

// eventsRecorded tells this process's listeners of PipelineEventsChannel
// that the pipeline may have new events. PostgreSQL's triggers notify every
// replica themselves; SQLite has one process and no NOTIFY, so the store
// does after every write that may record one.
func (db *DB) eventsRecorded(ctx context.Context, pipelineID int64) {
	if db.engine.Notifier == nil && pipelineID != 0 {
		_ = db.local.Notify(ctx, PipelineEventsChannel, fmt.Sprint(pipelineID))
	}
}

// PipelineEventSeq is the seq of the pipeline's last recorded event (0 if
// none): a page showing the pipeline as read after it follows the events
// after it.
func (db *DB) PipelineEventSeq(ctx context.Context, pipelineID int64) (int64, error) {
	var seq int64
	if err := db.queryRow(ctx, db.sql, `SELECT event_seq FROM pipelines WHERE id = ?`, pipelineID).Scan(&seq); err != nil {
		return 0, db.notFound(err, "pipeline %d", pipelineID)
	}
	return seq, nil
}
