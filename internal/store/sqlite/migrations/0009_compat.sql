-- What GitLab API clients read and filter on: a pipeline's name (from
-- workflow:name), who erased a job, external commit statuses, and the
-- projects a project runner was enabled for besides its own.
ALTER TABLE pipelines ADD COLUMN name TEXT NOT NULL DEFAULT '';
CREATE INDEX pipelines_project_created ON pipelines (project_id, created_at);
CREATE INDEX pipelines_project_updated ON pipelines (project_id, updated_at);
CREATE INDEX pipelines_project_name ON pipelines (project_id, name, id);
CREATE INDEX pipelines_project_yaml_errors ON pipelines (project_id, id) WHERE yaml_errors <> '';

ALTER TABLE jobs ADD COLUMN erased_by INTEGER NOT NULL DEFAULT 0;

-- Statuses that outside systems report for a commit (POST
-- /projects/:id/statuses/:sha): one row per (sha, ref, name), updated in place.
CREATE TABLE commit_statuses (
	id          INTEGER PRIMARY KEY,
	project_id  INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	sha         TEXT NOT NULL,
	ref         TEXT NOT NULL DEFAULT '',
	name        TEXT NOT NULL,
	status      TEXT NOT NULL,
	target_url  TEXT NOT NULL DEFAULT '',
	description TEXT NOT NULL DEFAULT '',
	coverage    REAL,
	pipeline_id INTEGER,
	author_id   INTEGER NOT NULL DEFAULT 0,
	created_at  TEXT NOT NULL,
	updated_at  TEXT NOT NULL,
	started_at  TEXT,
	finished_at TEXT,
	UNIQUE (project_id, sha, ref, name)
);

-- A project runner runs the jobs of its own project (runners.project_id)
-- and of the projects it was enabled for (POST /projects/:id/runners).
CREATE TABLE runner_projects (
	runner_id  INTEGER NOT NULL REFERENCES runners (id) ON DELETE CASCADE,
	project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	created_at TEXT NOT NULL,
	PRIMARY KEY (runner_id, project_id)
);
CREATE INDEX runner_projects_project ON runner_projects (project_id);
CREATE TRIGGER runner_projects_insert AFTER INSERT ON runner_projects
	BEGIN UPDATE job_queue SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER runner_projects_delete AFTER DELETE ON runner_projects
	BEGIN UPDATE job_queue SET version = version + 1 WHERE id = 1; END;
