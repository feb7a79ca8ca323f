-- A project's CI settings that PUT /projects/:id and the settings page
-- change: the jobs' default timeout in seconds (GitLab's build_timeout),
-- whether a new pipeline cancels older unfinished ones of its branch, and
-- the least role that may give pipeline variables.
ALTER TABLE projects ADD COLUMN build_timeout INTEGER NOT NULL DEFAULT 3600;
ALTER TABLE projects ADD COLUMN auto_cancel_pending_pipelines BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE projects ADD COLUMN pipeline_variables_minimum_override_role TEXT NOT NULL DEFAULT 'developer';
