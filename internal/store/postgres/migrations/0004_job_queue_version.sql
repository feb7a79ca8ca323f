-- The job queue's version: runners echo it back as last_update, and a
-- request whose version is current is held until the queue changes. It is
-- the same on every replica because it lives here. A sequence rather than a
-- counter row, so that making jobs pending never waits on a row lock; its
-- last value is read without a transaction.
--
-- Whenever a job becomes pending, or a runner's tags, paused state or scope
-- change, the version moves on and every replica's listener is told, in the
-- same transaction (NOTIFY is delivered at commit), whatever code path made
-- the change.
CREATE SEQUENCE job_queue_version;
SELECT nextval('job_queue_version');

CREATE FUNCTION baton_job_queue_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('baton_job_queue', nextval('job_queue_version')::text);
	RETURN NULL;
END
$$;

CREATE TRIGGER jobs_pending_insert AFTER INSERT ON jobs
	FOR EACH ROW WHEN (NEW.status = 'pending')
	EXECUTE FUNCTION baton_job_queue_changed();
CREATE TRIGGER jobs_pending_update AFTER UPDATE OF status ON jobs
	FOR EACH ROW WHEN (NEW.status = 'pending' AND OLD.status <> 'pending')
	EXECUTE FUNCTION baton_job_queue_changed();
CREATE TRIGGER runners_queue_update AFTER UPDATE ON runners
	FOR EACH ROW WHEN (NEW.tags <> OLD.tags OR NEW.paused <> OLD.paused OR NEW.run_untagged <> OLD.run_untagged
		OR NEW.runner_type <> OLD.runner_type OR NEW.project_id IS DISTINCT FROM OLD.project_id
		OR NEW.namespace_id IS DISTINCT FROM OLD.namespace_id OR NEW.token_hash <> OLD.token_hash)
	EXECUTE FUNCTION baton_job_queue_changed();
