package store

import (
	"context"
	"fmt"
	"time"

	"github.com/batonci/baton/internal/ci"
)

// AllowJobToken lets job tokens of project source act on project target. It
// is idempotent; an unknown project is KindInvalid.
func (db *DB) AllowJobToken(ctx context.Context, target, source int64) error {
	_, err := db.exec(ctx, db.sql,
		`INSERT INTO job_token_allowlist (target_id, source_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, target, source)
	return db.violation(err, "allowing job token", "already allowed")
}

// DisallowJobToken removes source from target's allow-list; KindNotFound if
// it was not on it.
func (db *DB) DisallowJobToken(ctx context.Context, target, source int64) error {
	res, err := db.exec(ctx, db.sql, `DELETE FROM job_token_allowlist WHERE target_id = ? AND source_id = ?`, target, source)
	if err != nil {
		return fmt.Errorf("disallowing job token: %w", err)
	}
	return mustAffect(res, "allow-list entry for project %d", source)
}

// JobTokenAllowed reports whether target's allow-list includes source.
func (db *DB) JobTokenAllowed(ctx context.Context, target, source int64) (bool, error) {
	var n int
	err := db.queryRow(ctx, db.sql,
		`SELECT COUNT(*) FROM job_token_allowlist WHERE target_id = ? AND source_id = ?`, target, source).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("reading job token allow-list: %w", err)
	}
	return n > 0, nil
}

// ListJobTokenAllowlist lists the projects on target's allow-list by id.
func (db *DB) ListJobTokenAllowlist(ctx context.Context, target int64) ([]int64, error) {
	rows, err := db.query(ctx, db.sql,
		`SELECT source_id FROM job_token_allowlist WHERE target_id = ? ORDER BY source_id`, target)
	if err != nil {
		return nil, fmt.Errorf("listing job token allow-list: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("scanning allow-list: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

const triggerCols = `id, project_id, owner_id, description, token_hash, token_tail, created_at, last_used_at`

func scanTrigger(row interface{ Scan(...any) error }) (*ci.Trigger, error) {
	t := &ci.Trigger{}
	err := row.Scan(&t.ID, &t.ProjectID, &t.OwnerID, &t.Description, &t.TokenHash, &t.TokenTail,
		scanTime(&t.CreatedAt), scanNullTime(&t.LastUsedAt))
	return t, err
}

// CreateTrigger inserts t, setting ID and CreatedAt. An unknown project is
// KindInvalid, a hash already stored KindConflict.
func (db *DB) CreateTrigger(ctx context.Context, t *ci.Trigger) error {
	at := now()
	err := db.queryRow(ctx, db.sql,
		`INSERT INTO triggers (project_id, owner_id, description, token_hash, token_tail, created_at, last_used_at)
		 VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		t.ProjectID, t.OwnerID, t.Description, t.TokenHash, t.TokenTail, db.t(at), db.tp(t.LastUsedAt)).Scan(&t.ID)
	if err != nil {
		return db.violation(err, "creating trigger", "trigger token already exists")
	}
	t.CreatedAt = at
	return nil
}

// TriggerByHash finds a trigger by its token hash, KindNotFound if none.
func (db *DB) TriggerByHash(ctx context.Context, hash string) (*ci.Trigger, error) {
	t, err := scanTrigger(db.queryRow(ctx, db.sql, `SELECT `+triggerCols+` FROM triggers WHERE token_hash = ?`, hash))
	if err != nil {
		return nil, db.notFound(err, "trigger")
	}
	return t, nil
}

// ListTriggers lists a project's triggers by id.
func (db *DB) ListTriggers(ctx context.Context, projectID int64) ([]*ci.Trigger, error) {
	rows, err := db.query(ctx, db.sql, `SELECT `+triggerCols+` FROM triggers WHERE project_id = ? ORDER BY id`, projectID)
	if err != nil {
		return nil, fmt.Errorf("listing triggers of project %d: %w", projectID, err)
	}
	defer rows.Close()
	var out []*ci.Trigger
	for rows.Next() {
		t, err := scanTrigger(rows)
		if err != nil {
			return nil, fmt.Errorf("scanning trigger: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// DeleteTrigger removes a project's trigger; KindNotFound if the project has
// no such trigger.
func (db *DB) DeleteTrigger(ctx context.Context, projectID, id int64) error {
	res, err := db.exec(ctx, db.sql, `DELETE FROM triggers WHERE project_id = ? AND id = ?`, projectID, id)
	if err != nil {
		return fmt.Errorf("deleting trigger %d: %w", id, err)
	}
	return mustAffect(res, "trigger %d", id)
}

// TouchTrigger records the trigger's last use; KindNotFound if it is gone.
func (db *DB) TouchTrigger(ctx context.Context, id int64, at time.Time) error {
	res, err := db.exec(ctx, db.sql, `UPDATE triggers SET last_used_at = ? WHERE id = ?`, db.t(at), id)
	if err != nil {
		return fmt.Errorf("touching trigger %d: %w", id, err)
	}
	return mustAffect(res, "trigger %d", id)
}

// TriggerByID returns a project's trigger; KindNotFound if the project has
// no such trigger.
func (db *DB) TriggerByID(ctx context.Context, projectID, id int64) (*ci.Trigger, error) {
	t, err := scanTrigger(db.queryRow(ctx, db.sql, `SELECT `+triggerCols+` FROM triggers WHERE project_id = ? AND id = ?`, projectID, id))
	if err != nil {
		return nil, db.notFound(err, "trigger %d", id)
	}
	return t, nil
}

// UpdateTrigger saves t's description; KindNotFound if it is gone.
func (db *DB) UpdateTrigger(ctx context.Context, t *ci.Trigger) error {
	res, err := db.exec(ctx, db.sql, `UPDATE triggers SET description = ? WHERE project_id = ? AND id = ?`, t.Description, t.ProjectID, t.ID)
	if err != nil {
		return fmt.Errorf("updating trigger %d: %w", t.ID, err)
	}
	return mustAffect(res, "trigger %d", t.ID)
}
