-- Pipeline events (the events stream, GET .../pipelines/:id/events): every
-- change of a pipeline's or a job's status and every stored artifact is
-- recorded by a trigger, in the transaction making the change, whatever code
-- path made it. seq counts a pipeline's events from 1 without gaps, in
-- commit order (pipelines.event_seq, bumped under the row's lock). Events go
-- with their pipeline (ON DELETE CASCADE).
ALTER TABLE pipelines ADD COLUMN event_seq INTEGER NOT NULL DEFAULT 0;

CREATE TABLE pipeline_events (
	pipeline_id     INTEGER NOT NULL REFERENCES pipelines (id) ON DELETE CASCADE,
	seq             INTEGER NOT NULL,
	project_id      INTEGER NOT NULL,
	kind            TEXT NOT NULL,
	job_id          INTEGER NOT NULL DEFAULT 0,
	name            TEXT NOT NULL DEFAULT '',
	stage           TEXT NOT NULL DEFAULT '',
	status          TEXT NOT NULL DEFAULT '',
	previous_status TEXT NOT NULL DEFAULT '',
	detail          TEXT NOT NULL DEFAULT '',
	artifact_id     INTEGER NOT NULL DEFAULT 0,
	artifact_name   TEXT NOT NULL DEFAULT '',
	filename        TEXT NOT NULL DEFAULT '',
	size            INTEGER NOT NULL DEFAULT 0,
	sha256          TEXT NOT NULL DEFAULT '',
	created_at      TEXT NOT NULL,
	PRIMARY KEY (pipeline_id, seq)
);

CREATE TRIGGER pipeline_events_pipeline_insert AFTER INSERT ON pipelines
BEGIN
	UPDATE pipelines SET event_seq = event_seq + 1 WHERE id = NEW.id;
	INSERT INTO pipeline_events (pipeline_id, seq, project_id, kind, status, detail, created_at)
	SELECT NEW.id, event_seq, NEW.project_id, 'pipeline', NEW.status, NEW.ref,
		strftime('%Y-%m-%dT%H:%M:%f000Z', 'now') FROM pipelines WHERE id = NEW.id;
END;

CREATE TRIGGER pipeline_events_pipeline_update AFTER UPDATE OF status ON pipelines
	WHEN NEW.status <> OLD.status
BEGIN
	UPDATE pipelines SET event_seq = event_seq + 1 WHERE id = NEW.id;
	INSERT INTO pipeline_events (pipeline_id, seq, project_id, kind, status, previous_status, detail, created_at)
	SELECT NEW.id, event_seq, NEW.project_id, 'pipeline', NEW.status, OLD.status, NEW.ref,
		strftime('%Y-%m-%dT%H:%M:%f000Z', 'now') FROM pipelines WHERE id = NEW.id;
END;

CREATE TRIGGER pipeline_events_job_insert AFTER INSERT ON jobs
BEGIN
	UPDATE pipelines SET event_seq = event_seq + 1 WHERE id = NEW.pipeline_id;
	INSERT INTO pipeline_events (pipeline_id, seq, project_id, kind, job_id, name, stage, status, detail, created_at)
	SELECT NEW.pipeline_id, event_seq, NEW.project_id, 'job', NEW.id, NEW.name, NEW.stage, NEW.status,
		NEW.failure_reason, strftime('%Y-%m-%dT%H:%M:%f000Z', 'now') FROM pipelines WHERE id = NEW.pipeline_id;
END;

CREATE TRIGGER pipeline_events_job_update AFTER UPDATE OF status ON jobs
	WHEN NEW.status <> OLD.status
BEGIN
	UPDATE pipelines SET event_seq = event_seq + 1 WHERE id = NEW.pipeline_id;
	INSERT INTO pipeline_events (pipeline_id, seq, project_id, kind, job_id, name, stage, status, previous_status,
		detail, created_at)
	SELECT NEW.pipeline_id, event_seq, NEW.project_id, 'job', NEW.id, NEW.name, NEW.stage, NEW.status, OLD.status,
		NEW.failure_reason, strftime('%Y-%m-%dT%H:%M:%f000Z', 'now') FROM pipelines WHERE id = NEW.pipeline_id;
END;

CREATE TRIGGER pipeline_events_artifact_insert AFTER INSERT ON artifacts
BEGIN
	UPDATE pipelines SET event_seq = event_seq + 1 WHERE id = NEW.pipeline_id;
	INSERT INTO pipeline_events (pipeline_id, seq, project_id, kind, job_id, name, stage, detail, artifact_id,
		artifact_name, filename, size, sha256, created_at)
	SELECT NEW.pipeline_id, p.event_seq, NEW.project_id, 'artifact', NEW.job_id, COALESCE(j.name, ''),
		COALESCE(j.stage, ''), NEW.file_type, NEW.id, NEW.name, NEW.filename, NEW.size, NEW.sha256,
		strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')
	FROM pipelines p LEFT JOIN jobs j ON j.id = NEW.job_id WHERE p.id = NEW.pipeline_id;
END;
