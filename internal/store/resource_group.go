package store

import (
	"context"
	"fmt"

	"github.com/batonci/baton/internal/ci"
)

var _ ci.ResourceGroupStore = (*DB)(nil)

const resourceGroupCols = `id, project_id, key, process_mode, holder_job_id, created_at, updated_at`

func scanResourceGroup(row interface{ Scan(...any) error }) (*ci.ResourceGroup, error) {
	g := &ci.ResourceGroup{}
	err := row.Scan(&g.ID, &g.ProjectID, &g.Key, &g.ProcessMode, &g.HolderJobID, scanTime(&g.CreatedAt), scanTime(&g.UpdatedAt))
	return g, err
}

// EnsureResourceGroup returns the project's group named key, inserting it
// first if there is none; of two replicas inserting at once, the loser
// reads the winner's row.
func (db *DB) EnsureResourceGroup(ctx context.Context, projectID int64, key string) (*ci.ResourceGroup, error) {
	for range 2 {
		g, err := db.ResourceGroupByKey(ctx, projectID, key)
		if !ci.IsNotFound(err) {
			return g, err
		}
		at := now()
		_, err = db.exec(ctx, db.sql, `INSERT INTO resource_groups (project_id, key, process_mode, holder_job_id, created_at, updated_at)
			VALUES (?, ?, ?, 0, ?, ?)`, projectID, key, ci.ProcessUnordered, db.t(at), db.t(at))
		if err = db.violation(err, "creating resource group", "resource group already exists"); err != nil && !ci.IsConflict(err) {
			return nil, err
		}
	}
	return db.ResourceGroupByKey(ctx, projectID, key)
}

// ResourceGroupByKey returns the project's group named key.
func (db *DB) ResourceGroupByKey(ctx context.Context, projectID int64, key string) (*ci.ResourceGroup, error) {
	g, err := scanResourceGroup(db.queryRow(ctx, db.sql,
		`SELECT `+resourceGroupCols+` FROM resource_groups WHERE project_id = ? AND key = ?`, projectID, key))
	if err != nil {
		return nil, db.notFound(err, "resource group %q", key)
	}
	return g, nil
}

// ListResourceGroups lists a project's groups by key.
func (db *DB) ListResourceGroups(ctx context.Context, projectID int64, p ci.Page) ([]*ci.ResourceGroup, int, error) {
	out, err := queryAll(ctx, db, "resource groups", scanResourceGroup,
		`SELECT `+resourceGroupCols+` FROM resource_groups WHERE project_id = ? ORDER BY key`+limitOffset(p), projectID)
	if err != nil {
		return nil, 0, err
	}
	total, err := db.total(ctx, p, len(out), `SELECT COUNT(*) FROM resource_groups WHERE project_id = ?`, projectID)
	return out, total, err
}

// SetProcessMode saves g's process mode.
func (db *DB) SetProcessMode(ctx context.Context, g *ci.ResourceGroup) error {
	at := now()
	res, err := db.exec(ctx, db.sql, `UPDATE resource_groups SET process_mode = ?, updated_at = ? WHERE id = ?`, g.ProcessMode, db.t(at), g.ID)
	if err != nil {
		return fmt.Errorf("updating resource group %d: %w", g.ID, err)
	}
	if err := mustAffect(res, "resource group %d", g.ID); err != nil {
		return err
	}
	g.UpdatedAt = at
	return nil
}

// ClaimResourceGroup sets the holder of a free group in one statement: of
// any number of concurrent claims (on any replica) exactly one changes the
// row.
func (db *DB) ClaimResourceGroup(ctx context.Context, groupID, jobID int64) (bool, error) {
	res, err := db.exec(ctx, db.sql, `UPDATE resource_groups SET holder_job_id = ?, updated_at = ? WHERE id = ? AND holder_job_id = 0`,
		jobID, db.t(now()), groupID)
	if err != nil {
		return false, fmt.Errorf("claiming resource group %d: %w", groupID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("counting affected rows: %w", err)
	}
	return n == 1, nil
}

// ReleaseResourceGroup frees the group if jobID still holds it.
func (db *DB) ReleaseResourceGroup(ctx context.Context, groupID, jobID int64) error {
	_, err := db.exec(ctx, db.sql, `UPDATE resource_groups SET holder_job_id = 0, updated_at = ? WHERE id = ? AND holder_job_id = ?`,
		db.t(now()), groupID, jobID)
	if err != nil {
		return fmt.Errorf("releasing resource group %d: %w", groupID, err)
	}
	return nil
}

// WaitingJobs lists the jobs waiting for the group: unordered by the time
// they started waiting (job id), oldest_first by pipeline, oldest first,
// newest_first by pipeline, newest first.
func (db *DB) WaitingJobs(ctx context.Context, projectID int64, key, mode string, limit int) ([]*ci.Job, error) {
	order := `id`
	switch mode {
	case ci.ProcessOldestFirst:
		order = `pipeline_id, id`
	case ci.ProcessNewestFirst:
		order = `pipeline_id DESC, id`
	}
	return db.listJobs(ctx, `SELECT `+jobCols+` FROM jobs WHERE `+waitingJobsWhere+`
		ORDER BY `+order+` LIMIT ?`, projectID, key, string(ci.StatusWaitingForResource), limit)
}

// waitingJobsWhere selects a group's waiting jobs (project, key, status).
// It repeats the partial index's own condition (a non-empty resource_group):
// SQLite uses a partial index only for a query whose WHERE names its
// condition, and would otherwise walk every waiting job of the instance
// (or every job of the project).
const waitingJobsWhere = `project_id = ? AND resource_group = ? AND resource_group <> '' AND status = ?`

// GroupsWithWaitingJobs lists up to limit groups with waiting jobs after
// after, in (project, key) order.
func (db *DB) GroupsWithWaitingJobs(ctx context.Context, after ci.ResourceGroupRef, limit int) ([]ci.ResourceGroupRef, error) {
	rows, err := db.query(ctx, db.sql, `SELECT DISTINCT project_id, resource_group FROM jobs
		WHERE resource_group <> '' AND status = ? AND (project_id > ? OR (project_id = ? AND resource_group > ?))
		ORDER BY project_id, resource_group LIMIT ?`,
		string(ci.StatusWaitingForResource), after.ProjectID, after.ProjectID, after.Key, limit)
	if err != nil {
		return nil, fmt.Errorf("listing waiting resource groups: %w", err)
	}
	defer rows.Close()
	var out []ci.ResourceGroupRef
	for rows.Next() {
		var r ci.ResourceGroupRef
		if err := rows.Scan(&r.ProjectID, &r.Key); err != nil {
			return nil, fmt.Errorf("scanning resource group: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
