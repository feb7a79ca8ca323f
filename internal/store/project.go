package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/batonci/baton/internal/ci"
)

const projectCols = `p.id, p.namespace_id, p.name, p.path, p.full_path, p.description, p.default_branch, p.visibility,
	p.creator_id, p.ci_config_path, p.job_token_scope_enabled, p.build_timeout, p.auto_cancel_pending_pipelines,
	p.pipeline_variables_minimum_override_role, p.created_at, p.updated_at`

func scanProject(row interface{ Scan(...any) error }) (*ci.Project, error) {
	p := &ci.Project{}
	var vis, role string
	var autoCancel bool
	err := row.Scan(&p.ID, &p.NamespaceID, &p.Name, &p.Path, &p.FullPath, &p.Description, &p.DefaultBranch, &vis,
		&p.CreatorID, &p.CIConfigPath, &p.JobTokenScopeEnabled, &p.BuildTimeout, &autoCancel, &role,
		scanTime(&p.CreatedAt), scanTime(&p.UpdatedAt))
	p.Visibility, p.VariablesRole, p.AutoCancelDisabled = ci.Visibility(vis), ci.VariablesRole(role), !autoCancel
	return p, err
}

// CreateProject inserts p, setting ID, FullPath, CreatedAt and UpdatedAt (and
// defaults: visibility private, CI config path .gitlab-ci.yml, build timeout
// an hour, variables role developer). A missing
// namespace is KindNotFound, a taken path in the namespace KindConflict.
func (db *DB) CreateProject(ctx context.Context, p *ci.Project) error {
	if p.Path == "" {
		return ci.Errorf(ci.KindInvalid, "project path is required")
	}
	ns, err := db.NamespaceByID(ctx, p.NamespaceID)
	if err != nil {
		return err
	}
	if p.Name == "" {
		p.Name = p.Path
	}
	if p.Visibility == "" {
		p.Visibility = ci.VisibilityPrivate
	}
	if p.CIConfigPath == "" {
		p.CIConfigPath = ".gitlab-ci.yml"
	}
	if p.BuildTimeout == 0 {
		p.BuildTimeout = ci.DefaultBuildTimeout
	}
	if p.VariablesRole == "" {
		p.VariablesRole = ci.VariablesDeveloper
	}
	full := ns.FullPath + "/" + p.Path
	at := now()
	err = db.queryRow(ctx, db.sql,
		`INSERT INTO projects (namespace_id, name, path, full_path, description, default_branch, visibility,
			creator_id, ci_config_path, job_token_scope_enabled, build_timeout, auto_cancel_pending_pipelines,
			pipeline_variables_minimum_override_role, last_pipeline_iid, created_at, updated_at)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?) RETURNING id`,
		p.NamespaceID, p.Name, p.Path, full, p.Description, p.DefaultBranch, string(p.Visibility),
		p.CreatorID, p.CIConfigPath, p.JobTokenScopeEnabled, p.BuildTimeout, !p.AutoCancelDisabled, string(p.VariablesRole),
		db.t(at), db.t(at)).Scan(&p.ID)
	if err != nil {
		return db.violation(err, "creating project", fmt.Sprintf("project %q has already been taken", full))
	}
	p.FullPath, p.CreatedAt, p.UpdatedAt = full, at, at
	return nil
}

// ProjectByID returns a project, KindNotFound if there is none.
func (db *DB) ProjectByID(ctx context.Context, id int64) (*ci.Project, error) {
	return db.rememberProject(projectKey{id: id}, func() (*ci.Project, error) {
		p, err := scanProject(db.queryRow(ctx, db.sql, `SELECT `+projectCols+` FROM projects p WHERE p.id = ?`, id))
		if err != nil {
			return nil, db.notFound(err, "project %d", id)
		}
		return p, nil
	})
}

// rememberProject is a project read without a level, remembered with those
// that have one.
func (db *DB) rememberProject(key projectKey, load func() (*ci.Project, error)) (*ci.Project, error) {
	v, err := remember(db, func(c *readCache) *memo[projectKey, projectWithLevel] { return &c.projects }, key,
		func() (projectWithLevel, error) {
			p, err := load()
			return projectWithLevel{p: p}, err
		}, projectWithLevel.clone)
	return v.p, err
}

// ProjectWithLevel is ProjectByID (fullPath == "") or ProjectByFullPath
// with the user's effective access level on it (see AccessLevel), in one
// query.
func (db *DB) ProjectWithLevel(ctx context.Context, id int64, fullPath string, userID int64) (*ci.Project, ci.AccessLevel, error) {
	v, err := remember(db, func(c *readCache) *memo[projectKey, projectWithLevel] { return &c.projects }, projectKey{id, fullPath, userID, true},
		func() (projectWithLevel, error) {
			p, level, err := db.projectWithLevel(ctx, id, fullPath, userID)
			return projectWithLevel{p, level}, err
		}, projectWithLevel.clone)
	return v.p, v.level, err
}

type projectKey struct {
	id        int64
	fullPath  string
	user      int64
	withLevel bool
}

type projectWithLevel struct {
	p     *ci.Project
	level ci.AccessLevel
}

func (v projectWithLevel) clone() projectWithLevel {
	p := *v.p
	return projectWithLevel{&p, v.level}
}

func (db *DB) projectWithLevel(ctx context.Context, id int64, fullPath string, userID int64) (*ci.Project, ci.AccessLevel, error) {
	where, arg, what := `p.id = ?`, any(id), any(id)
	if fullPath != "" {
		where, arg, what = `p.full_path = ?`, fullPath, fmt.Sprintf("%q", fullPath)
	}
	var level sql.NullInt64
	p, err := scanProject(withLevel{db.queryRow(ctx, db.sql, `WITH RECURSIVE `+ancestorsOf(where)+`
		SELECT `+projectCols+`, (SELECT `+maxLevel(`p.id`)+`) FROM projects p WHERE `+where,
		arg, userID, userID, userID, arg), &level})
	if err != nil {
		return nil, ci.AccessNone, db.notFound(err, "project %v", what)
	}
	return p, ci.AccessLevel(level.Int64), nil
}

// withLevel scans a project row followed by a level.
type withLevel struct {
	row   *sql.Row
	level *sql.NullInt64
}

func (w withLevel) Scan(dst ...any) error { return w.row.Scan(append(dst, w.level)...) }

// ProjectByFullPath returns a project, KindNotFound if there is none.
func (db *DB) ProjectByFullPath(ctx context.Context, fullPath string) (*ci.Project, error) {
	return db.rememberProject(projectKey{fullPath: fullPath}, func() (*ci.Project, error) {
		p, err := scanProject(db.queryRow(ctx, db.sql, `SELECT `+projectCols+` FROM projects p WHERE p.full_path = ?`, fullPath))
		if err != nil {
			return nil, db.notFound(err, "project %q", fullPath)
		}
		return p, nil
	})
}

var projectOrder = map[string]string{
	"": "p.id", "id": "p.id", "name": "p.name", "path": "p.path",
	"created_at": "p.created_at", "updated_at": "p.updated_at",
}

// ListProjects lists the projects f selects and their total count. Without
// All, a signed-in VisibleTo sees public and internal projects, those it is
// a member of directly or through an ancestor group, and those of its
// personal namespace; VisibleTo 0 sees public ones. An unknown OrderBy or
// Sort is KindInvalid.
func (db *DB) ListProjects(ctx context.Context, f ci.ProjectFilter) ([]*ci.Project, int, error) {
	order, ok := projectOrder[f.OrderBy]
	if !ok {
		return nil, 0, ci.Errorf(ci.KindInvalid, "order_by %q is not supported", f.OrderBy)
	}
	dir, err := sortDir(f.Sort)
	if err != nil {
		return nil, 0, err
	}
	var with string
	var conds []string
	var args []any
	switch {
	case f.All:
	case f.VisibleTo == 0:
		conds = append(conds, `p.visibility = 'public'`)
	default:
		with = memberNamespaces
		args = append(args, f.VisibleTo, f.VisibleTo, f.VisibleTo)
		conds = append(conds, `(p.visibility IN ('public', 'internal')
			OR p.id IN (SELECT project_id FROM project_members WHERE user_id = ?)
			OR p.namespace_id IN (SELECT id FROM mine)
			OR p.namespace_id IN (SELECT id FROM namespaces WHERE owner_id = ?))`)
	}
	if f.Search != "" {
		pat := "%" + likeEscape(strings.ToLower(f.Search)) + "%"
		conds = append(conds, `(LOWER(p.name) LIKE ? ESCAPE '\' OR LOWER(p.path) LIKE ? ESCAPE '\')`)
		args = append(args, pat, pat)
	}
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	var total int
	if err := db.queryRow(ctx, db.sql, with+`SELECT COUNT(*) FROM projects p`+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("counting projects: %w", err)
	}
	q := with + `SELECT ` + projectCols + ` FROM projects p` + where +
		` ORDER BY ` + order + ` ` + dir + `, p.id ` + dir + limitOffset(f.Page)
	rows, err := db.query(ctx, db.sql, q, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("listing projects: %w", err)
	}
	defer rows.Close()
	var out []*ci.Project
	for rows.Next() {
		p, err := scanProject(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("scanning project: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("listing projects: %w", err)
	}
	return out, total, nil
}

// UpdateProject saves name, description, default branch, visibility, CI
// config path, job token scope, build timeout, auto-cancel and variables
// role, and sets UpdatedAt. KindNotFound if the project is gone.
func (db *DB) UpdateProject(ctx context.Context, p *ci.Project) error {
	at := now()
	res, err := db.exec(ctx, db.sql,
		`UPDATE projects SET name = ?, description = ?, default_branch = ?, visibility = ?, ci_config_path = ?,
			job_token_scope_enabled = ?, build_timeout = ?, auto_cancel_pending_pipelines = ?,
			pipeline_variables_minimum_override_role = ?, updated_at = ? WHERE id = ?`,
		p.Name, p.Description, p.DefaultBranch, string(p.Visibility), p.CIConfigPath, p.JobTokenScopeEnabled,
		p.BuildTimeout, !p.AutoCancelDisabled, string(p.VariablesRole), db.t(at), p.ID)
	if err != nil {
		return fmt.Errorf("updating project %d: %w", p.ID, err)
	}
	if err := mustAffect(res, "project %d", p.ID); err != nil {
		return err
	}
	p.UpdatedAt = at
	return nil
}

// DeleteProject removes the project with its pipelines, jobs, traces,
// members, triggers, allow-list entries and artifact rows. KindNotFound if
// it is gone.
func (db *DB) DeleteProject(ctx context.Context, id int64) error {
	res, err := db.exec(ctx, db.sql, `DELETE FROM projects WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("deleting project %d: %w", id, err)
	}
	return mustAffect(res, "project %d", id)
}

// sortDir validates a sort direction; desc is the default.
func sortDir(s string) (string, error) {
	switch strings.ToLower(s) {
	case "", "desc":
		return "DESC", nil
	case "asc":
		return "ASC", nil
	}
	return "", ci.Errorf(ci.KindInvalid, "sort %q is not supported", s)
}

// likeEscape escapes LIKE wildcards with backslash.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
