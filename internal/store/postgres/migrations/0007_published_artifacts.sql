-- Artifacts a running job publishes by name (file_type 'published'): a job
-- has one artifact of each other file type, and one published artifact of
-- each name.
ALTER TABLE artifacts ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE artifacts DROP CONSTRAINT artifacts_job_id_file_type_key;
ALTER TABLE artifacts ADD CONSTRAINT artifacts_job_id_file_type_name_key UNIQUE (job_id, file_type, name);
