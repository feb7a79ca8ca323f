package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/batonci/baton/internal/ci"
)

var _ ci.ReleaseStore = (*DB)(nil)

const releaseCols = `id, project_id, tag_name, name, description, sha, author_id, job_id, released_at, created_at, updated_at`

func scanRelease(row interface{ Scan(...any) error }) (*ci.Release, error) {
	r := &ci.Release{}
	err := row.Scan(&r.ID, &r.ProjectID, &r.TagName, &r.Name, &r.Description, &r.SHA, &r.AuthorID, &r.JobID,
		scanTime(&r.ReleasedAt), scanTime(&r.CreatedAt), scanTime(&r.UpdatedAt))
	return r, err
}

// CreateRelease inserts r and its links in one transaction.
func (db *DB) CreateRelease(ctx context.Context, r *ci.Release, maxLinks int) error {
	if len(r.Links) > maxLinks {
		return ci.Errorf(ci.KindInvalid, "400 Bad request - a release may have at most %d asset links", maxLinks)
	}
	at := now()
	if r.ReleasedAt.IsZero() {
		r.ReleasedAt = at
	}
	r.ReleasedAt = norm(r.ReleasedAt)
	return db.inTx(ctx, func(tx *sql.Tx) error {
		err := db.queryRow(ctx, tx, `INSERT INTO releases (project_id, tag_name, name, description, sha, author_id, job_id,
			released_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			r.ProjectID, r.TagName, r.Name, r.Description, r.SHA, r.AuthorID, r.JobID, db.t(r.ReleasedAt), db.t(at), db.t(at)).Scan(&r.ID)
		if err := db.violation(err, "creating release", "Release already exists"); err != nil {
			return err
		}
		r.CreatedAt, r.UpdatedAt = at, at
		for _, l := range r.Links {
			l.ReleaseID = r.ID
			if err := db.insertReleaseLink(ctx, tx, l); err != nil {
				return err
			}
		}
		return nil
	})
}

func (db *DB) insertReleaseLink(ctx context.Context, q querier, l *ci.ReleaseLink) error {
	at := now()
	err := db.queryRow(ctx, q, `INSERT INTO release_links (release_id, name, url, link_type, filepath, created_at)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, l.ReleaseID, l.Name, l.URL, l.LinkType, l.Filepath, db.t(at)).Scan(&l.ID)
	if err := db.violation(err, "creating release link", "the release has a link of this name or url already"); err != nil {
		return err
	}
	l.CreatedAt = at
	return nil
}

// ReleaseByTag returns the project's release of tag with its links.
func (db *DB) ReleaseByTag(ctx context.Context, projectID int64, tag string) (*ci.Release, error) {
	r, err := scanRelease(db.queryRow(ctx, db.sql, `SELECT `+releaseCols+` FROM releases WHERE project_id = ? AND tag_name = ?`, projectID, tag))
	if err != nil {
		return nil, db.notFound(err, "release %q", tag)
	}
	if err := db.withLinks(ctx, []*ci.Release{r}); err != nil {
		return nil, err
	}
	return r, nil
}

// ListReleases lists releases, newest released first, with their links.
func (db *DB) ListReleases(ctx context.Context, projectID int64, p ci.Page) ([]*ci.Release, int, error) {
	out, err := queryAll(ctx, db, "releases", scanRelease, `SELECT `+releaseCols+` FROM releases WHERE project_id = ?
		ORDER BY released_at DESC, id DESC`+limitOffset(p), projectID)
	if err != nil {
		return nil, 0, err
	}
	total, err := db.total(ctx, p, len(out), `SELECT COUNT(*) FROM releases WHERE project_id = ?`, projectID)
	if err != nil {
		return nil, 0, fmt.Errorf("counting releases: %w", err)
	}
	return out, total, db.withLinks(ctx, out)
}

// withLinks loads the links of rs in one query.
func (db *DB) withLinks(ctx context.Context, rs []*ci.Release) error {
	if len(rs) == 0 {
		return nil
	}
	byID := map[int64]*ci.Release{}
	args := make([]any, len(rs))
	for i, r := range rs {
		byID[r.ID], args[i] = r, r.ID
		r.Links = []*ci.ReleaseLink{}
	}
	rows, err := db.query(ctx, db.sql, `SELECT id, release_id, name, url, link_type, filepath, created_at FROM release_links
		WHERE release_id IN (`+placeholders(len(rs))+`) ORDER BY id`, args...)
	if err != nil {
		return fmt.Errorf("listing release links: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		l := &ci.ReleaseLink{}
		if err := rows.Scan(&l.ID, &l.ReleaseID, &l.Name, &l.URL, &l.LinkType, &l.Filepath, scanTime(&l.CreatedAt)); err != nil {
			return fmt.Errorf("scanning release link: %w", err)
		}
		byID[l.ReleaseID].Links = append(byID[l.ReleaseID].Links, l)
	}
	return rows.Err()
}

// UpdateRelease saves r's name, description and release time.
func (db *DB) UpdateRelease(ctx context.Context, r *ci.Release) error {
	at := now()
	r.ReleasedAt = norm(r.ReleasedAt)
	res, err := db.exec(ctx, db.sql, `UPDATE releases SET name = ?, description = ?, released_at = ?, updated_at = ? WHERE id = ?`,
		r.Name, r.Description, db.t(r.ReleasedAt), db.t(at), r.ID)
	if err != nil {
		return fmt.Errorf("updating release %d: %w", r.ID, err)
	}
	if err := mustAffect(res, "release %d", r.ID); err != nil {
		return err
	}
	r.UpdatedAt = at
	return nil
}

// DeleteRelease removes the project's release of tag and its links.
func (db *DB) DeleteRelease(ctx context.Context, projectID int64, tag string) error {
	res, err := db.exec(ctx, db.sql, `DELETE FROM releases WHERE project_id = ? AND tag_name = ?`, projectID, tag)
	if err != nil {
		return fmt.Errorf("deleting release %q: %w", tag, err)
	}
	return mustAffect(res, "release %q", tag)
}

// CreateReleaseLink adds l to its release unless it has maxLinks already
// (counted in the inserting transaction).
func (db *DB) CreateReleaseLink(ctx context.Context, l *ci.ReleaseLink, maxLinks int) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.checkCount(ctx, tx, maxLinks, "a release may have at most %d asset links",
			`SELECT COUNT(*) FROM release_links WHERE release_id = ?`, l.ReleaseID); err != nil {
			return err
		}
		return db.insertReleaseLink(ctx, tx, l)
	})
}

// UpdateReleaseLink saves l's name, url, type and file path.
func (db *DB) UpdateReleaseLink(ctx context.Context, l *ci.ReleaseLink) error {
	res, err := db.exec(ctx, db.sql, `UPDATE release_links SET name = ?, url = ?, link_type = ?, filepath = ? WHERE id = ? AND release_id = ?`,
		l.Name, l.URL, l.LinkType, l.Filepath, l.ID, l.ReleaseID)
	if err := db.violation(err, "updating release link", "the release has a link of this name or url already"); err != nil {
		return err
	}
	return mustAffect(res, "release link %d", l.ID)
}

// DeleteReleaseLink removes a link of a release.
func (db *DB) DeleteReleaseLink(ctx context.Context, releaseID, id int64) error {
	res, err := db.exec(ctx, db.sql, `DELETE FROM release_links WHERE release_id = ? AND id = ?`, releaseID, id)
	if err != nil {
		return fmt.Errorf("deleting release link %d: %w", id, err)
	}
	return mustAffect(res, "release link %d", id)
}
