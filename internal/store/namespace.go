package store

import (
	"context"
	"fmt"

	"github.com/batonci/baton/internal/ci"
)

const namespaceCols = `id, name, path, full_path, kind, COALESCE(parent_id, 0), COALESCE(owner_id, 0), visibility, description, created_at`

func scanNamespace(row interface{ Scan(...any) error }) (*ci.Namespace, error) {
	n := &ci.Namespace{}
	var vis string
	err := row.Scan(&n.ID, &n.Name, &n.Path, &n.FullPath, &n.Kind, &n.ParentID, &n.OwnerID, &vis,
		&n.Description, scanTime(&n.CreatedAt))
	n.Visibility = ci.Visibility(vis)
	return n, err
}

// CreateGroup inserts a group, setting ID, Kind, FullPath (from the
// parent's) and CreatedAt. A missing parent is KindNotFound, a personal
// namespace as parent KindInvalid, a taken full path KindConflict.
func (db *DB) CreateGroup(ctx context.Context, g *ci.Namespace) error {
	if g.Path == "" {
		return ci.Errorf(ci.KindInvalid, "group path is required")
	}
	full := g.Path
	if g.ParentID != 0 {
		parent, err := db.NamespaceByID(ctx, g.ParentID)
		if err != nil {
			return err
		}
		if parent.Kind != ci.NamespaceGroup {
			return ci.Errorf(ci.KindInvalid, "a group cannot be created in a personal namespace")
		}
		full = parent.FullPath + "/" + g.Path
	}
	if g.Visibility == "" {
		g.Visibility = ci.VisibilityPrivate
	}
	name := g.Name
	if name == "" {
		name = g.Path
	}
	at := now()
	err := db.queryRow(ctx, db.sql,
		`INSERT INTO namespaces (name, path, full_path, kind, parent_id, owner_id, visibility, description, created_at)
		 VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?) RETURNING id`,
		name, g.Path, full, ci.NamespaceGroup, nullID(g.ParentID), string(g.Visibility), g.Description, db.t(at)).Scan(&g.ID)
	if err != nil {
		return db.violation(err, "creating group", fmt.Sprintf("namespace %q is already taken", full))
	}
	g.Name, g.FullPath, g.Kind, g.OwnerID, g.CreatedAt = name, full, ci.NamespaceGroup, 0, at
	return nil
}

// NamespaceByID returns a namespace, KindNotFound if there is none.
func (db *DB) NamespaceByID(ctx context.Context, id int64) (*ci.Namespace, error) {
	n, err := scanNamespace(db.queryRow(ctx, db.sql, `SELECT `+namespaceCols+` FROM namespaces WHERE id = ?`, id))
	if err != nil {
		return nil, db.notFound(err, "namespace %d", id)
	}
	return n, nil
}

// NamespaceByFullPath returns a namespace, KindNotFound if there is none.
func (db *DB) NamespaceByFullPath(ctx context.Context, fullPath string) (*ci.Namespace, error) {
	n, err := scanNamespace(db.queryRow(ctx, db.sql, `SELECT `+namespaceCols+` FROM namespaces WHERE full_path = ?`, fullPath))
	if err != nil {
		return nil, db.notFound(err, "namespace %q", fullPath)
	}
	return n, nil
}

// NamespaceOfUser returns the user's personal namespace, KindNotFound if
// the user does not exist.
func (db *DB) NamespaceOfUser(ctx context.Context, userID int64) (*ci.Namespace, error) {
	n, err := scanNamespace(db.queryRow(ctx, db.sql, `SELECT `+namespaceCols+` FROM namespaces WHERE owner_id = ?`, userID))
	if err != nil {
		return nil, db.notFound(err, "namespace of user %d", userID)
	}
	return n, nil
}

// memberNamespaces is a CTE of the namespaces a user (first argument) is a
// member of, directly or through an ancestor group.
const memberNamespaces = `WITH RECURSIVE mine(id) AS (
	SELECT namespace_id FROM namespace_members WHERE user_id = ?
	UNION
	SELECT n.id FROM namespaces n JOIN mine ON n.parent_id = mine.id
) `

// ListGroups lists groups visible to userID ordered by full path: public
// ones, internal ones for a signed-in user, and those it is a member of
// directly or through an ancestor. Admins see all; userID 0 sees public ones.
func (db *DB) ListGroups(ctx context.Context, userID int64, admin bool, p ci.Page) ([]*ci.Namespace, int, error) {
	where, args := `kind = 'group'`, []any{}
	with := ""
	switch {
	case admin:
	case userID == 0:
		where += ` AND visibility = 'public'`
	default:
		with = memberNamespaces
		args = append(args, userID)
		where += ` AND (visibility IN ('public', 'internal') OR id IN (SELECT id FROM mine))`
	}
	var total int
	if err := db.queryRow(ctx, db.sql, with+`SELECT COUNT(*) FROM namespaces WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("counting groups: %w", err)
	}
	rows, err := db.query(ctx, db.sql,
		with+`SELECT `+namespaceCols+` FROM namespaces WHERE `+where+` ORDER BY full_path`+limitOffset(p), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("listing groups: %w", err)
	}
	defer rows.Close()
	var out []*ci.Namespace
	for rows.Next() {
		n, err := scanNamespace(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("scanning group: %w", err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("listing groups: %w", err)
	}
	return out, total, nil
}

// NamespaceAncestors returns id and every ancestor's id, nearest first;
// KindNotFound if id does not exist.
func (db *DB) NamespaceAncestors(ctx context.Context, id int64) ([]int64, error) {
	rows, err := db.query(ctx, db.sql, `WITH RECURSIVE anc(id, parent_id, depth) AS (
		SELECT id, parent_id, 0 FROM namespaces WHERE id = ?
		UNION ALL
		SELECT n.id, n.parent_id, anc.depth + 1 FROM namespaces n JOIN anc ON n.id = anc.parent_id
		WHERE anc.depth < 100
	) SELECT id FROM anc ORDER BY depth`, id)
	if err != nil {
		return nil, fmt.Errorf("listing ancestors of namespace %d: %w", id, err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var a int64
		if err := rows.Scan(&a); err != nil {
			return nil, fmt.Errorf("scanning ancestor: %w", err)
		}
		ids = append(ids, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing ancestors of namespace %d: %w", id, err)
	}
	if len(ids) == 0 {
		return nil, ci.Errorf(ci.KindNotFound, "namespace %d not found", id)
	}
	return ids, nil
}
