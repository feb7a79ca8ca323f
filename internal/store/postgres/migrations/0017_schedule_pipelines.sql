-- The pipelines each pipeline schedule created (GET
-- .../pipeline_schedules/:id/pipelines), recorded with the schedule's last
-- pipeline. Links go with their schedule or their pipeline.
CREATE TABLE pipeline_schedule_pipelines (
	schedule_id BIGINT NOT NULL REFERENCES pipeline_schedules (id) ON DELETE CASCADE,
	pipeline_id BIGINT NOT NULL REFERENCES pipelines (id) ON DELETE CASCADE,
	PRIMARY KEY (schedule_id, pipeline_id)
);
CREATE INDEX pipeline_schedule_pipelines_pipeline ON pipeline_schedule_pipelines (pipeline_id);
