package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/batonci/baton/internal/ci"
)

var _ ci.ScheduleStore = (*DB)(nil)

const scheduleCols = `id, project_id, owner_id, description, ref, cron, cron_timezone, active, next_run_at,
	last_pipeline_id, inactive_reason, created_at, updated_at`

func scanSchedule(row interface{ Scan(...any) error }) (*ci.PipelineSchedule, error) {
	s := &ci.PipelineSchedule{}
	err := row.Scan(&s.ID, &s.ProjectID, &s.OwnerID, &s.Description, &s.Ref, &s.Cron, &s.CronTimezone, &s.Active,
		scanNullTime(&s.NextRunAt), &s.LastPipelineID, &s.InactiveReason, scanTime(&s.CreatedAt), scanTime(&s.UpdatedAt))
	return s, err
}

// CreatePipelineSchedule inserts s unless its project has max schedules
// already (counted in the inserting transaction: concurrent creations may
// overshoot by their number, never more).
func (db *DB) CreatePipelineSchedule(ctx context.Context, s *ci.PipelineSchedule, max int) error {
	at := now()
	s.NextRunAt = normp(s.NextRunAt)
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.checkCount(ctx, tx, max, "a project may have at most %d pipeline schedules",
			`SELECT COUNT(*) FROM pipeline_schedules WHERE project_id = ?`, s.ProjectID); err != nil {
			return err
		}
		err := db.queryRow(ctx, tx,
			`INSERT INTO pipeline_schedules (project_id, owner_id, description, ref, cron, cron_timezone, active, next_run_at,
				last_pipeline_id, inactive_reason, created_at, updated_at)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?) RETURNING id`,
			s.ProjectID, s.OwnerID, s.Description, s.Ref, s.Cron, s.CronTimezone, s.Active, db.tp(s.NextRunAt),
			s.InactiveReason, db.t(at), db.t(at)).Scan(&s.ID)
		return db.violation(err, "creating pipeline schedule", "pipeline schedule already exists")
	})
	if err != nil {
		return err
	}
	s.CreatedAt, s.UpdatedAt = at, at
	return nil
}

// checkCount is KindInvalid with msg (formatted with max) when the count
// query answers max or more.
func (db *DB) checkCount(ctx context.Context, tx *sql.Tx, max int, msg, q string, args ...any) error {
	var n int
	if err := db.queryRow(ctx, tx, q, args...).Scan(&n); err != nil {
		return fmt.Errorf("counting: %w", err)
	}
	if n >= max {
		return ci.Errorf(ci.KindInvalid, "400 Bad request - "+msg, max)
	}
	return nil
}

// PipelineScheduleByID returns a schedule with its variables.
func (db *DB) PipelineScheduleByID(ctx context.Context, id int64) (*ci.PipelineSchedule, error) {
	s, err := scanSchedule(db.queryRow(ctx, db.sql, `SELECT `+scheduleCols+` FROM pipeline_schedules WHERE id = ?`, id))
	if err != nil {
		return nil, db.notFound(err, "pipeline schedule %d", id)
	}
	rows, err := db.query(ctx, db.sql,
		`SELECT key, value, variable_type FROM pipeline_schedule_variables WHERE schedule_id = ? ORDER BY key`, id)
	if err != nil {
		return nil, fmt.Errorf("listing variables of pipeline schedule %d: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var v ci.Variable
		var typ string
		if err := rows.Scan(&v.Key, &v.Value, &typ); err != nil {
			return nil, fmt.Errorf("scanning schedule variable: %w", err)
		}
		v.File = typ == "file"
		s.Variables = append(s.Variables, v)
	}
	return s, rows.Err()
}

// ListPipelineSchedules lists a project's schedules by id.
func (db *DB) ListPipelineSchedules(ctx context.Context, projectID int64, active *bool) ([]*ci.PipelineSchedule, error) {
	q, args := `SELECT `+scheduleCols+` FROM pipeline_schedules WHERE project_id = ?`, []any{projectID}
	if active != nil {
		q += ` AND active = ?`
		args = append(args, *active)
	}
	return db.listSchedules(ctx, q+` ORDER BY id`, args...)
}

func (db *DB) listSchedules(ctx context.Context, q string, args ...any) ([]*ci.PipelineSchedule, error) {
	rows, err := db.query(ctx, db.sql, q, args...)
	if err != nil {
		return nil, fmt.Errorf("listing pipeline schedules: %w", err)
	}
	defer rows.Close()
	var out []*ci.PipelineSchedule
	for rows.Next() {
		s, err := scanSchedule(rows)
		if err != nil {
			return nil, fmt.Errorf("scanning pipeline schedule: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// UpdatePipelineSchedule saves s's mutable fields and sets UpdatedAt.
func (db *DB) UpdatePipelineSchedule(ctx context.Context, s *ci.PipelineSchedule) error {
	at := now()
	s.NextRunAt = normp(s.NextRunAt)
	res, err := db.exec(ctx, db.sql,
		`UPDATE pipeline_schedules SET owner_id = ?, description = ?, ref = ?, cron = ?, cron_timezone = ?, active = ?,
			next_run_at = ?, inactive_reason = ?, updated_at = ? WHERE id = ?`,
		s.OwnerID, s.Description, s.Ref, s.Cron, s.CronTimezone, s.Active, db.tp(s.NextRunAt), s.InactiveReason, db.t(at), s.ID)
	if err != nil {
		return fmt.Errorf("updating pipeline schedule %d: %w", s.ID, err)
	}
	if err := mustAffect(res, "pipeline schedule %d", s.ID); err != nil {
		return err
	}
	s.UpdatedAt = at
	return nil
}

// DeletePipelineSchedule removes a project's schedule.
func (db *DB) DeletePipelineSchedule(ctx context.Context, projectID, id int64) error {
	res, err := db.exec(ctx, db.sql, `DELETE FROM pipeline_schedules WHERE project_id = ? AND id = ?`, projectID, id)
	if err != nil {
		return fmt.Errorf("deleting pipeline schedule %d: %w", id, err)
	}
	return mustAffect(res, "pipeline schedule %d", id)
}

// CreatePipelineScheduleVariable adds v to a schedule with fewer than max
// variables.
func (db *DB) CreatePipelineScheduleVariable(ctx context.Context, scheduleID int64, v ci.Variable, max int) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.checkCount(ctx, tx, max, "a pipeline schedule may have at most %d variables",
			`SELECT COUNT(*) FROM pipeline_schedule_variables WHERE schedule_id = ?`, scheduleID); err != nil {
			return err
		}
		_, err := db.exec(ctx, tx,
			`INSERT INTO pipeline_schedule_variables (schedule_id, key, value, variable_type) VALUES (?, ?, ?, ?)`,
			scheduleID, v.Key, v.Value, variableType(v.File))
		return db.violation(err, "creating pipeline schedule variable", "409 Conflict: the schedule has a variable "+v.Key+" already")
	})
}

// UpdatePipelineScheduleVariable changes v.Key's value and type.
func (db *DB) UpdatePipelineScheduleVariable(ctx context.Context, scheduleID int64, v ci.Variable) error {
	res, err := db.exec(ctx, db.sql,
		`UPDATE pipeline_schedule_variables SET value = ?, variable_type = ? WHERE schedule_id = ? AND key = ?`,
		v.Value, variableType(v.File), scheduleID, v.Key)
	if err != nil {
		return fmt.Errorf("updating pipeline schedule variable: %w", err)
	}
	return mustAffect(res, "variable %s", v.Key)
}

// DeletePipelineScheduleVariable removes key and returns what it was.
func (db *DB) DeletePipelineScheduleVariable(ctx context.Context, scheduleID int64, key string) (*ci.Variable, error) {
	var v ci.Variable
	var typ string
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		err := db.queryRow(ctx, tx, `SELECT key, value, variable_type FROM pipeline_schedule_variables WHERE schedule_id = ? AND key = ?`,
			scheduleID, key).Scan(&v.Key, &v.Value, &typ)
		if err != nil {
			return db.notFound(err, "variable %s", key)
		}
		_, err = db.exec(ctx, tx, `DELETE FROM pipeline_schedule_variables WHERE schedule_id = ? AND key = ?`, scheduleID, key)
		return err
	})
	if err != nil {
		return nil, err
	}
	v.File = typ == "file"
	return &v, nil
}

// DuePipelineSchedules lists active schedules due at now.
func (db *DB) DuePipelineSchedules(ctx context.Context, at time.Time, limit int) ([]*ci.PipelineSchedule, error) {
	return db.listSchedules(ctx, `SELECT `+scheduleCols+` FROM pipeline_schedules
		WHERE active AND next_run_at IS NOT NULL AND next_run_at <= ? ORDER BY next_run_at, id LIMIT ?`, db.t(at), limit)
}

// ClaimPipelineScheduleRun moves next_run_at from due to next if it is
// still due: the conditional UPDATE is the claim.
func (db *DB) ClaimPipelineScheduleRun(ctx context.Context, id int64, due, next time.Time) (bool, error) {
	res, err := db.exec(ctx, db.sql,
		`UPDATE pipeline_schedules SET next_run_at = ? WHERE id = ? AND active AND next_run_at = ?`,
		db.t(next), id, db.t(due))
	if err != nil {
		return false, fmt.Errorf("claiming a run of pipeline schedule %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("counting affected rows: %w", err)
	}
	return n == 1, nil
}

// SetPipelineScheduleLastPipeline records the pipeline a run created: as
// the schedule's last, and among the pipelines it created.
func (db *DB) SetPipelineScheduleLastPipeline(ctx context.Context, id, pipelineID int64) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, `UPDATE pipeline_schedules SET last_pipeline_id = ? WHERE id = ?`, pipelineID, id)
		if err != nil {
			return fmt.Errorf("recording the last pipeline of schedule %d: %w", id, err)
		}
		if err := mustAffect(res, "pipeline schedule %d", id); err != nil {
			return err
		}
		if _, err := db.exec(ctx, tx, `INSERT INTO pipeline_schedule_pipelines (schedule_id, pipeline_id) VALUES (?, ?)`, id, pipelineID); err != nil {
			return db.violation(err, "recording a pipeline of schedule", "pipeline recorded already")
		}
		return nil
	})
}
