package ci

import (
	"context"
	"time"
)

// Session is a signed-in browser of the web UI. The cookie carries a random
// secret; only its SHA-256 hash is stored. A session lives until it is
// deleted (sign-out, revoke), ExpiresAt passes, it is idle too long, or the
// personal token it signed in with stops being active.
type Session struct {
	ID         int64
	UserID     int64
	TokenID    int64  // the personal token the user signed in with
	SecretHash string // hex SHA-256 of the cookie's secret
	UserAgent  string
	IP         string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
}

// SessionStore keeps web UI sessions.
type SessionStore interface {
	// CreateSession inserts s, setting ID, CreatedAt and LastSeenAt (now).
	// In the same transaction it deletes the user's sessions that ended
	// (ExpiresAt before now, or last seen before idleBefore) and all but
	// the newest keep, so a user never has more than keep sessions.
	CreateSession(ctx context.Context, s *Session, keep int, idleBefore time.Time) error
	// SessionByHash finds a session by the hex SHA-256 of its secret.
	SessionByHash(ctx context.Context, hash string) (*Session, error)
	// TouchSession records the session's last use.
	TouchSession(ctx context.Context, id int64, at time.Time) error
	// ListSessions lists the user's sessions, newest first.
	ListSessions(ctx context.Context, userID int64) ([]*Session, error)
	// DeleteSession deletes one of the user's sessions; KindNotFound if the
	// user has no session id.
	DeleteSession(ctx context.Context, userID, id int64) error
	// PersonalTokenByID returns a personal token by its id.
	PersonalTokenByID(ctx context.Context, id int64) (*PersonalToken, error)
}
