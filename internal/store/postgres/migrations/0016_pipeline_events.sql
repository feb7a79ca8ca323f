-- Pipeline events (the events stream, GET .../pipelines/:id/events): every
-- change of a pipeline's or a job's status and every stored artifact is
-- recorded by a trigger, in the transaction making the change, whatever code
-- path made it, and every replica is told at commit (NOTIFY
-- baton_pipeline_events, payload the pipeline's id). seq counts a
-- pipeline's events from 1 without gaps, in commit order: it is bumped on
-- the pipeline's row, whose lock is held until commit, so a reader that saw
-- seq n never sees an n-1 appear later. Events go with their pipeline (ON
-- DELETE CASCADE).
ALTER TABLE pipelines ADD COLUMN event_seq BIGINT NOT NULL DEFAULT 0;

CREATE TABLE pipeline_events (
	pipeline_id     BIGINT NOT NULL REFERENCES pipelines (id) ON DELETE CASCADE,
	seq             BIGINT NOT NULL,
	project_id      BIGINT NOT NULL,
	kind            TEXT NOT NULL,
	job_id          BIGINT NOT NULL DEFAULT 0,
	name            TEXT NOT NULL DEFAULT '',
	stage           TEXT NOT NULL DEFAULT '',
	status          TEXT NOT NULL DEFAULT '',
	previous_status TEXT NOT NULL DEFAULT '',
	detail          TEXT NOT NULL DEFAULT '',
	artifact_id     BIGINT NOT NULL DEFAULT 0,
	artifact_name   TEXT NOT NULL DEFAULT '',
	filename        TEXT NOT NULL DEFAULT '',
	size            BIGINT NOT NULL DEFAULT 0,
	sha256          TEXT NOT NULL DEFAULT '',
	created_at      TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (pipeline_id, seq)
);

-- baton_pipeline_event records one event of pipeline pl and notifies.
CREATE FUNCTION baton_pipeline_event(pl BIGINT, proj BIGINT, k TEXT, job BIGINT, jname TEXT, jstage TEXT,
	st TEXT, prev TEXT, det TEXT, art BIGINT, aname TEXT, fname TEXT, sz BIGINT, digest TEXT)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	s BIGINT;
BEGIN
	UPDATE pipelines SET event_seq = event_seq + 1 WHERE id = pl RETURNING event_seq INTO s;
	IF s IS NULL THEN
		RETURN;
	END IF;
	INSERT INTO pipeline_events (pipeline_id, seq, project_id, kind, job_id, name, stage, status, previous_status,
		detail, artifact_id, artifact_name, filename, size, sha256, created_at)
	VALUES (pl, s, proj, k, job, jname, jstage, st, prev, det, art, aname, fname, sz, digest, clock_timestamp());
	PERFORM pg_notify('baton_pipeline_events', pl::text);
END
$$;

CREATE FUNCTION baton_pipeline_events_pipeline() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM baton_pipeline_event(NEW.id, NEW.project_id, 'pipeline', 0, '', '', NEW.status,
		CASE WHEN TG_OP = 'UPDATE' THEN OLD.status ELSE '' END, NEW.ref, 0, '', '', 0, '');
	RETURN NULL;
END
$$;

CREATE FUNCTION baton_pipeline_events_job() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM baton_pipeline_event(NEW.pipeline_id, NEW.project_id, 'job', NEW.id, NEW.name, NEW.stage, NEW.status,
		CASE WHEN TG_OP = 'UPDATE' THEN OLD.status ELSE '' END, NEW.failure_reason, 0, '', '', 0, '');
	RETURN NULL;
END
$$;

CREATE FUNCTION baton_pipeline_events_artifact() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	jname TEXT := '';
	jstage TEXT := '';
BEGIN
	SELECT name, stage INTO jname, jstage FROM jobs WHERE id = NEW.job_id;
	PERFORM baton_pipeline_event(NEW.pipeline_id, NEW.project_id, 'artifact', NEW.job_id, COALESCE(jname, ''),
		COALESCE(jstage, ''), '', '', NEW.file_type, NEW.id, NEW.name, NEW.filename, NEW.size, NEW.sha256);
	RETURN NULL;
END
$$;

CREATE TRIGGER pipeline_events_pipeline_insert AFTER INSERT ON pipelines
	FOR EACH ROW EXECUTE FUNCTION baton_pipeline_events_pipeline();
CREATE TRIGGER pipeline_events_pipeline_update AFTER UPDATE OF status ON pipelines
	FOR EACH ROW WHEN (NEW.status <> OLD.status) EXECUTE FUNCTION baton_pipeline_events_pipeline();
CREATE TRIGGER pipeline_events_job_insert AFTER INSERT ON jobs
	FOR EACH ROW EXECUTE FUNCTION baton_pipeline_events_job();
CREATE TRIGGER pipeline_events_job_update AFTER UPDATE OF status ON jobs
	FOR EACH ROW WHEN (NEW.status <> OLD.status) EXECUTE FUNCTION baton_pipeline_events_job();
CREATE TRIGGER pipeline_events_artifact_insert AFTER INSERT ON artifacts
	FOR EACH ROW EXECUTE FUNCTION baton_pipeline_events_artifact();

-- A job's log growing records no event, but wakes the streams of its
-- pipeline (the web UI's live log follows it).
CREATE FUNCTION baton_pipeline_trace_grew() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('baton_pipeline_events', NEW.pipeline_id::text);
	RETURN NULL;
END
$$;
CREATE TRIGGER pipeline_events_trace AFTER UPDATE OF trace_size ON jobs
	FOR EACH ROW WHEN (NEW.trace_size > OLD.trace_size) EXECUTE FUNCTION baton_pipeline_trace_grew();
