-- Artifact tokens: read-only, artifact-only tokens a running job mints for
-- named jobs (and published artifacts) of its own pipeline. Only the hash
-- of the secret is kept; lists are newline-separated. uses counts in one
-- conditional UPDATE so max_uses holds across replicas.
CREATE TABLE artifact_tokens (
	id           INTEGER PRIMARY KEY,
	project_id   INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	pipeline_id  INTEGER NOT NULL REFERENCES pipelines (id) ON DELETE CASCADE,
	job_id       INTEGER NOT NULL,
	token_hash   TEXT NOT NULL UNIQUE,
	token_tail   TEXT NOT NULL DEFAULT '',
	jobs         TEXT NOT NULL,
	artifacts    TEXT NOT NULL DEFAULT '',
	allowed_ips  TEXT NOT NULL DEFAULT '',
	max_uses     INTEGER NOT NULL DEFAULT 0,
	uses         INTEGER NOT NULL DEFAULT 0,
	expires_at   TEXT NOT NULL,
	revoked_at   TEXT,
	created_at   TEXT NOT NULL,
	last_used_at TEXT
);
CREATE INDEX artifact_tokens_project ON artifact_tokens (project_id, id);
CREATE INDEX artifact_tokens_pipeline ON artifact_tokens (pipeline_id);
-- Every use of an artifact token, newest kept (--max-artifact-token-uses-log).
CREATE TABLE artifact_token_uses (
	id          INTEGER PRIMARY KEY,
	token_id    INTEGER NOT NULL REFERENCES artifact_tokens (id) ON DELETE CASCADE,
	used_at     TEXT NOT NULL,
	remote_addr TEXT NOT NULL DEFAULT '',
	route       TEXT NOT NULL DEFAULT '',
	status      INTEGER NOT NULL DEFAULT 0,
	bytes       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX artifact_token_uses_token ON artifact_token_uses (token_id, id);
