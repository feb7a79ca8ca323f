-- Environments and deployments (environment: keyword), resource groups.

CREATE TABLE environments (
	id           INTEGER PRIMARY KEY,
	project_id   INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	name         TEXT NOT NULL,
	slug         TEXT NOT NULL,
	external_url TEXT NOT NULL DEFAULT '',
	state        TEXT NOT NULL DEFAULT 'available',
	tier         TEXT NOT NULL DEFAULT 'other',
	auto_stop_at TEXT,
	created_at   TEXT NOT NULL,
	updated_at   TEXT NOT NULL
);
CREATE UNIQUE INDEX environments_project_name ON environments (project_id, name);
CREATE INDEX environments_auto_stop ON environments (auto_stop_at) WHERE state = 'available' AND auto_stop_at IS NOT NULL;

CREATE TABLE deployments (
	id             INTEGER PRIMARY KEY,
	iid            INTEGER NOT NULL,
	project_id     INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	environment_id INTEGER NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
	job_id         INTEGER NOT NULL,
	pipeline_id    INTEGER NOT NULL,
	ref            TEXT NOT NULL,
	sha            TEXT NOT NULL,
	tag            BOOLEAN NOT NULL DEFAULT FALSE,
	user_id        INTEGER NOT NULL DEFAULT 0,
	status         TEXT NOT NULL,
	on_stop        TEXT NOT NULL DEFAULT '',
	created_at     TEXT NOT NULL,
	updated_at     TEXT NOT NULL,
	finished_at    TEXT
);
CREATE UNIQUE INDEX deployments_job ON deployments (job_id);
CREATE UNIQUE INDEX deployments_project_iid ON deployments (project_id, iid);
CREATE INDEX deployments_environment ON deployments (environment_id, status, id);

-- resource_group: one job at a time per (project, key). holder_job_id is
-- the job holding the group (0: free); claiming is a compare-and-set on it.
CREATE TABLE resource_groups (
	id            INTEGER PRIMARY KEY,
	project_id    INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	key           TEXT NOT NULL,
	process_mode  TEXT NOT NULL DEFAULT 'unordered',
	holder_job_id INTEGER NOT NULL DEFAULT 0,
	created_at    TEXT NOT NULL,
	updated_at    TEXT NOT NULL
);
CREATE UNIQUE INDEX resource_groups_project_key ON resource_groups (project_id, key);

-- The resource group a job waits for or holds, from its spec.
ALTER TABLE jobs ADD COLUMN resource_group TEXT NOT NULL DEFAULT '';
CREATE INDEX jobs_resource_group ON jobs (project_id, resource_group, status) WHERE resource_group <> '';

-- Releases (release: keyword and the releases API) and their asset links.
CREATE TABLE releases (
	id          INTEGER PRIMARY KEY,
	project_id  INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	tag_name    TEXT NOT NULL,
	name        TEXT NOT NULL DEFAULT '',
	description TEXT NOT NULL DEFAULT '',
	sha         TEXT NOT NULL DEFAULT '',
	author_id   INTEGER NOT NULL DEFAULT 0,
	job_id      INTEGER NOT NULL DEFAULT 0,
	released_at TEXT NOT NULL,
	created_at  TEXT NOT NULL,
	updated_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX releases_project_tag ON releases (project_id, tag_name);
CREATE INDEX releases_project_released ON releases (project_id, released_at);

CREATE TABLE release_links (
	id         INTEGER PRIMARY KEY,
	release_id INTEGER NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
	name       TEXT NOT NULL,
	url        TEXT NOT NULL,
	link_type  TEXT NOT NULL DEFAULT 'other',
	filepath   TEXT NOT NULL DEFAULT '',
	created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX release_links_name ON release_links (release_id, name);
CREATE UNIQUE INDEX release_links_url ON release_links (release_id, url);
