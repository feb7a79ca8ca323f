-- Pipeline schedules (GitLab's pipeline_schedules and their variables),
-- project webhooks with their durable delivery queue, and job coverage.

CREATE TABLE pipeline_schedules (
	id               INTEGER PRIMARY KEY,
	project_id       INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	owner_id         INTEGER NOT NULL DEFAULT 0,
	description      TEXT NOT NULL DEFAULT '',
	ref              TEXT NOT NULL,
	cron             TEXT NOT NULL,
	cron_timezone    TEXT NOT NULL DEFAULT 'UTC',
	active           BOOLEAN NOT NULL DEFAULT TRUE,
	next_run_at      TEXT,
	last_pipeline_id INTEGER NOT NULL DEFAULT 0,
	inactive_reason  TEXT NOT NULL DEFAULT '',
	created_at       TEXT NOT NULL,
	updated_at       TEXT NOT NULL
);
CREATE INDEX pipeline_schedules_project ON pipeline_schedules (project_id);
CREATE INDEX pipeline_schedules_due ON pipeline_schedules (next_run_at) WHERE active;

CREATE TABLE pipeline_schedule_variables (
	schedule_id   INTEGER NOT NULL REFERENCES pipeline_schedules (id) ON DELETE CASCADE,
	key           TEXT NOT NULL,
	value         TEXT NOT NULL DEFAULT '',
	variable_type TEXT NOT NULL DEFAULT 'env_var',
	PRIMARY KEY (schedule_id, key)
);

CREATE TABLE project_hooks (
	id                        INTEGER PRIMARY KEY,
	project_id                INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	url                       TEXT NOT NULL,
	token                     TEXT NOT NULL DEFAULT '',
	push_events               BOOLEAN NOT NULL DEFAULT TRUE,
	tag_push_events           BOOLEAN NOT NULL DEFAULT FALSE,
	pipeline_events           BOOLEAN NOT NULL DEFAULT FALSE,
	job_events                BOOLEAN NOT NULL DEFAULT FALSE,
	enable_ssl_verification   BOOLEAN NOT NULL DEFAULT TRUE,
	push_events_branch_filter TEXT NOT NULL DEFAULT '',
	created_at                TEXT NOT NULL
);
CREATE INDEX project_hooks_project ON project_hooks (project_id);

-- One row per event per hook. A pending row is due at next_attempt_at and
-- held by the replica delivering it until claimed_until.
CREATE TABLE hook_deliveries (
	id              INTEGER PRIMARY KEY,
	hook_id         INTEGER NOT NULL REFERENCES project_hooks (id) ON DELETE CASCADE,
	project_id      INTEGER NOT NULL,
	trigger_name    TEXT NOT NULL,
	event           TEXT NOT NULL,
	uuid            TEXT NOT NULL,
	payload         TEXT NOT NULL,
	status          TEXT NOT NULL DEFAULT 'pending',
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at TEXT NOT NULL,
	claimed_until   TEXT,
	response_status INTEGER NOT NULL DEFAULT 0,
	response_body   TEXT NOT NULL DEFAULT '',
	error           TEXT NOT NULL DEFAULT '',
	duration_ms     INTEGER NOT NULL DEFAULT 0,
	created_at      TEXT NOT NULL,
	finished_at     TEXT
);
CREATE INDEX hook_deliveries_pending ON hook_deliveries (id) WHERE status = 'pending';
CREATE INDEX hook_deliveries_hook ON hook_deliveries (hook_id, id);

-- A job's coverage, from its coverage: regex over its log at finish.
ALTER TABLE jobs ADD COLUMN coverage REAL;
