package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/batonci/baton/internal/ci"
)

var _ ci.GroupMemberStore = (*DB)(nil)

// NamespaceAccessLevel is the user's access to a namespace: the highest of
// its memberships of the namespace and its ancestors, Owner for the owner of
// a personal namespace, AccessNone otherwise. KindNotFound if the namespace
// does not exist.
func (db *DB) NamespaceAccessLevel(ctx context.Context, userID, namespaceID int64) (ci.AccessLevel, error) {
	var level sql.NullInt64
	err := db.queryRow(ctx, db.sql, `WITH RECURSIVE anc(id, parent_id, depth) AS (
		SELECT n.id, n.parent_id, 0 FROM namespaces n WHERE n.id = ?
		UNION ALL
		SELECT n.id, n.parent_id, anc.depth + 1 FROM namespaces n JOIN anc ON n.id = anc.parent_id WHERE anc.depth < 100
	)
	SELECT MAX(level) FROM (
		SELECT m.access_level AS level FROM namespace_members m JOIN anc ON m.namespace_id = anc.id WHERE m.user_id = ?
		UNION ALL
		SELECT `+ownerLevel+` FROM namespaces n JOIN anc ON n.id = anc.id WHERE n.owner_id = ?
	) levels`, namespaceID, userID, userID).Scan(&level)
	if err != nil {
		return ci.AccessNone, fmt.Errorf("resolving access of user %d to namespace %d: %w", userID, namespaceID, err)
	}
	if !level.Valid {
		if _, err := db.NamespaceByID(ctx, namespaceID); err != nil {
			return ci.AccessNone, err
		}
		return ci.AccessNone, nil
	}
	return ci.AccessLevel(level.Int64), nil
}

// ListNamespaceMembers lists the direct members of a namespace by user id.
func (db *DB) ListNamespaceMembers(ctx context.Context, namespaceID int64) ([]*ci.Member, error) {
	rows, err := db.query(ctx, db.sql,
		`SELECT namespace_id, user_id, access_level, created_at FROM namespace_members WHERE namespace_id = ? ORDER BY user_id`,
		namespaceID)
	if err != nil {
		return nil, fmt.Errorf("listing members of namespace %d: %w", namespaceID, err)
	}
	defer rows.Close()
	var out []*ci.Member
	for rows.Next() {
		m := &ci.Member{}
		var level int
		if err := rows.Scan(&m.NamespaceID, &m.UserID, &level, scanTime(&m.CreatedAt)); err != nil {
			return nil, fmt.Errorf("scanning member: %w", err)
		}
		m.AccessLevel = ci.AccessLevel(level)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing members of namespace %d: %w", namespaceID, err)
	}
	return out, nil
}

// CountOwners is how many distinct users have Owner access to a project
// (projectID != 0) or a group: direct Owner members, Owner members of its
// ancestor groups, and the owner of a personal namespace.
func (db *DB) CountOwners(ctx context.Context, projectID, namespaceID int64) (int, error) {
	start := `SELECT n.id, n.parent_id, 0 FROM namespaces n WHERE n.id = ?`
	arg := namespaceID
	direct := `SELECT NULL AS user_id WHERE 1 = 0`
	args := []any{}
	if projectID != 0 {
		start = `SELECT n.id, n.parent_id, 0 FROM namespaces n JOIN projects p ON p.namespace_id = n.id WHERE p.id = ?`
		arg = projectID
		direct = `SELECT user_id FROM project_members WHERE project_id = ? AND access_level >= ` + ownerLevel
		args = append(args, projectID)
	}
	var n int
	err := db.queryRow(ctx, db.sql, `WITH RECURSIVE anc(id, parent_id, depth) AS (
		`+start+`
		UNION ALL
		SELECT n.id, n.parent_id, anc.depth + 1 FROM namespaces n JOIN anc ON n.id = anc.parent_id WHERE anc.depth < 100
	)
	SELECT COUNT(DISTINCT user_id) FROM (
		`+direct+`
		UNION ALL
		SELECT m.user_id FROM namespace_members m JOIN anc ON m.namespace_id = anc.id WHERE m.access_level >= `+ownerLevel+`
		UNION ALL
		SELECT n.owner_id FROM namespaces n JOIN anc ON n.id = anc.id WHERE n.owner_id IS NOT NULL AND n.owner_id <> 0
	) owners`, append([]any{arg}, args...)...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("counting owners: %w", err)
	}
	return n, nil
}
