package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/batonci/baton/internal/ci"
)

const userCols = `id, username, name, email, admin, created_at`

func scanUser(row interface{ Scan(...any) error }) (*ci.User, error) {
	u := &ci.User{}
	err := row.Scan(&u.ID, &u.Username, &u.Name, &u.Email, &u.Admin, scanTime(&u.CreatedAt))
	return u, err
}

// CreateUser inserts u and its personal namespace (path = username, private)
// in one transaction, setting u.ID and u.CreatedAt. A taken username, or a
// namespace full path already used by a group, is KindConflict.
func (db *DB) CreateUser(ctx context.Context, u *ci.User) error {
	if u.Username == "" {
		return ci.Errorf(ci.KindInvalid, "username is required")
	}
	at := now()
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		err := db.queryRow(ctx, tx,
			`INSERT INTO users (username, name, email, admin, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id`,
			u.Username, u.Name, u.Email, u.Admin, db.t(at)).Scan(&u.ID)
		if err != nil {
			return db.violation(err, "creating user", fmt.Sprintf("username %q is already taken", u.Username))
		}
		name := u.Name
		if name == "" {
			name = u.Username
		}
		_, err = db.exec(ctx, tx,
			`INSERT INTO namespaces (name, path, full_path, kind, parent_id, owner_id, visibility, description, created_at)
			 VALUES (?, ?, ?, ?, NULL, ?, ?, '', ?)`,
			name, u.Username, u.Username, ci.NamespaceUser, u.ID, string(ci.VisibilityPrivate), db.t(at))
		return db.violation(err, "creating personal namespace",
			fmt.Sprintf("namespace %q is already taken", u.Username))
	})
	if err != nil {
		u.ID = 0
		return err
	}
	u.CreatedAt = at
	return nil
}

// UserByID returns the user with id, KindNotFound if there is none.
func (db *DB) UserByID(ctx context.Context, id int64) (*ci.User, error) {
	u, err := scanUser(db.queryRow(ctx, db.sql, `SELECT `+userCols+` FROM users WHERE id = ?`, id))
	if err != nil {
		return nil, db.notFound(err, "user %d", id)
	}
	return u, nil
}

// UserByUsername returns the user called username, KindNotFound if there is none.
func (db *DB) UserByUsername(ctx context.Context, username string) (*ci.User, error) {
	u, err := scanUser(db.queryRow(ctx, db.sql, `SELECT `+userCols+` FROM users WHERE username = ?`, username))
	if err != nil {
		return nil, db.notFound(err, "user %q", username)
	}
	return u, nil
}

const tokenCols = `id, user_id, name, scopes, token_hash, expires_at, revoked, created_at, last_used_at`

// CreatePersonalToken inserts t, setting ID and CreatedAt. An unknown user is
// KindInvalid, a hash already stored KindConflict.
func (db *DB) CreatePersonalToken(ctx context.Context, t *ci.PersonalToken) error {
	scopes, err := json.Marshal(nonNil(t.Scopes))
	if err != nil {
		return fmt.Errorf("encoding scopes: %w", err)
	}
	at := now()
	err = db.queryRow(ctx, db.sql,
		`INSERT INTO personal_tokens (user_id, name, scopes, token_hash, expires_at, revoked, created_at, last_used_at)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		t.UserID, t.Name, string(scopes), t.TokenHash, db.tp(t.ExpiresAt), t.Revoked, db.t(at), db.tp(t.LastUsedAt)).Scan(&t.ID)
	if err != nil {
		return db.violation(err, "creating personal token", "token already exists")
	}
	t.CreatedAt = at
	t.ExpiresAt = normp(t.ExpiresAt)
	t.LastUsedAt = normp(t.LastUsedAt)
	return nil
}

// PersonalTokenByHash finds a token by the hex SHA-256 of its secret,
// KindNotFound if there is none.
func (db *DB) PersonalTokenByHash(ctx context.Context, hash string) (*ci.PersonalToken, error) {
	return db.personalToken(ctx, `token_hash = ?`, hash)
}

// PersonalTokenWithUser finds a token by the hex SHA-256 of its secret with
// its user, in one query; KindNotFound if there is none.
func (db *DB) PersonalTokenWithUser(ctx context.Context, hash string) (*ci.PersonalToken, *ci.User, error) {
	v, err := remember(db, func(c *readCache) *memo[string, tokenWithUser] { return &c.tokens }, hash,
		func() (tokenWithUser, error) {
			t, u, err := db.personalTokenWithUser(ctx, hash)
			return tokenWithUser{t, u}, err
		}, tokenWithUser.clone)
	return v.t, v.u, err
}

type tokenWithUser struct {
	t *ci.PersonalToken
	u *ci.User
}

func (v tokenWithUser) clone() tokenWithUser {
	t, u := *v.t, *v.u
	t.Scopes = slices.Clone(t.Scopes)
	t.ExpiresAt, t.LastUsedAt = clonePtr(t.ExpiresAt), clonePtr(t.LastUsedAt)
	return tokenWithUser{&t, &u}
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func (db *DB) personalTokenWithUser(ctx context.Context, hash string) (*ci.PersonalToken, *ci.User, error) {
	t, u := &ci.PersonalToken{}, &ci.User{}
	var scopes string
	err := db.queryRow(ctx, db.sql, `SELECT t.id, t.user_id, t.name, t.scopes, t.token_hash, t.expires_at, t.revoked, t.created_at, t.last_used_at,
		u.id, u.username, u.name, u.email, u.admin, u.created_at
		FROM personal_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?`, hash).Scan(
		&t.ID, &t.UserID, &t.Name, &scopes, &t.TokenHash, scanNullTime(&t.ExpiresAt), &t.Revoked,
		scanTime(&t.CreatedAt), scanNullTime(&t.LastUsedAt),
		&u.ID, &u.Username, &u.Name, &u.Email, &u.Admin, scanTime(&u.CreatedAt))
	if err != nil {
		return nil, nil, db.notFound(err, "personal token")
	}
	if t.Scopes, err = decodeScopes(scopes); err != nil {
		return nil, nil, fmt.Errorf("decoding scopes of token %d: %w", t.ID, err)
	}
	return t, u, nil
}

// decodeScopes reads a token's scopes, a JSON list of scope names. The
// lists Baton writes (plain names) are split without the JSON decoder,
// which cost a fifth of every authentication.
func decodeScopes(s string) ([]string, error) {
	if s == "[]" {
		return []string{}, nil
	}
	if inner, ok := strings.CutPrefix(s, `["`); ok && strings.HasSuffix(inner, `"]`) && !strings.ContainsAny(inner, "\\ \t\n") {
		parts := strings.Split(strings.TrimSuffix(inner, `"]`), `","`)
		plain := true
		for _, p := range parts {
			if p == "" || strings.Contains(p, `"`) {
				plain = false
				break
			}
		}
		if plain {
			return parts, nil
		}
	}
	var out []string
	err := json.Unmarshal([]byte(s), &out)
	return out, err
}

// PersonalTokenByID returns the token with id, KindNotFound if there is none.
func (db *DB) PersonalTokenByID(ctx context.Context, id int64) (*ci.PersonalToken, error) {
	return db.personalToken(ctx, `id = ?`, id)
}

func (db *DB) personalToken(ctx context.Context, where string, arg any) (*ci.PersonalToken, error) {
	t := &ci.PersonalToken{}
	var scopes string
	err := db.queryRow(ctx, db.sql, `SELECT `+tokenCols+` FROM personal_tokens WHERE `+where, arg).Scan(
		&t.ID, &t.UserID, &t.Name, &scopes, &t.TokenHash, scanNullTime(&t.ExpiresAt), &t.Revoked,
		scanTime(&t.CreatedAt), scanNullTime(&t.LastUsedAt))
	if err != nil {
		return nil, db.notFound(err, "personal token")
	}
	var err2 error
	if t.Scopes, err2 = decodeScopes(scopes); err2 != nil {
		return nil, fmt.Errorf("decoding scopes of token %d: %w", t.ID, err2)
	}
	return t, nil
}

// TouchPersonalToken records the token's last use; KindNotFound if it is gone.
func (db *DB) TouchPersonalToken(ctx context.Context, id int64, at time.Time) error {
	res, err := db.exec(ctx, db.sql, `UPDATE personal_tokens SET last_used_at = ? WHERE id = ?`, db.t(at), id)
	if err != nil {
		return fmt.Errorf("touching personal token %d: %w", id, err)
	}
	return mustAffect(res, "personal token %d", id)
}

// nonNil keeps JSON lists as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
