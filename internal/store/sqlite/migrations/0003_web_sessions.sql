-- Web UI sessions: the browser's cookie holds a random secret, the row only
-- its SHA-256 hash. Deleting the row (sign-out, revoke) ends the session;
-- deleting the user or the token it signed in with deletes it too.
CREATE TABLE web_sessions (
	id           INTEGER PRIMARY KEY,
	user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	token_id     INTEGER NOT NULL REFERENCES personal_tokens (id) ON DELETE CASCADE,
	secret_hash  TEXT NOT NULL UNIQUE,
	user_agent   TEXT NOT NULL DEFAULT '',
	ip           TEXT NOT NULL DEFAULT '',
	created_at   TEXT NOT NULL,
	last_seen_at TEXT NOT NULL,
	expires_at   TEXT NOT NULL
);
CREATE INDEX web_sessions_user ON web_sessions (user_id, created_at);
CREATE INDEX web_sessions_token ON web_sessions (token_id);
