package store

import (
	"context"
	"fmt"

	"github.com/batonci/baton/internal/ci"
)

var (
	_ ci.VariableStore     = (*DB)(nil)
	_ ci.ProtectedRefStore = (*DB)(nil)
)

const variableCols = `id, scope, COALESCE(project_id, namespace_id, 0), key, value, variable_type, protected, masked, raw,
	environment_scope, description, created_at, updated_at`

func scanVariable(row interface{ Scan(...any) error }) (*ci.SealedVariable, error) {
	v := &ci.SealedVariable{}
	var scope, typ string
	err := row.Scan(&v.ID, &scope, &v.OwnerID, &v.Key, &v.Sealed, &typ, &v.Protected, &v.Masked, &v.Raw,
		&v.Environment, &v.Description, scanTime(&v.CreatedAt), scanTime(&v.UpdatedAt))
	v.Scope, v.File = ci.VariableScope(scope), typ == "file"
	return v, err
}

// owner is the (project_id, namespace_id) pair of a scope's owner.
func owner(scope ci.VariableScope, id int64) (project, namespace any) {
	switch scope {
	case ci.ScopeProject:
		return id, nil
	case ci.ScopeGroup:
		return nil, id
	}
	return nil, nil
}

// ownerWhere selects one scope's variables; its arguments follow.
func ownerWhere(scope ci.VariableScope, id int64) (string, []any) {
	switch scope {
	case ci.ScopeProject:
		return `scope = ? AND project_id = ?`, []any{string(scope), id}
	case ci.ScopeGroup:
		return `scope = ? AND namespace_id = ?`, []any{string(scope), id}
	}
	return `scope = ?`, []any{string(scope)}
}

func variableType(file bool) string {
	if file {
		return "file"
	}
	return "env_var"
}

// ListVariables lists one scope's variables by key, then environment scope.
func (db *DB) ListVariables(ctx context.Context, scope ci.VariableScope, ownerID int64) ([]*ci.SealedVariable, error) {
	where, args := ownerWhere(scope, ownerID)
	return db.listVariables(ctx, `SELECT `+variableCols+` FROM ci_variables WHERE `+where+` ORDER BY key, environment_scope`, args...)
}

func (db *DB) listVariables(ctx context.Context, q string, args ...any) ([]*ci.SealedVariable, error) {
	rows, err := db.query(ctx, db.sql, q, args...)
	if err != nil {
		return nil, fmt.Errorf("listing variables: %w", err)
	}
	defer rows.Close()
	var out []*ci.SealedVariable
	for rows.Next() {
		v, err := scanVariable(rows)
		if err != nil {
			return nil, fmt.Errorf("scanning variable: %w", err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// CountVariables counts one scope's variables.
func (db *DB) CountVariables(ctx context.Context, scope ci.VariableScope, ownerID int64) (int, error) {
	where, args := ownerWhere(scope, ownerID)
	var n int
	if err := db.queryRow(ctx, db.sql, `SELECT COUNT(*) FROM ci_variables WHERE `+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting variables: %w", err)
	}
	return n, nil
}

// CreateVariable inserts v, setting ID, CreatedAt and UpdatedAt; the same
// key and environment scope in the same place is KindConflict.
func (db *DB) CreateVariable(ctx context.Context, v *ci.SealedVariable) error {
	at := now()
	proj, ns := owner(v.Scope, v.OwnerID)
	err := db.queryRow(ctx, db.sql,
		`INSERT INTO ci_variables (scope, project_id, namespace_id, key, value, variable_type, protected, masked, raw,
			environment_scope, description, created_at, updated_at)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		string(v.Scope), proj, ns, v.Key, v.Sealed, variableType(v.File), v.Protected, v.Masked, v.Raw,
		v.Environment, v.Description, db.t(at), db.t(at)).Scan(&v.ID)
	if err != nil {
		return db.violation(err, "creating variable", fmt.Sprintf("(%s) has already been taken", v.Key))
	}
	v.CreatedAt, v.UpdatedAt = at, at
	return nil
}

// UpdateVariable saves every mutable field of v by ID.
func (db *DB) UpdateVariable(ctx context.Context, v *ci.SealedVariable) error {
	at := now()
	res, err := db.exec(ctx, db.sql,
		`UPDATE ci_variables SET key = ?, value = ?, variable_type = ?, protected = ?, masked = ?, raw = ?,
			environment_scope = ?, description = ?, updated_at = ? WHERE id = ?`,
		v.Key, v.Sealed, variableType(v.File), v.Protected, v.Masked, v.Raw, v.Environment, v.Description, db.t(at), v.ID)
	if err != nil {
		return db.violation(err, "updating variable", fmt.Sprintf("(%s) has already been taken", v.Key))
	}
	if err := mustAffect(res, "variable %d", v.ID); err != nil {
		return err
	}
	v.UpdatedAt = at
	return nil
}

// DeleteVariable removes a variable by ID.
func (db *DB) DeleteVariable(ctx context.Context, id int64) error {
	res, err := db.exec(ctx, db.sql, `DELETE FROM ci_variables WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("deleting variable %d: %w", id, err)
	}
	return mustAffect(res, "variable %d", id)
}

// VariablesFor reads the instance's variables, those of the groups
// groupIDs and those of the project, in one query.
func (db *DB) VariablesFor(ctx context.Context, projectID int64, groupIDs []int64) ([]*ci.SealedVariable, error) {
	args := []any{projectID}
	groups := ""
	if len(groupIDs) > 0 {
		groups = ` OR namespace_id IN (` + placeholders(len(groupIDs)) + `)`
		for _, id := range groupIDs {
			args = append(args, id)
		}
	}
	return db.listVariables(ctx, `SELECT `+variableCols+` FROM ci_variables
		WHERE scope = 'instance' OR project_id = ?`+groups+` ORDER BY key, environment_scope, id`, args...)
}

// AnyVariable returns one stored variable, KindNotFound if there is none.
func (db *DB) AnyVariable(ctx context.Context) (*ci.SealedVariable, error) {
	v, err := scanVariable(db.queryRow(ctx, db.sql, `SELECT `+variableCols+` FROM ci_variables ORDER BY id LIMIT 1`))
	if err != nil {
		return nil, db.notFound(err, "variable")
	}
	return v, nil
}

const protectedCols = `id, project_id, tag, name, push_access_level, merge_access_level, create_access_level, allow_force_push, created_at`

func scanProtected(row interface{ Scan(...any) error }) (*ci.ProtectedRef, error) {
	r := &ci.ProtectedRef{}
	err := row.Scan(&r.ID, &r.ProjectID, &r.Tag, &r.Name, &r.PushLevel, &r.MergeLevel, &r.CreateLevel, &r.AllowForcePush, scanTime(&r.CreatedAt))
	return r, err
}

// ListProtectedRefs lists a project's protected branches and tags,
// branches first, by name.
func (db *DB) ListProtectedRefs(ctx context.Context, projectID int64) ([]*ci.ProtectedRef, error) {
	rows, err := db.query(ctx, db.sql, `SELECT `+protectedCols+` FROM protected_refs WHERE project_id = ? ORDER BY tag, name`, projectID)
	if err != nil {
		return nil, fmt.Errorf("listing protected refs of project %d: %w", projectID, err)
	}
	defer rows.Close()
	var out []*ci.ProtectedRef
	for rows.Next() {
		r, err := scanProtected(rows)
		if err != nil {
			return nil, fmt.Errorf("scanning protected ref: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// CreateProtectedRef inserts r, setting ID and CreatedAt; the same kind and
// name in the project is KindConflict.
func (db *DB) CreateProtectedRef(ctx context.Context, r *ci.ProtectedRef) error {
	at := now()
	err := db.queryRow(ctx, db.sql,
		`INSERT INTO protected_refs (project_id, tag, name, push_access_level, merge_access_level, create_access_level, allow_force_push, created_at)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		r.ProjectID, r.Tag, r.Name, int(r.PushLevel), int(r.MergeLevel), int(r.CreateLevel), r.AllowForcePush, db.t(at)).Scan(&r.ID)
	if err != nil {
		return db.violation(err, "protecting ref", "Protected ref '"+r.Name+"' already exists")
	}
	r.CreatedAt = at
	return nil
}

// UpdateProtectedRef saves r's levels and force-push flag.
func (db *DB) UpdateProtectedRef(ctx context.Context, r *ci.ProtectedRef) error {
	res, err := db.exec(ctx, db.sql,
		`UPDATE protected_refs SET push_access_level = ?, merge_access_level = ?, create_access_level = ?, allow_force_push = ? WHERE id = ?`,
		int(r.PushLevel), int(r.MergeLevel), int(r.CreateLevel), r.AllowForcePush, r.ID)
	if err != nil {
		return fmt.Errorf("updating protected ref %d: %w", r.ID, err)
	}
	return mustAffect(res, "protected ref %d", r.ID)
}

// DeleteProtectedRef removes a rule by ID.
func (db *DB) DeleteProtectedRef(ctx context.Context, id int64) error {
	res, err := db.exec(ctx, db.sql, `DELETE FROM protected_refs WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("unprotecting ref %d: %w", id, err)
	}
	return mustAffect(res, "protected ref %d", id)
}
