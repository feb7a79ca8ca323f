package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/batonci/baton/internal/ci"
)

var _ ci.EnvironmentStore = (*DB)(nil)

const environmentCols = `id, project_id, name, slug, external_url, state, tier, auto_stop_at, created_at, updated_at`

func scanEnvironment(row interface{ Scan(...any) error }) (*ci.Environment, error) {
	e := &ci.Environment{}
	var state string
	err := row.Scan(&e.ID, &e.ProjectID, &e.Name, &e.Slug, &e.ExternalURL, &state, &e.Tier,
		scanNullTime(&e.AutoStopAt), scanTime(&e.CreatedAt), scanTime(&e.UpdatedAt))
	e.State = ci.EnvironmentState(state)
	return e, err
}

// EnsureEnvironment returns the project's environment named e.Name into e,
// inserting e first if there is none. Two replicas creating one name at
// once meet at the unique index; the loser reads the winner's row.
func (db *DB) EnsureEnvironment(ctx context.Context, e *ci.Environment, max int) error {
	for range 2 {
		got, err := scanEnvironment(db.queryRow(ctx, db.sql,
			`SELECT `+environmentCols+` FROM environments WHERE project_id = ? AND name = ?`, e.ProjectID, e.Name))
		if err == nil {
			*e = *got
			return nil
		}
		if !isNoRows(err) {
			return fmt.Errorf("reading environment %q: %w", e.Name, err)
		}
		err = db.CreateEnvironment(ctx, e, max)
		if !ci.IsConflict(err) {
			return err
		}
	}
	return ci.Errorf(ci.KindUnavailable, "environment %q keeps changing; try again", e.Name)
}

// CreateEnvironment inserts e unless the project has max environments.
func (db *DB) CreateEnvironment(ctx context.Context, e *ci.Environment, max int) error {
	at := now()
	if e.State == "" {
		e.State = ci.EnvAvailable
	}
	e.AutoStopAt = normp(e.AutoStopAt)
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.checkCount(ctx, tx, max, "a project may have at most %d environments",
			`SELECT COUNT(*) FROM environments WHERE project_id = ?`, e.ProjectID); err != nil {
			return err
		}
		err := db.queryRow(ctx, tx,
			`INSERT INTO environments (project_id, name, slug, external_url, state, tier, auto_stop_at, created_at, updated_at)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			e.ProjectID, e.Name, e.Slug, e.ExternalURL, string(e.State), e.Tier, db.tp(e.AutoStopAt), db.t(at), db.t(at)).Scan(&e.ID)
		return db.violation(err, "creating environment", "environment "+e.Name+" already exists")
	})
	if err != nil {
		return err
	}
	e.CreatedAt, e.UpdatedAt = at, at
	return nil
}

// EnvironmentByID returns an environment.
func (db *DB) EnvironmentByID(ctx context.Context, id int64) (*ci.Environment, error) {
	e, err := scanEnvironment(db.queryRow(ctx, db.sql, `SELECT `+environmentCols+` FROM environments WHERE id = ?`, id))
	if err != nil {
		return nil, db.notFound(err, "environment %d", id)
	}
	return e, nil
}

// ListEnvironments lists a project's environments by name, optionally only
// the one named name or those in state.
func (db *DB) ListEnvironments(ctx context.Context, projectID int64, name, state string, p ci.Page) ([]*ci.Environment, int, error) {
	where, args := ` WHERE project_id = ?`, []any{projectID}
	if name != "" {
		where += ` AND name = ?`
		args = append(args, name)
	}
	if state != "" {
		where += ` AND state = ?`
		args = append(args, state)
	}
	out, err := db.listEnvironments(ctx, `SELECT `+environmentCols+` FROM environments`+where+` ORDER BY name`+limitOffset(p), args...)
	if err != nil {
		return nil, 0, err
	}
	total, err := db.total(ctx, p, len(out), `SELECT COUNT(*) FROM environments`+where, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("counting environments: %w", err)
	}
	return out, total, nil
}

func (db *DB) listEnvironments(ctx context.Context, q string, args ...any) ([]*ci.Environment, error) {
	return queryAll(ctx, db, "environments", scanEnvironment, q, args...)
}

// UpdateEnvironment saves e's URL, state, tier and auto-stop time.
func (db *DB) UpdateEnvironment(ctx context.Context, e *ci.Environment) error {
	at := now()
	e.AutoStopAt = normp(e.AutoStopAt)
	res, err := db.exec(ctx, db.sql,
		`UPDATE environments SET external_url = ?, state = ?, tier = ?, auto_stop_at = ?, updated_at = ? WHERE id = ?`,
		e.ExternalURL, string(e.State), e.Tier, db.tp(e.AutoStopAt), db.t(at), e.ID)
	if err != nil {
		return fmt.Errorf("updating environment %d: %w", e.ID, err)
	}
	if err := mustAffect(res, "environment %d", e.ID); err != nil {
		return err
	}
	e.UpdatedAt = at
	return nil
}

// DeleteEnvironment removes a project's environment and its deployments.
func (db *DB) DeleteEnvironment(ctx context.Context, projectID, id int64) error {
	res, err := db.exec(ctx, db.sql, `DELETE FROM environments WHERE project_id = ? AND id = ?`, projectID, id)
	if err != nil {
		return fmt.Errorf("deleting environment %d: %w", id, err)
	}
	return mustAffect(res, "environment %d", id)
}

// DueEnvironments lists available environments due to stop at t.
func (db *DB) DueEnvironments(ctx context.Context, t time.Time, limit int) ([]*ci.Environment, error) {
	return db.listEnvironments(ctx, `SELECT `+environmentCols+` FROM environments
		WHERE state = 'available' AND auto_stop_at IS NOT NULL AND auto_stop_at <= ? ORDER BY auto_stop_at LIMIT ?`, db.t(t), limit)
}

// NextAutoStop is the earliest auto-stop time of an available environment.
func (db *DB) NextAutoStop(ctx context.Context) (*time.Time, error) {
	var t *time.Time
	err := db.queryRow(ctx, db.sql, `SELECT auto_stop_at FROM environments
		WHERE state = 'available' AND auto_stop_at IS NOT NULL ORDER BY auto_stop_at LIMIT 1`).Scan(scanNullTime(&t))
	if isNoRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading next auto-stop time: %w", err)
	}
	return t, nil
}

const deploymentCols = `id, iid, project_id, environment_id, job_id, pipeline_id, ref, sha, tag, user_id, status, on_stop,
	created_at, updated_at, finished_at`

func scanDeployment(row interface{ Scan(...any) error }) (*ci.Deployment, error) {
	d := &ci.Deployment{}
	var status string
	err := row.Scan(&d.ID, &d.IID, &d.ProjectID, &d.EnvironmentID, &d.JobID, &d.PipelineID, &d.Ref, &d.SHA, &d.Tag,
		&d.UserID, &status, &d.OnStop, scanTime(&d.CreatedAt), scanTime(&d.UpdatedAt), scanNullTime(&d.FinishedAt))
	d.Status = ci.Status(status)
	return d, err
}

// RecordDeployment inserts the deployment of d.JobID or updates its status.
// The per-project iid is taken inside the inserting transaction; a
// concurrent insert of the same job or iid meets a unique index and the
// loser updates the winner's row.
func (db *DB) RecordDeployment(ctx context.Context, d *ci.Deployment) error {
	at := now()
	d.FinishedAt = normp(d.FinishedAt)
	for range 3 {
		res, err := db.exec(ctx, db.sql, `UPDATE deployments SET status = ?, updated_at = ?, finished_at = ? WHERE job_id = ?`,
			string(d.Status), db.t(at), db.tp(d.FinishedAt), d.JobID)
		if err != nil {
			return fmt.Errorf("updating deployment of job %d: %w", d.JobID, err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			got, err := scanDeployment(db.queryRow(ctx, db.sql, `SELECT `+deploymentCols+` FROM deployments WHERE job_id = ?`, d.JobID))
			if err != nil {
				return db.notFound(err, "deployment of job %d", d.JobID)
			}
			*d = *got
			return nil
		}
		err = db.inTx(ctx, func(tx *sql.Tx) error {
			if err := db.queryRow(ctx, tx, `SELECT COALESCE(MAX(iid), 0) + 1 FROM deployments WHERE project_id = ?`,
				d.ProjectID).Scan(&d.IID); err != nil {
				return fmt.Errorf("numbering deployment: %w", err)
			}
			err := db.queryRow(ctx, tx,
				`INSERT INTO deployments (iid, project_id, environment_id, job_id, pipeline_id, ref, sha, tag, user_id, status, on_stop,
					created_at, updated_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
				d.IID, d.ProjectID, d.EnvironmentID, d.JobID, d.PipelineID, d.Ref, d.SHA, d.Tag, d.UserID, string(d.Status), d.OnStop,
				db.t(at), db.t(at), db.tp(d.FinishedAt)).Scan(&d.ID)
			return db.violation(err, "creating deployment", "deployment already exists")
		})
		if ci.IsConflict(err) {
			continue
		}
		if err != nil {
			return err
		}
		d.CreatedAt, d.UpdatedAt = at, at
		return nil
	}
	return ci.Errorf(ci.KindUnavailable, "deployments of project %d keep changing; try again", d.ProjectID)
}

// DeploymentByID returns a deployment.
func (db *DB) DeploymentByID(ctx context.Context, id int64) (*ci.Deployment, error) {
	d, err := scanDeployment(db.queryRow(ctx, db.sql, `SELECT `+deploymentCols+` FROM deployments WHERE id = ?`, id))
	if err != nil {
		return nil, db.notFound(err, "deployment %d", id)
	}
	return d, nil
}

// ListDeployments lists a project's deployments by id.
func (db *DB) ListDeployments(ctx context.Context, f ci.DeploymentFilter) ([]*ci.Deployment, int, error) {
	where, args := ` WHERE project_id = ?`, []any{f.ProjectID}
	if f.EnvironmentID != 0 {
		where += ` AND environment_id = ?`
		args = append(args, f.EnvironmentID)
	}
	if f.Status != "" {
		where += ` AND status = ?`
		args = append(args, string(f.Status))
	}
	q := `SELECT ` + deploymentCols + ` FROM deployments` + where + ` ORDER BY id`
	if !f.Ascending {
		q += ` DESC`
	}
	out, err := db.listDeployments(ctx, q+limitOffset(f.Page), args...)
	if err != nil {
		return nil, 0, err
	}
	total, err := db.total(ctx, f.Page, len(out), `SELECT COUNT(*) FROM deployments`+where, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("counting deployments: %w", err)
	}
	return out, total, nil
}

func (db *DB) listDeployments(ctx context.Context, q string, args ...any) ([]*ci.Deployment, error) {
	return queryAll(ctx, db, "deployments", scanDeployment, q, args...)
}

// LastDeployments returns each environment's latest successful deployment.
func (db *DB) LastDeployments(ctx context.Context, envIDs []int64) (map[int64]*ci.Deployment, error) {
	out := map[int64]*ci.Deployment{}
	if len(envIDs) == 0 {
		return out, nil
	}
	args := make([]any, len(envIDs))
	for i, id := range envIDs {
		args[i] = id
	}
	ds, err := db.listDeployments(ctx, `SELECT `+deploymentCols+` FROM deployments WHERE id IN (
		SELECT MAX(id) FROM deployments WHERE status = 'success' AND environment_id IN (`+placeholders(len(envIDs))+`) GROUP BY environment_id)`, args...)
	if err != nil {
		return nil, err
	}
	for _, d := range ds {
		out[d.EnvironmentID] = d
	}
	return out, nil
}
