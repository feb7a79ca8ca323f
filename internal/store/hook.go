package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/batonci/baton/internal/ci"
)

var _ ci.HookStore = (*DB)(nil)

const hookCols = `id, project_id, url, token, push_events, tag_push_events, pipeline_events, job_events,
	enable_ssl_verification, push_events_branch_filter, created_at`

func scanHook(row interface{ Scan(...any) error }) (*ci.ProjectHook, error) {
	h := &ci.ProjectHook{}
	err := row.Scan(&h.ID, &h.ProjectID, &h.URL, &h.Token, &h.PushEvents, &h.TagPushEvents, &h.PipelineEvents,
		&h.JobEvents, &h.EnableSSLVerification, &h.PushEventsBranchFilter, scanTime(&h.CreatedAt))
	return h, err
}

// CreateProjectHook inserts h unless its project has max hooks already
// (counted in the inserting transaction, as CreatePipelineSchedule).
func (db *DB) CreateProjectHook(ctx context.Context, h *ci.ProjectHook, max int) error {
	at := now()
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.checkCount(ctx, tx, max, "a project may have at most %d webhooks",
			`SELECT COUNT(*) FROM project_hooks WHERE project_id = ?`, h.ProjectID); err != nil {
			return err
		}
		err := db.queryRow(ctx, tx,
			`INSERT INTO project_hooks (project_id, url, token, push_events, tag_push_events, pipeline_events, job_events,
				enable_ssl_verification, push_events_branch_filter, created_at)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			h.ProjectID, h.URL, h.Token, h.PushEvents, h.TagPushEvents, h.PipelineEvents, h.JobEvents,
			h.EnableSSLVerification, h.PushEventsBranchFilter, db.t(at)).Scan(&h.ID)
		return db.violation(err, "creating webhook", "webhook already exists")
	})
	if err != nil {
		return err
	}
	h.CreatedAt = at
	return nil
}

// ProjectHookByID returns a project's hook.
func (db *DB) ProjectHookByID(ctx context.Context, projectID, id int64) (*ci.ProjectHook, error) {
	h, err := scanHook(db.queryRow(ctx, db.sql, `SELECT `+hookCols+` FROM project_hooks WHERE project_id = ? AND id = ?`, projectID, id))
	if err != nil {
		return nil, db.notFound(err, "hook %d", id)
	}
	return h, nil
}

// ListProjectHooks lists a project's hooks by id.
func (db *DB) ListProjectHooks(ctx context.Context, projectID int64) ([]*ci.ProjectHook, error) {
	rows, err := db.query(ctx, db.sql, `SELECT `+hookCols+` FROM project_hooks WHERE project_id = ? ORDER BY id`, projectID)
	if err != nil {
		return nil, fmt.Errorf("listing hooks of project %d: %w", projectID, err)
	}
	defer rows.Close()
	var out []*ci.ProjectHook
	for rows.Next() {
		h, err := scanHook(rows)
		if err != nil {
			return nil, fmt.Errorf("scanning hook: %w", err)
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// UpdateProjectHook saves h's settings.
func (db *DB) UpdateProjectHook(ctx context.Context, h *ci.ProjectHook) error {
	res, err := db.exec(ctx, db.sql,
		`UPDATE project_hooks SET url = ?, token = ?, push_events = ?, tag_push_events = ?, pipeline_events = ?, job_events = ?,
			enable_ssl_verification = ?, push_events_branch_filter = ? WHERE project_id = ? AND id = ?`,
		h.URL, h.Token, h.PushEvents, h.TagPushEvents, h.PipelineEvents, h.JobEvents, h.EnableSSLVerification,
		h.PushEventsBranchFilter, h.ProjectID, h.ID)
	if err != nil {
		return fmt.Errorf("updating hook %d: %w", h.ID, err)
	}
	return mustAffect(res, "hook %d", h.ID)
}

// DeleteProjectHook removes a hook with its deliveries.
func (db *DB) DeleteProjectHook(ctx context.Context, projectID, id int64) error {
	res, err := db.exec(ctx, db.sql, `DELETE FROM project_hooks WHERE project_id = ? AND id = ?`, projectID, id)
	if err != nil {
		return fmt.Errorf("deleting hook %d: %w", id, err)
	}
	return mustAffect(res, "hook %d", id)
}

// EnqueueHookDeliveries inserts pending deliveries in one transaction,
// unless subject's stored status is no longer the one the event reports.
func (db *DB) EnqueueHookDeliveries(ctx context.Context, ds []*ci.HookDelivery, subject *ci.EventSubject) (bool, error) {
	if len(ds) == 0 {
		return false, nil
	}
	at := now()
	fresh := true
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if subject != nil {
			table := "pipelines"
			if subject.Job {
				table = "jobs"
			}
			var status string
			err := db.queryRow(ctx, tx, `SELECT status FROM `+table+` WHERE id = ?`+db.engine.LockRow, subject.ID).Scan(&status)
			if err != nil {
				return db.notFound(err, "%s %d", table, subject.ID)
			}
			if fresh = ci.Status(status) == subject.Status; !fresh {
				return nil
			}
		}
		for _, d := range ds {
			if d.NextAttemptAt.IsZero() {
				d.NextAttemptAt = at
			}
			d.Status, d.CreatedAt, d.NextAttemptAt = ci.DeliveryPending, at, norm(d.NextAttemptAt)
			err := db.queryRow(ctx, tx,
				`INSERT INTO hook_deliveries (hook_id, project_id, trigger_name, event, uuid, payload, status, next_attempt_at, created_at)
				 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
				d.HookID, d.ProjectID, d.Trigger, d.Event, d.UUID, string(d.Payload), d.Status, db.t(d.NextAttemptAt), db.t(at)).Scan(&d.ID)
			if err != nil {
				return db.violation(err, "enqueueing hook delivery", "hook delivery already exists")
			}
		}
		return nil
	})
	return fresh && err == nil, err
}

const deliveryCols = `id, hook_id, project_id, trigger_name, event, uuid, status, attempts, next_attempt_at,
	response_status, response_body, error, duration_ms, created_at, finished_at`

func scanDelivery(row interface{ Scan(...any) error }, payload *string) (*ci.HookDelivery, error) {
	d := &ci.HookDelivery{}
	var ms int64
	dst := []any{&d.ID, &d.HookID, &d.ProjectID, &d.Trigger, &d.Event, &d.UUID, &d.Status, &d.Attempts,
		scanTime(&d.NextAttemptAt), &d.ResponseStatus, &d.ResponseBody, &d.Error, &ms, scanTime(&d.CreatedAt),
		scanNullTime(&d.FinishedAt)}
	if payload != nil {
		dst = append(dst, payload)
	}
	if err := row.Scan(dst...); err != nil {
		return nil, err
	}
	d.Duration = time.Duration(ms) * time.Millisecond
	return d, nil
}

// ClaimHookDelivery holds the oldest due delivery whose hook has no older
// pending one. The subquery picks it; the UPDATE's own conditions are the
// compare-and-set, so a replica that picked the same row and lost the
// race updates nothing (PostgreSQL re-checks them on the row it waited
// for; SQLite serializes writers).
func (db *DB) ClaimHookDelivery(ctx context.Context, at time.Time, lease time.Duration) (*ci.HookDelivery, error) {
	free := `(claimed_until IS NULL OR claimed_until <= ?)`
	var payload string
	d, err := scanDelivery(db.queryRow(ctx, db.sql,
		`UPDATE hook_deliveries SET claimed_until = ?, attempts = attempts + 1
		 WHERE id = (SELECT d.id FROM hook_deliveries d
				WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND `+free+`
				AND NOT EXISTS (SELECT 1 FROM hook_deliveries e WHERE e.hook_id = d.hook_id AND e.status = 'pending' AND e.id < d.id)
				ORDER BY d.id LIMIT 1)
		   AND status = 'pending' AND `+free+`
		 RETURNING `+deliveryCols+`, payload`,
		db.t(at.Add(lease)), db.t(at), db.t(at), db.t(at)), &payload)
	if err != nil {
		return nil, db.notFound(err, "due hook delivery")
	}
	d.Payload = []byte(payload)
	return d, nil
}

// FinishHookAttempt records an attempt's outcome and releases the
// delivery, then trims the hook's finished deliveries to keep.
func (db *DB) FinishHookAttempt(ctx context.Context, d *ci.HookDelivery, keep int) error {
	d.NextAttemptAt, d.FinishedAt = norm(d.NextAttemptAt), normp(d.FinishedAt)
	res, err := db.exec(ctx, db.sql,
		`UPDATE hook_deliveries SET status = ?, next_attempt_at = ?, claimed_until = NULL, response_status = ?,
			response_body = ?, error = ?, duration_ms = ?, finished_at = ? WHERE id = ?`,
		d.Status, db.t(d.NextAttemptAt), d.ResponseStatus, d.ResponseBody, d.Error, d.Duration.Milliseconds(),
		db.tp(d.FinishedAt), d.ID)
	if err != nil {
		return fmt.Errorf("recording hook delivery %d: %w", d.ID, err)
	}
	if err := mustAffect(res, "hook delivery %d", d.ID); err != nil {
		return err
	}
	if d.Status == ci.DeliveryPending {
		return nil
	}
	_, err = db.exec(ctx, db.sql,
		`DELETE FROM hook_deliveries WHERE hook_id = ? AND status <> 'pending' AND id < (
			SELECT MIN(id) FROM (SELECT id FROM hook_deliveries WHERE hook_id = ? AND status <> 'pending'
				ORDER BY id DESC LIMIT ?) AS kept)`, d.HookID, d.HookID, keep)
	if err != nil {
		return fmt.Errorf("trimming deliveries of hook %d: %w", d.HookID, err)
	}
	return nil
}

// ListHookDeliveries lists a hook's deliveries, newest first.
func (db *DB) ListHookDeliveries(ctx context.Context, hookID int64, p ci.Page) ([]*ci.HookDelivery, int, error) {
	rows, err := db.query(ctx, db.sql, `SELECT `+deliveryCols+` FROM hook_deliveries WHERE hook_id = ? ORDER BY id DESC`+limitOffset(p), hookID)
	if err != nil {
		return nil, 0, fmt.Errorf("listing deliveries of hook %d: %w", hookID, err)
	}
	defer rows.Close()
	var out []*ci.HookDelivery
	for rows.Next() {
		d, err := scanDelivery(rows, nil)
		if err != nil {
			return nil, 0, fmt.Errorf("scanning hook delivery: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	total, err := db.total(ctx, p, len(out), `SELECT COUNT(*) FROM hook_deliveries WHERE hook_id = ?`, hookID)
	if err != nil {
		return nil, 0, fmt.Errorf("counting deliveries: %w", err)
	}
	return out, total, nil
}
