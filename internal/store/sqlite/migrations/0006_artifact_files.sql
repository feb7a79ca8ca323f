-- The files of each archive by digest, for provenance: which jobs produced a
-- file (GET /projects/:id/artifacts/by_digest/:sha256). Written with the
-- archive's row, one row per file (bounded by --max-artifact-entries), and
-- deleted with it.
CREATE TABLE artifact_files (
	artifact_id INTEGER NOT NULL REFERENCES artifacts (id) ON DELETE CASCADE,
	project_id  INTEGER NOT NULL,
	sha256      TEXT NOT NULL,
	path        TEXT NOT NULL
);
CREATE INDEX artifact_files_digest ON artifact_files (project_id, sha256, artifact_id);
CREATE INDEX artifact_files_artifact ON artifact_files (artifact_id);
