-- Baton's schema on SQLite. Timestamps are fixed-width UTC text
-- (2006-01-02T15:04:05.000000Z), which sorts like the instants it names.

CREATE TABLE users (
	id         INTEGER PRIMARY KEY,
	username   TEXT NOT NULL UNIQUE,
	name       TEXT NOT NULL DEFAULT '',
	email      TEXT NOT NULL DEFAULT '',
	admin      BOOLEAN NOT NULL DEFAULT FALSE,
	created_at TEXT NOT NULL
);

CREATE TABLE personal_tokens (
	id           INTEGER PRIMARY KEY,
	user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name         TEXT NOT NULL,
	scopes       TEXT NOT NULL DEFAULT '[]',
	token_hash   TEXT NOT NULL UNIQUE,
	expires_at   TEXT,
	revoked      BOOLEAN NOT NULL DEFAULT FALSE,
	created_at   TEXT NOT NULL,
	last_used_at TEXT
);
CREATE INDEX personal_tokens_user ON personal_tokens (user_id);

CREATE TABLE namespaces (
	id          INTEGER PRIMARY KEY,
	name        TEXT NOT NULL,
	path        TEXT NOT NULL,
	full_path   TEXT NOT NULL UNIQUE,
	kind        TEXT NOT NULL,
	parent_id   INTEGER REFERENCES namespaces (id) ON DELETE CASCADE,
	owner_id    INTEGER REFERENCES users (id) ON DELETE CASCADE,
	visibility  TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	created_at  TEXT NOT NULL
);
CREATE INDEX namespaces_parent ON namespaces (parent_id);
CREATE UNIQUE INDEX namespaces_owner ON namespaces (owner_id);

CREATE TABLE projects (
	id                      INTEGER PRIMARY KEY,
	namespace_id            INTEGER NOT NULL REFERENCES namespaces (id) ON DELETE CASCADE,
	name                    TEXT NOT NULL,
	path                    TEXT NOT NULL,
	full_path               TEXT NOT NULL UNIQUE,
	description             TEXT NOT NULL DEFAULT '',
	default_branch          TEXT NOT NULL DEFAULT '',
	visibility              TEXT NOT NULL,
	creator_id              INTEGER NOT NULL DEFAULT 0,
	ci_config_path          TEXT NOT NULL DEFAULT '',
	job_token_scope_enabled BOOLEAN NOT NULL DEFAULT FALSE,
	last_pipeline_iid       INTEGER NOT NULL DEFAULT 0,
	created_at              TEXT NOT NULL,
	updated_at              TEXT NOT NULL,
	UNIQUE (namespace_id, path)
);

CREATE TABLE project_members (
	project_id   INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	access_level INTEGER NOT NULL,
	created_at   TEXT NOT NULL,
	PRIMARY KEY (project_id, user_id)
);
CREATE INDEX project_members_user ON project_members (user_id);

CREATE TABLE namespace_members (
	namespace_id INTEGER NOT NULL REFERENCES namespaces (id) ON DELETE CASCADE,
	user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	access_level INTEGER NOT NULL,
	created_at   TEXT NOT NULL,
	PRIMARY KEY (namespace_id, user_id)
);
CREATE INDEX namespace_members_user ON namespace_members (user_id);

CREATE TABLE job_token_allowlist (
	target_id  INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	source_id  INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	PRIMARY KEY (target_id, source_id)
);
CREATE INDEX job_token_allowlist_source ON job_token_allowlist (source_id);

CREATE TABLE triggers (
	id           INTEGER PRIMARY KEY,
	project_id   INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	owner_id     INTEGER NOT NULL DEFAULT 0,
	description  TEXT NOT NULL DEFAULT '',
	token_hash   TEXT NOT NULL UNIQUE,
	token_tail   TEXT NOT NULL DEFAULT '',
	created_at   TEXT NOT NULL,
	last_used_at TEXT
);
CREATE INDEX triggers_project ON triggers (project_id);

CREATE TABLE pipelines (
	id           INTEGER PRIMARY KEY,
	project_id   INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	iid          INTEGER NOT NULL,
	ref          TEXT NOT NULL,
	tag          BOOLEAN NOT NULL DEFAULT FALSE,
	sha          TEXT NOT NULL,
	before_sha   TEXT NOT NULL DEFAULT '',
	source       TEXT NOT NULL,
	status       TEXT NOT NULL,
	yaml_errors  TEXT NOT NULL DEFAULT '',
	user_id      INTEGER NOT NULL DEFAULT 0,
	variables    TEXT NOT NULL DEFAULT '[]',
	commit_title TEXT NOT NULL DEFAULT '',
	created_at   TEXT NOT NULL,
	updated_at   TEXT NOT NULL,
	started_at   TEXT,
	finished_at  TEXT,
	UNIQUE (project_id, iid)
);
CREATE INDEX pipelines_project_id ON pipelines (project_id, id);
CREATE INDEX pipelines_project_sha ON pipelines (project_id, sha);
CREATE INDEX pipelines_project_ref_status ON pipelines (project_id, ref, status, id);
CREATE INDEX pipelines_project_status ON pipelines (project_id, status, id);

CREATE TABLE jobs (
	id             INTEGER PRIMARY KEY,
	project_id     INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	pipeline_id    INTEGER NOT NULL REFERENCES pipelines (id) ON DELETE CASCADE,
	name           TEXT NOT NULL,
	stage          TEXT NOT NULL DEFAULT '',
	stage_idx      INTEGER NOT NULL DEFAULT 0,
	status         TEXT NOT NULL,
	spec           TEXT NOT NULL DEFAULT '{}',
	retried        BOOLEAN NOT NULL DEFAULT FALSE,
	attempt        INTEGER NOT NULL DEFAULT 1,
	runner_id      INTEGER NOT NULL DEFAULT 0,
	token_hash     TEXT UNIQUE,
	failure_reason TEXT NOT NULL DEFAULT '',
	exit_code      INTEGER,
	user_id        INTEGER NOT NULL DEFAULT 0,
	trace_size     INTEGER NOT NULL DEFAULT 0,
	created_at     TEXT NOT NULL,
	queued_at      TEXT,
	started_at     TEXT,
	finished_at    TEXT,
	updated_at     TEXT NOT NULL,
	erased_at      TEXT
);
CREATE INDEX jobs_pipeline_name ON jobs (pipeline_id, name);
CREATE INDEX jobs_project_id ON jobs (project_id, id);
CREATE INDEX jobs_status_id ON jobs (status, id);
CREATE INDEX jobs_status_updated ON jobs (status, updated_at);

CREATE TABLE job_tags (
	job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
	tag    TEXT NOT NULL,
	PRIMARY KEY (job_id, tag)
);

CREATE TABLE trace_chunks (
	job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
	pos    INTEGER NOT NULL,
	data   BLOB NOT NULL,
	PRIMARY KEY (job_id, pos)
);

CREATE TABLE artifacts (
	id          INTEGER PRIMARY KEY,
	job_id      INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
	pipeline_id INTEGER NOT NULL,
	project_id  INTEGER NOT NULL,
	file_type   TEXT NOT NULL,
	file_format TEXT NOT NULL DEFAULT '',
	filename    TEXT NOT NULL DEFAULT '',
	size        INTEGER NOT NULL DEFAULT 0,
	sha256      TEXT NOT NULL DEFAULT '',
	blob_key    TEXT NOT NULL,
	index_key   TEXT NOT NULL DEFAULT '',
	expire_at   TEXT,
	locked      BOOLEAN NOT NULL DEFAULT FALSE,
	created_at  TEXT NOT NULL,
	UNIQUE (job_id, file_type)
);
CREATE INDEX artifacts_project ON artifacts (project_id);
CREATE INDEX artifacts_expire ON artifacts (expire_at) WHERE locked = FALSE AND expire_at IS NOT NULL;

CREATE TABLE runners (
	id               INTEGER PRIMARY KEY,
	description      TEXT NOT NULL DEFAULT '',
	token_hash       TEXT NOT NULL UNIQUE,
	token_expires_at TEXT,
	runner_type      TEXT NOT NULL,
	project_id       INTEGER REFERENCES projects (id) ON DELETE SET NULL,
	namespace_id     INTEGER REFERENCES namespaces (id) ON DELETE SET NULL,
	tags             TEXT NOT NULL DEFAULT '[]',
	run_untagged     BOOLEAN NOT NULL DEFAULT FALSE,
	paused           BOOLEAN NOT NULL DEFAULT FALSE,
	locked           BOOLEAN NOT NULL DEFAULT FALSE,
	access_level     TEXT NOT NULL DEFAULT '',
	maximum_timeout  INTEGER NOT NULL DEFAULT 0,
	version          TEXT NOT NULL DEFAULT '',
	platform         TEXT NOT NULL DEFAULT '',
	architecture     TEXT NOT NULL DEFAULT '',
	executor         TEXT NOT NULL DEFAULT '',
	ip_address       TEXT NOT NULL DEFAULT '',
	contacted_at     TEXT,
	created_at       TEXT NOT NULL
);
CREATE INDEX runners_project ON runners (project_id);
CREATE INDEX runners_namespace ON runners (namespace_id);

CREATE TABLE settings (
	name  TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
