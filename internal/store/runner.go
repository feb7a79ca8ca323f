package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/batonci/baton/internal/ci"
)

const runnerCols = `id, description, token_hash, token_expires_at, runner_type, COALESCE(project_id, 0),
	COALESCE(namespace_id, 0), tags, run_untagged, paused, locked, access_level, maximum_timeout, version, platform,
	architecture, executor, ip_address, contacted_at, created_at`

func scanRunner(row interface{ Scan(...any) error }) (*ci.Runner, error) {
	r := &ci.Runner{}
	var tags string
	err := row.Scan(&r.ID, &r.Description, &r.TokenHash, scanNullTime(&r.TokenExpiresAt), &r.RunnerType, &r.ProjectID,
		&r.NamespaceID, &tags, &r.RunUntagged, &r.Paused, &r.Locked, &r.AccessLevel, &r.MaximumTimeout, &r.Version,
		&r.Platform, &r.Architecture, &r.Executor, &r.IPAddress, scanNullTime(&r.ContactedAt), scanTime(&r.CreatedAt))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(tags), &r.Tags); err != nil {
		return nil, fmt.Errorf("decoding tags of runner %d: %w", r.ID, err)
	}
	return r, nil
}

// CreateRunner inserts r, setting ID and CreatedAt. A token hash already
// stored is KindConflict, an unknown project or namespace KindInvalid.
func (db *DB) CreateRunner(ctx context.Context, r *ci.Runner) error {
	tags, err := json.Marshal(nonNil(r.Tags))
	if err != nil {
		return fmt.Errorf("encoding runner tags: %w", err)
	}
	at := now()
	err = db.queryRow(ctx, db.sql,
		`INSERT INTO runners (description, token_hash, token_expires_at, runner_type, project_id, namespace_id, tags,
			run_untagged, paused, locked, access_level, maximum_timeout, version, platform, architecture, executor,
			ip_address, contacted_at, created_at)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		r.Description, r.TokenHash, db.tp(r.TokenExpiresAt), r.RunnerType, nullID(r.ProjectID), nullID(r.NamespaceID),
		string(tags), r.RunUntagged, r.Paused, r.Locked, r.AccessLevel, r.MaximumTimeout, r.Version, r.Platform,
		r.Architecture, r.Executor, r.IPAddress, db.tp(r.ContactedAt), db.t(at)).Scan(&r.ID)
	if err != nil {
		return db.violation(err, "creating runner", "runner token already exists")
	}
	r.CreatedAt, r.TokenExpiresAt, r.ContactedAt = at, normp(r.TokenExpiresAt), normp(r.ContactedAt)
	return nil
}

// RunnerByID returns a runner, KindNotFound if there is none.
func (db *DB) RunnerByID(ctx context.Context, id int64) (*ci.Runner, error) {
	r, err := scanRunner(db.queryRow(ctx, db.sql, `SELECT `+runnerCols+` FROM runners WHERE id = ?`, id))
	if err != nil {
		return nil, db.notFound(err, "runner %d", id)
	}
	return r, nil
}

// RunnerByTokenHash finds a runner by its token hash, KindNotFound if none.
func (db *DB) RunnerByTokenHash(ctx context.Context, hash string) (*ci.Runner, error) {
	r, err := scanRunner(db.queryRow(ctx, db.sql, `SELECT `+runnerCols+` FROM runners WHERE token_hash = ?`, hash))
	if err != nil {
		return nil, db.notFound(err, "runner")
	}
	return r, nil
}

// ListRunners lists the runners f selects by id, and their total count.
// ProjectID selects the runners that may run that project's jobs: its
// project runners (own and enabled), its groups' runners, instance runners.
func (db *DB) ListRunners(ctx context.Context, f ci.RunnerFilter) ([]*ci.Runner, int, error) {
	var conds []string
	var args []any
	if f.ProjectID != 0 {
		conds = append(conds, `(runner_type = 'instance_type'
			OR (runner_type = 'project_type' AND (project_id = ? OR id IN (SELECT runner_id FROM runner_projects WHERE project_id = ?)))
			OR (runner_type = 'group_type' AND namespace_id IN (
				WITH RECURSIVE up(id) AS (
					SELECT namespace_id FROM projects WHERE id = ?
					UNION
					SELECT n.parent_id FROM namespaces n JOIN up ON n.id = up.id WHERE n.parent_id IS NOT NULL
				) SELECT id FROM up)))`)
		args = append(args, f.ProjectID, f.ProjectID, f.ProjectID)
	}
	if f.Type != "" {
		conds = append(conds, `runner_type = ?`)
		args = append(args, f.Type)
	}
	if f.Paused != nil {
		conds = append(conds, `paused = ?`)
		args = append(args, *f.Paused)
	}
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	var total int
	if err := db.queryRow(ctx, db.sql, `SELECT COUNT(*) FROM runners`+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("counting runners: %w", err)
	}
	rows, err := db.query(ctx, db.sql, `SELECT `+runnerCols+` FROM runners`+where+` ORDER BY id`+limitOffset(f.Page), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("listing runners: %w", err)
	}
	defer rows.Close()
	var out []*ci.Runner
	for rows.Next() {
		r, err := scanRunner(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("scanning runner: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("listing runners: %w", err)
	}
	return out, total, nil
}

// UpdateRunner saves every field but ID and CreatedAt; KindNotFound if the
// runner is gone, KindConflict if the token hash is another runner's.
func (db *DB) UpdateRunner(ctx context.Context, r *ci.Runner) error {
	tags, err := json.Marshal(nonNil(r.Tags))
	if err != nil {
		return fmt.Errorf("encoding runner tags: %w", err)
	}
	res, err := db.exec(ctx, db.sql,
		`UPDATE runners SET description = ?, token_hash = ?, token_expires_at = ?, runner_type = ?, project_id = ?,
			namespace_id = ?, tags = ?, run_untagged = ?, paused = ?, locked = ?, access_level = ?, maximum_timeout = ?,
			version = ?, platform = ?, architecture = ?, executor = ?, ip_address = ?, contacted_at = ?
		 WHERE id = ?`,
		r.Description, r.TokenHash, db.tp(r.TokenExpiresAt), r.RunnerType, nullID(r.ProjectID), nullID(r.NamespaceID),
		string(tags), r.RunUntagged, r.Paused, r.Locked, r.AccessLevel, r.MaximumTimeout, r.Version, r.Platform,
		r.Architecture, r.Executor, r.IPAddress, db.tp(r.ContactedAt), r.ID)
	if err != nil {
		return db.violation(err, fmt.Sprintf("updating runner %d", r.ID), "runner token already exists")
	}
	r.TokenExpiresAt, r.ContactedAt = normp(r.TokenExpiresAt), normp(r.ContactedAt)
	if err := mustAffect(res, "runner %d", r.ID); err != nil {
		return err
	}
	// Its held job request re-checks with the new tags or paused state.
	db.queueChanged(ctx)
	return nil
}

// DeleteRunner removes a runner; KindNotFound if it is gone.
func (db *DB) DeleteRunner(ctx context.Context, id int64) error {
	res, err := db.exec(ctx, db.sql, `DELETE FROM runners WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("deleting runner %d: %w", id, err)
	}
	return mustAffect(res, "runner %d", id)
}

// TouchRunner records a contact: ContactedAt (now if nil), version,
// platform, architecture, executor and IP address. KindNotFound if the
// runner is gone.
func (db *DB) TouchRunner(ctx context.Context, r *ci.Runner) error {
	if r.ContactedAt == nil {
		at := now()
		r.ContactedAt = &at
	}
	r.ContactedAt = normp(r.ContactedAt)
	res, err := db.exec(ctx, db.sql,
		`UPDATE runners SET contacted_at = ?, version = ?, platform = ?, architecture = ?, executor = ?, ip_address = ?
		 WHERE id = ?`,
		db.tp(r.ContactedAt), r.Version, r.Platform, r.Architecture, r.Executor, r.IPAddress, r.ID)
	if err != nil {
		return fmt.Errorf("touching runner %d: %w", r.ID, err)
	}
	return mustAffect(res, "runner %d", r.ID)
}
