package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/batonci/baton/internal/ci"
)

// SetMember adds m or updates its access level, setting CreatedAt on a new
// membership. Exactly one of ProjectID and NamespaceID must be set
// (KindInvalid otherwise); an unknown user, project or namespace is KindInvalid.
func (db *DB) SetMember(ctx context.Context, m *ci.Member) error {
	table, col, target := "project_members", "project_id", m.ProjectID
	switch {
	case m.ProjectID != 0 && m.NamespaceID != 0, m.ProjectID == 0 && m.NamespaceID == 0:
		return ci.Errorf(ci.KindInvalid, "a membership needs exactly one of project and namespace")
	case m.NamespaceID != 0:
		table, col, target = "namespace_members", "namespace_id", m.NamespaceID
	}
	at := now()
	err := db.queryRow(ctx, db.sql,
		`INSERT INTO `+table+` (`+col+`, user_id, access_level, created_at) VALUES (?, ?, ?, ?)
		 ON CONFLICT (`+col+`, user_id) DO UPDATE SET access_level = excluded.access_level
		 RETURNING created_at`,
		target, m.UserID, int(m.AccessLevel), db.t(at)).Scan(scanTime(&m.CreatedAt))
	return db.violation(err, "setting member", "membership already exists")
}

// RemoveMember removes a user's membership of a project (projectID != 0) or
// namespace; KindNotFound if there is none.
func (db *DB) RemoveMember(ctx context.Context, projectID, namespaceID, userID int64) error {
	q, target := `DELETE FROM project_members WHERE project_id = ? AND user_id = ?`, projectID
	if projectID == 0 {
		q, target = `DELETE FROM namespace_members WHERE namespace_id = ? AND user_id = ?`, namespaceID
	}
	res, err := db.exec(ctx, db.sql, q, target, userID)
	if err != nil {
		return fmt.Errorf("removing member: %w", err)
	}
	return mustAffect(res, "member %d", userID)
}

// ListProjectMembers lists the direct members of a project by user id.
func (db *DB) ListProjectMembers(ctx context.Context, projectID int64) ([]*ci.Member, error) {
	rows, err := db.query(ctx, db.sql,
		`SELECT project_id, user_id, access_level, created_at FROM project_members WHERE project_id = ? ORDER BY user_id`,
		projectID)
	if err != nil {
		return nil, fmt.Errorf("listing members of project %d: %w", projectID, err)
	}
	defer rows.Close()
	var out []*ci.Member
	for rows.Next() {
		m := &ci.Member{}
		var level int
		if err := rows.Scan(&m.ProjectID, &m.UserID, &level, scanTime(&m.CreatedAt)); err != nil {
			return nil, fmt.Errorf("scanning member: %w", err)
		}
		m.AccessLevel = ci.AccessLevel(level)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing members of project %d: %w", projectID, err)
	}
	return out, nil
}

// ancestorsOf is the recursive CTE anc(id, parent_id, depth): the namespace
// of the project p matching where, and its ancestor groups.
func ancestorsOf(where string) string {
	return `anc(id, parent_id, depth) AS (
		SELECT n.id, n.parent_id, 0 FROM namespaces n JOIN projects p ON p.namespace_id = n.id WHERE ` + where + `
		UNION ALL
		SELECT n.id, n.parent_id, anc.depth + 1 FROM namespaces n JOIN anc ON n.id = anc.parent_id WHERE anc.depth < 100
	)`
}

// maxLevel is the highest level of a user (the last three parameters) on
// the project whose id is projectID (an expression) among anc: its
// project membership, its memberships of the ancestor groups, and Owner
// for the owner of the personal namespace. NULL if none.
func maxLevel(projectID string) string {
	return `MAX(level) FROM (
		SELECT access_level AS level FROM project_members WHERE project_id = ` + projectID + ` AND user_id = ?
		UNION ALL
		SELECT m.access_level FROM namespace_members m JOIN anc ON m.namespace_id = anc.id WHERE m.user_id = ?
		UNION ALL
		SELECT ` + ownerLevel + ` FROM namespaces n JOIN anc ON n.id = anc.id WHERE n.owner_id = ?
	) levels`
}

// ownerLevel is AccessOwner as an SQL literal.
var ownerLevel = fmt.Sprint(int(ci.AccessOwner))

// AccessLevel is the user's effective access to the project: the highest of
// its project membership, its memberships of the project's ancestor groups,
// and Owner for the owner of the personal namespace. AccessNone if none;
// KindNotFound if the project does not exist.
func (db *DB) AccessLevel(ctx context.Context, userID, projectID int64) (ci.AccessLevel, error) {
	var level sql.NullInt64
	err := db.queryRow(ctx, db.sql, `WITH RECURSIVE `+ancestorsOf(`p.id = ?`)+`
	SELECT `+maxLevel(`?`), projectID, projectID, userID, userID, userID).Scan(&level)
	if err != nil {
		return ci.AccessNone, fmt.Errorf("resolving access of user %d to project %d: %w", userID, projectID, err)
	}
	if !level.Valid {
		if _, err := db.ProjectByID(ctx, projectID); err != nil {
			return ci.AccessNone, err
		}
		return ci.AccessNone, nil
	}
	return ci.AccessLevel(level.Int64), nil
}
