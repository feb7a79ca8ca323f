-- What is the same for every job of a pipeline (the file's global and
-- workflow variables) is stored once per pipeline, not in every job's spec.
CREATE TABLE pipeline_specs (
	pipeline_id BIGINT PRIMARY KEY REFERENCES pipelines (id) ON DELETE CASCADE,
	spec        TEXT NOT NULL
);

-- sched is the part of a job's spec that scheduling reads (when, needs,
-- allow_failure, retry, timeout, ...), so that advancing a pipeline never
-- loads scripts and variables of all its jobs.
ALTER TABLE jobs ADD COLUMN sched TEXT NOT NULL DEFAULT '{}';
UPDATE jobs SET sched = (spec::jsonb - ARRAY['variables', 'script', 'before_script', 'after_script',
	'image', 'services', 'artifacts', 'tags', 'dependencies', 'environment', 'coverage'])::text;
