-- External commit statuses (POST /projects/:id/statuses/:sha) are jobs of
-- their pipeline, as GitLab's GenericCommitStatus: no runner picks them up
-- and the scheduler's sweeps leave them alone.

ALTER TABLE jobs ADD COLUMN external BOOLEAN NOT NULL DEFAULT FALSE;
-- One current job per status name and pipeline: two reports at once
-- cannot both create it.
CREATE UNIQUE INDEX jobs_external_name ON jobs (pipeline_id, name) WHERE external AND NOT retried;
