-- Downstream pipelines: bridge jobs (trigger:), which no runner picks up,
-- and the link from each pipeline a bridge created to that bridge and its
-- pipeline (GitLab's ci_sources_pipelines).

ALTER TABLE jobs ADD COLUMN bridge BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX jobs_active_bridges ON jobs (status) WHERE bridge;

CREATE TABLE pipeline_links (
	pipeline_id        INTEGER PRIMARY KEY REFERENCES pipelines (id) ON DELETE CASCADE,
	project_id         INTEGER NOT NULL,
	parent_pipeline_id INTEGER NOT NULL REFERENCES pipelines (id) ON DELETE CASCADE,
	parent_project_id  INTEGER NOT NULL,
	parent_job_id      INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
	depth              INTEGER NOT NULL,
	child_depth        INTEGER NOT NULL
);
-- One downstream pipeline per bridge job: two replicas handling one bridge
-- create it once.
CREATE UNIQUE INDEX pipeline_links_parent_job ON pipeline_links (parent_job_id);
CREATE INDEX pipeline_links_parent_pipeline ON pipeline_links (parent_pipeline_id);
