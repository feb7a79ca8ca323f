-- Artifacts a running job publishes by name (file_type 'published'): a job
-- has one artifact of each other file type, and one published artifact of
-- each name. SQLite cannot drop a constraint, so the table is rebuilt,
-- keeping its ids; artifact_files (which dropping artifacts empties by its
-- ON DELETE CASCADE) is kept aside and put back.
CREATE TEMP TABLE artifact_files_kept AS SELECT artifact_id, project_id, sha256, path FROM artifact_files;
CREATE TABLE artifacts_new (
	id          INTEGER PRIMARY KEY,
	job_id      INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
	pipeline_id INTEGER NOT NULL,
	project_id  INTEGER NOT NULL,
	file_type   TEXT NOT NULL,
	name        TEXT NOT NULL DEFAULT '',
	file_format TEXT NOT NULL DEFAULT '',
	filename    TEXT NOT NULL DEFAULT '',
	size        INTEGER NOT NULL DEFAULT 0,
	sha256      TEXT NOT NULL DEFAULT '',
	blob_key    TEXT NOT NULL,
	index_key   TEXT NOT NULL DEFAULT '',
	expire_at   TEXT,
	locked      BOOLEAN NOT NULL DEFAULT FALSE,
	created_at  TEXT NOT NULL,
	UNIQUE (job_id, file_type, name)
);
INSERT INTO artifacts_new (id, job_id, pipeline_id, project_id, file_type, file_format, filename, size, sha256,
	blob_key, index_key, expire_at, locked, created_at)
SELECT id, job_id, pipeline_id, project_id, file_type, file_format, filename, size, sha256,
	blob_key, index_key, expire_at, locked, created_at FROM artifacts;
DROP TABLE artifacts;
ALTER TABLE artifacts_new RENAME TO artifacts;
CREATE INDEX artifacts_project ON artifacts (project_id);
CREATE INDEX artifacts_expire ON artifacts (expire_at) WHERE locked = FALSE AND expire_at IS NOT NULL;
INSERT INTO artifact_files (artifact_id, project_id, sha256, path)
	SELECT artifact_id, project_id, sha256, path FROM artifact_files_kept;
DROP TABLE artifact_files_kept;
