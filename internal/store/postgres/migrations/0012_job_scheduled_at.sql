-- Delayed jobs (when: delayed, start_in): a scheduled job is released to
-- runners at scheduled_at (GitLab's ci_builds.scheduled_at).
ALTER TABLE jobs ADD COLUMN scheduled_at TIMESTAMPTZ;
CREATE INDEX jobs_scheduled_due ON jobs (scheduled_at) WHERE status = 'scheduled';
