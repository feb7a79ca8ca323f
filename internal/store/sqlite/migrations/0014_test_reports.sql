-- Test reports: the suite and cases parsed from a job's junit artifact,
-- gone with the artifact (expiry, erase).

CREATE TABLE job_test_suites (
	artifact_id   INTEGER PRIMARY KEY REFERENCES artifacts (id) ON DELETE CASCADE,
	job_id        INTEGER NOT NULL,
	pipeline_id   INTEGER NOT NULL,
	name          TEXT NOT NULL,
	suite_error   TEXT NOT NULL DEFAULT '',
	total_time    REAL NOT NULL DEFAULT 0,
	total_count   INTEGER NOT NULL DEFAULT 0,
	success_count INTEGER NOT NULL DEFAULT 0,
	failed_count  INTEGER NOT NULL DEFAULT 0,
	skipped_count INTEGER NOT NULL DEFAULT 0,
	error_count   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX job_test_suites_pipeline ON job_test_suites (pipeline_id);

CREATE TABLE job_test_cases (
	artifact_id    INTEGER NOT NULL REFERENCES job_test_suites (artifact_id) ON DELETE CASCADE,
	seq            INTEGER NOT NULL,
	status         TEXT NOT NULL,
	name           TEXT NOT NULL DEFAULT '',
	classname      TEXT NOT NULL DEFAULT '',
	file           TEXT NOT NULL DEFAULT '',
	execution_time REAL NOT NULL DEFAULT 0,
	system_output  TEXT NOT NULL DEFAULT '',
	stack_trace    TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (artifact_id, seq)
);
