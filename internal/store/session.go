package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/batonci/baton/internal/ci"
)

const sessionCols = `id, user_id, token_id, secret_hash, user_agent, ip, created_at, last_seen_at, expires_at`

func scanSession(row interface{ Scan(...any) error }) (*ci.Session, error) {
	s := &ci.Session{}
	err := row.Scan(&s.ID, &s.UserID, &s.TokenID, &s.SecretHash, &s.UserAgent, &s.IP,
		scanTime(&s.CreatedAt), scanTime(&s.LastSeenAt), scanTime(&s.ExpiresAt))
	return s, err
}

// CreateSession inserts s, setting ID, CreatedAt and LastSeenAt, and in the
// same transaction deletes the user's ended sessions (expired, or last seen
// before idleBefore) and all but its newest keep. An unknown user or token
// is KindInvalid, a secret hash already stored KindConflict.
func (db *DB) CreateSession(ctx context.Context, s *ci.Session, keep int, idleBefore time.Time) error {
	at := now()
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		err := db.queryRow(ctx, tx,
			`INSERT INTO web_sessions (user_id, token_id, secret_hash, user_agent, ip, created_at, last_seen_at, expires_at)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			s.UserID, s.TokenID, s.SecretHash, s.UserAgent, s.IP, db.t(at), db.t(at), db.t(s.ExpiresAt)).Scan(&s.ID)
		if err != nil {
			return db.violation(err, "creating session", "session already exists")
		}
		if _, err := db.exec(ctx, tx, `DELETE FROM web_sessions WHERE user_id = ? AND (expires_at <= ? OR last_seen_at < ?)`,
			s.UserID, db.t(at), db.t(idleBefore)); err != nil {
			return fmt.Errorf("deleting ended sessions: %w", err)
		}
		if keep > 0 {
			if _, err := db.exec(ctx, tx, `DELETE FROM web_sessions WHERE user_id = ? AND id NOT IN
				(SELECT id FROM web_sessions WHERE user_id = ? ORDER BY id DESC LIMIT ?)`, s.UserID, s.UserID, keep); err != nil {
				return fmt.Errorf("deleting old sessions: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		s.ID = 0
		return err
	}
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = at, at, norm(s.ExpiresAt)
	return nil
}

// SessionByHash finds a session by the hex SHA-256 of its secret,
// KindNotFound if there is none.
func (db *DB) SessionByHash(ctx context.Context, hash string) (*ci.Session, error) {
	s, err := scanSession(db.queryRow(ctx, db.sql, `SELECT `+sessionCols+` FROM web_sessions WHERE secret_hash = ?`, hash))
	if err != nil {
		return nil, db.notFound(err, "session")
	}
	return s, nil
}

// TouchSession records the session's last use; KindNotFound if it is gone.
func (db *DB) TouchSession(ctx context.Context, id int64, at time.Time) error {
	res, err := db.exec(ctx, db.sql, `UPDATE web_sessions SET last_seen_at = ? WHERE id = ?`, db.t(at), id)
	if err != nil {
		return fmt.Errorf("touching session %d: %w", id, err)
	}
	return mustAffect(res, "session %d", id)
}

// ListSessions lists the user's sessions, newest first.
func (db *DB) ListSessions(ctx context.Context, userID int64) ([]*ci.Session, error) {
	rows, err := db.query(ctx, db.sql, `SELECT `+sessionCols+` FROM web_sessions WHERE user_id = ? ORDER BY id DESC`, userID)
	if err != nil {
		return nil, fmt.Errorf("listing sessions: %w", err)
	}
	defer rows.Close()
	var out []*ci.Session
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("scanning session: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing sessions: %w", err)
	}
	return out, nil
}

// DeleteSession deletes the user's session id; KindNotFound if the user has
// no such session (another user's session id is not found either).
func (db *DB) DeleteSession(ctx context.Context, userID, id int64) error {
	res, err := db.exec(ctx, db.sql, `DELETE FROM web_sessions WHERE id = ? AND user_id = ?`, id, userID)
	if err != nil {
		return fmt.Errorf("deleting session %d: %w", id, err)
	}
	return mustAffect(res, "session %d", id)
}
