-- The job queue's version: runners echo it back as last_update, and a
-- request whose version is current is held until the queue changes. It
-- moves on whenever a job becomes pending, or a runner's tags, paused state
-- or scope change, in the same transaction, whatever code path made the
-- change. (On SQLite one process owns the database; the store wakes its
-- waiters after such writes.)
CREATE TABLE job_queue (
	id      INTEGER PRIMARY KEY CHECK (id = 1),
	version INTEGER NOT NULL
);
INSERT INTO job_queue (id, version) VALUES (1, 1);

CREATE TRIGGER jobs_pending_insert AFTER INSERT ON jobs
	FOR EACH ROW WHEN NEW.status = 'pending'
	BEGIN UPDATE job_queue SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER jobs_pending_update AFTER UPDATE OF status ON jobs
	FOR EACH ROW WHEN NEW.status = 'pending' AND OLD.status <> 'pending'
	BEGIN UPDATE job_queue SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER runners_queue_update AFTER UPDATE ON runners
	FOR EACH ROW WHEN NEW.tags <> OLD.tags OR NEW.paused <> OLD.paused OR NEW.run_untagged <> OLD.run_untagged
		OR NEW.runner_type <> OLD.runner_type OR NEW.project_id IS NOT OLD.project_id
		OR NEW.namespace_id IS NOT OLD.namespace_id OR NEW.token_hash <> OLD.token_hash
	BEGIN UPDATE job_queue SET version = version + 1 WHERE id = 1; END;
