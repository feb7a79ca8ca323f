-- CI/CD variables of the instance (no project, no namespace), of groups
-- (namespace_id) and of projects (project_id). value holds the value
-- encrypted (AES-GCM, the key never in the database).
CREATE TABLE ci_variables (
	id                INTEGER PRIMARY KEY,
	scope             TEXT NOT NULL,
	project_id        INTEGER REFERENCES projects (id) ON DELETE CASCADE,
	namespace_id      INTEGER REFERENCES namespaces (id) ON DELETE CASCADE,
	key               TEXT NOT NULL,
	value             BLOB NOT NULL,
	variable_type     TEXT NOT NULL DEFAULT 'env_var',
	protected         BOOLEAN NOT NULL DEFAULT FALSE,
	masked            BOOLEAN NOT NULL DEFAULT FALSE,
	raw               BOOLEAN NOT NULL DEFAULT FALSE,
	environment_scope TEXT NOT NULL DEFAULT '*',
	description       TEXT NOT NULL DEFAULT '',
	created_at        TEXT NOT NULL,
	updated_at        TEXT NOT NULL
);
CREATE UNIQUE INDEX ci_variables_key ON ci_variables (scope, COALESCE(project_id, 0), COALESCE(namespace_id, 0), key, environment_scope);
CREATE INDEX ci_variables_project ON ci_variables (project_id);
CREATE INDEX ci_variables_namespace ON ci_variables (namespace_id);

-- Protected branches (tag FALSE) and tags (tag TRUE) of projects.
CREATE TABLE protected_refs (
	id                  INTEGER PRIMARY KEY,
	project_id          INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	tag                 BOOLEAN NOT NULL DEFAULT FALSE,
	name                TEXT NOT NULL,
	push_access_level   INTEGER NOT NULL DEFAULT 40,
	merge_access_level  INTEGER NOT NULL DEFAULT 40,
	create_access_level INTEGER NOT NULL DEFAULT 40,
	allow_force_push    BOOLEAN NOT NULL DEFAULT FALSE,
	created_at          TEXT NOT NULL,
	UNIQUE (project_id, tag, name)
);

-- Whether a pipeline's ref was protected when it was created: its jobs
-- get protected variables and CI_COMMIT_REF_PROTECTED=true.
ALTER TABLE pipelines ADD COLUMN protected BOOLEAN NOT NULL DEFAULT FALSE;

-- The end of a job's log held back from trace_chunks because it may begin
-- a masked value (AppendMaskedTrace); stored as '*' when the job finishes.
ALTER TABLE jobs ADD COLUMN trace_pending BLOB NOT NULL DEFAULT x'';
