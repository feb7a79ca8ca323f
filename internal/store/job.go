package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/batonci/baton/internal/ci"
)

const jobCols = `id, project_id, pipeline_id, name, stage, stage_idx, status, spec, retried, attempt, runner_id,
	COALESCE(token_hash, ''), failure_reason, exit_code, user_id, trace_size, created_at, queued_at, started_at,
	finished_at, updated_at, erased_at, erased_by, scheduled_at`

// jobSchedCols are jobCols with the scheduling part of the spec (sched) in
// place of the whole spec; scanned jobs are PartialSpec.
var jobSchedCols = strings.Replace(jobCols, "status, spec,", "status, sched,", 1)

// schedSpec is the part of s that scheduling reads, stored as jobs.sched.
func schedSpec(s *ci.JobSpec) ci.JobSpec {
	return ci.JobSpec{Name: s.Name, Stage: s.Stage, When: s.When, AllowFailure: s.AllowFailure,
		AllowFailureExitCodes: s.AllowFailureExitCodes, Needs: s.Needs, HasNeeds: s.HasNeeds,
		NodeIndex: s.NodeIndex, NodeTotal: s.NodeTotal, Timeout: s.Timeout, Retry: s.Retry,
		Interruptible: s.Interruptible, Trigger: s.Trigger, StartIn: s.StartIn, Deploy: s.Deploy, ResourceGroup: s.ResourceGroup,
		External: s.External}
}

func scanJob(row interface{ Scan(...any) error }) (*ci.Job, error) {
	j := &ci.Job{}
	var status, spec string
	var exit sql.NullInt64
	err := row.Scan(&j.ID, &j.ProjectID, &j.PipelineID, &j.Name, &j.Stage, &j.StageIdx, &status, &spec, &j.Retried,
		&j.Attempt, &j.RunnerID, &j.TokenHash, &j.FailureReason, &exit, &j.UserID, &j.TraceSize,
		scanTime(&j.CreatedAt), scanNullTime(&j.QueuedAt), scanNullTime(&j.StartedAt), scanNullTime(&j.FinishedAt),
		scanTime(&j.UpdatedAt), scanNullTime(&j.ErasedAt), &j.ErasedBy, scanNullTime(&j.ScheduledAt))
	if err != nil {
		return nil, err
	}
	j.Status = ci.Status(status)
	if exit.Valid {
		code := int(exit.Int64)
		j.ExitCode = &code
	}
	if err := json.Unmarshal([]byte(spec), &j.Spec); err != nil {
		return nil, fmt.Errorf("decoding spec of job %d: %w", j.ID, err)
	}
	return j, nil
}

func nullInt(p *int) any {
	if p == nil {
		return nil
	}
	return int64(*p)
}

// insertJob inserts j and its tags in tx, setting ID and defaults: name from
// the spec, status created, attempt 1, CreatedAt and UpdatedAt at.
func (db *DB) insertJob(ctx context.Context, tx *sql.Tx, j *ci.Job, at time.Time) error {
	if j.Name == "" {
		j.Name = j.Spec.Name
	}
	if j.Status == "" {
		j.Status = ci.StatusCreated
	}
	if j.Attempt == 0 {
		j.Attempt = 1
	}
	if j.CreatedAt.IsZero() {
		j.CreatedAt = at
	}
	if j.UpdatedAt.IsZero() {
		j.UpdatedAt = at
	}
	j.CreatedAt, j.UpdatedAt = norm(j.CreatedAt), norm(j.UpdatedAt)
	j.QueuedAt, j.StartedAt, j.FinishedAt, j.ErasedAt = normp(j.QueuedAt), normp(j.StartedAt), normp(j.FinishedAt), normp(j.ErasedAt)
	j.ScheduledAt = normp(j.ScheduledAt)
	if j.PartialSpec {
		return fmt.Errorf("job %q: refusing to store a partial spec (listed with ScheduleOnly)", j.Name)
	}
	spec, err := json.Marshal(j.Spec)
	if err != nil {
		return fmt.Errorf("encoding spec of job %q: %w", j.Name, err)
	}
	sched, err := json.Marshal(schedSpec(&j.Spec))
	if err != nil {
		return fmt.Errorf("encoding spec of job %q: %w", j.Name, err)
	}
	err = db.queryRow(ctx, tx,
		`INSERT INTO jobs (project_id, pipeline_id, name, stage, stage_idx, status, spec, sched, retried, attempt,
			runner_id, token_hash, failure_reason, exit_code, user_id, trace_size, created_at, queued_at, started_at,
			finished_at, updated_at, erased_at, bridge, scheduled_at, resource_group, external)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		j.ProjectID, j.PipelineID, j.Name, j.Stage, j.StageIdx, string(j.Status), string(spec), string(sched), j.Retried, j.Attempt,
		j.RunnerID, nullStr(j.TokenHash), j.FailureReason, nullInt(j.ExitCode), j.UserID, db.t(j.CreatedAt),
		db.tp(j.QueuedAt), db.tp(j.StartedAt), db.tp(j.FinishedAt), db.t(j.UpdatedAt), db.tp(j.ErasedAt), j.Bridge(), db.tp(j.ScheduledAt),
		j.Spec.ResourceGroup, j.External()).Scan(&j.ID)
	if err != nil {
		return db.violation(err, "creating job", "job token already in use")
	}
	j.TraceSize = 0
	seen := map[string]bool{}
	for _, tag := range j.Spec.Tags {
		if seen[tag] {
			continue
		}
		seen[tag] = true
		if _, err := db.exec(ctx, tx, `INSERT INTO job_tags (job_id, tag) VALUES (?, ?)`, j.ID, tag); err != nil {
			return fmt.Errorf("tagging job %d: %w", j.ID, err)
		}
	}
	return nil
}

// JobByID returns a job, KindNotFound if there is none.
func (db *DB) JobByID(ctx context.Context, id int64) (*ci.Job, error) {
	j, err := scanJob(db.queryRow(ctx, db.sql, `SELECT `+jobCols+` FROM jobs WHERE id = ?`, id))
	if err != nil {
		return nil, db.notFound(err, "job %d", id)
	}
	return j, nil
}

// JobByTokenHash finds the job holding the token that hashes to hash,
// KindNotFound if none does.
func (db *DB) JobByTokenHash(ctx context.Context, hash string) (*ci.Job, error) {
	if hash == "" {
		return nil, ci.Errorf(ci.KindNotFound, "job not found")
	}
	j, err := scanJob(db.queryRow(ctx, db.sql, `SELECT `+jobCols+` FROM jobs WHERE token_hash = ?`, hash))
	if err != nil {
		return nil, db.notFound(err, "job")
	}
	return j, nil
}

// ListJobs lists the jobs f selects (newest first unless Ascending; retried
// attempts only with IncludeRetried) and their total count.
func (db *DB) ListJobs(ctx context.Context, f ci.JobFilter) ([]*ci.Job, int, error) {
	var conds []string
	var args []any
	add := func(cond string, a ...any) { conds = append(conds, cond); args = append(args, a...) }
	if f.ProjectID != 0 {
		add(`project_id = ?`, f.ProjectID)
	}
	if f.PipelineID != 0 {
		add(`pipeline_id = ?`, f.PipelineID)
	}
	if f.Name != "" {
		add(`name = ?`, f.Name)
	}
	if len(f.Names) > 0 {
		names := make([]any, len(f.Names))
		for i, n := range f.Names {
			names[i] = n
		}
		add(`name IN (`+placeholders(len(names))+`)`, names...)
	}
	if len(f.Statuses) > 0 {
		add(`status IN (`+placeholders(len(f.Statuses))+`)`, statusArgs(f.Statuses)...)
	}
	if !f.IncludeRetried {
		add(`retried = FALSE`)
	}
	switch f.Kind {
	case ci.JobKindBuilds:
		add(`NOT bridge AND NOT external`)
	case ci.JobKindBridges:
		add(`bridge`)
	case ci.JobKindExternal:
		add(`external`)
	}
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	dir := "DESC"
	if f.Ascending {
		dir = "ASC"
	}
	cols := jobCols
	if f.ScheduleOnly {
		cols = jobSchedCols
	}
	jobs, err := db.listJobs(ctx, `SELECT `+cols+` FROM jobs`+where+` ORDER BY id `+dir+limitOffset(f.Page), args...)
	if err != nil {
		return nil, 0, err
	}
	for _, j := range jobs {
		j.PartialSpec = f.ScheduleOnly
	}
	total, err := db.total(ctx, f.Page, len(jobs), `SELECT COUNT(*) FROM jobs`+where, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("counting jobs: %w", err)
	}
	return jobs, total, nil
}

func (db *DB) listJobs(ctx context.Context, q string, args ...any) ([]*ci.Job, error) {
	rows, err := db.query(ctx, db.sql, q, args...)
	if err != nil {
		return nil, fmt.Errorf("listing jobs: %w", err)
	}
	defer rows.Close()
	var out []*ci.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, fmt.Errorf("scanning job: %w", err)
		}
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing jobs: %w", err)
	}
	return out, nil
}

// UpdateJob saves j's status, runner, token hash, failure reason, exit code
// and times (UpdatedAt now if zero) if the stored status is still from. A
// different stored status is KindConflict and changes nothing; a missing job
// KindNotFound. TraceSize belongs to AppendTrace: UpdateJob does not write
// it but refreshes j.TraceSize from the row.
func (db *DB) UpdateJob(ctx context.Context, j *ci.Job, from ci.Status) error {
	if j.UpdatedAt.IsZero() {
		j.UpdatedAt = now()
	}
	j.UpdatedAt = norm(j.UpdatedAt)
	var pending int64
	err := db.queryRow(ctx, db.sql,
		`UPDATE jobs SET status = ?, runner_id = ?, token_hash = ?, failure_reason = ?, exit_code = ?, queued_at = ?,
			started_at = ?, finished_at = ?, updated_at = ?, erased_at = ?, scheduled_at = ?
		 WHERE id = ? AND status = ? RETURNING trace_size, length(trace_pending)`,
		string(j.Status), j.RunnerID, nullStr(j.TokenHash), j.FailureReason, nullInt(j.ExitCode), db.tp(j.QueuedAt),
		db.tp(j.StartedAt), db.tp(j.FinishedAt), db.t(j.UpdatedAt), db.tp(j.ErasedAt), db.tp(j.ScheduledAt), j.ID, string(from)).Scan(&j.TraceSize, &pending)
	if isNoRows(err) {
		return db.statusConflict(ctx, j.ID, from)
	}
	if err != nil {
		return db.violation(err, fmt.Sprintf("updating job %d", j.ID), "job token already in use")
	}
	j.QueuedAt, j.StartedAt, j.FinishedAt, j.ErasedAt = normp(j.QueuedAt), normp(j.StartedAt), normp(j.FinishedAt), normp(j.ErasedAt)
	j.ScheduledAt = normp(j.ScheduledAt)
	if pending > 0 && j.Status.Finished() {
		// The log ended with the start of a masked value held back by
		// AppendMaskedTrace: store it, as '*'.
		if err := db.flushTracePending(ctx, j.ID); err != nil {
			return err
		}
	}
	if j.Status == ci.StatusPending && from != ci.StatusPending {
		db.queueChanged(ctx)
	}
	if j.Status != from {
		db.eventsRecorded(ctx, j.PipelineID)
	}
	return nil
}

// statusConflict explains why a compare-and-set on a job's status changed
// nothing: KindNotFound if the job is gone, KindConflict otherwise.
func (db *DB) statusConflict(ctx context.Context, id int64, from ci.Status) error {
	var status string
	err := db.queryRow(ctx, db.sql, `SELECT status FROM jobs WHERE id = ?`, id).Scan(&status)
	if err != nil {
		return db.notFound(err, "job %d", id)
	}
	return ci.Errorf(ci.KindConflict, "job %d is %s, not %s", id, status, from)
}

// RetryJob marks old as retried and inserts next in one transaction, setting
// next.ID (and its pipeline and project from old when unset). KindConflict if
// old was retried already, KindNotFound if it is gone.
func (db *DB) RetryJob(ctx context.Context, old, next *ci.Job) error {
	if next.PipelineID == 0 {
		next.PipelineID = old.PipelineID
	}
	if next.ProjectID == 0 {
		next.ProjectID = old.ProjectID
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, `UPDATE jobs SET retried = TRUE WHERE id = ? AND retried = FALSE`, old.ID)
		if err != nil {
			return fmt.Errorf("marking job %d retried: %w", old.ID, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("marking job %d retried: %w", old.ID, err)
		} else if n == 0 {
			var one int
			if err := db.queryRow(ctx, tx, `SELECT 1 FROM jobs WHERE id = ?`, old.ID).Scan(&one); err != nil {
				return db.notFound(err, "job %d", old.ID)
			}
			return ci.Errorf(ci.KindConflict, "job %d has already been retried", old.ID)
		}
		return db.insertJob(ctx, tx, next, now())
	})
	if err != nil {
		next.ID = 0
		return err
	}
	old.Retried = true
	db.eventsRecorded(ctx, next.PipelineID)
	if next.Status == ci.StatusPending {
		db.queueChanged(ctx)
	}
	return nil
}

// AddJob inserts j into its existing pipeline (an external commit status,
// ci.NewExternalJob), setting j.ID. A second current external job of the
// same name in the pipeline is KindConflict.
func (db *DB) AddJob(ctx context.Context, j *ci.Job) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error { return db.insertJob(ctx, tx, j, now()) })
	if err != nil {
		j.ID = 0
		return err
	}
	db.eventsRecorded(ctx, j.PipelineID)
	return nil
}

// ListStaleJobs returns up to limit active (running or canceling) jobs whose
// UpdatedAt is before before, least recently updated first. Bridge and
// external jobs, which no runner reports on, are not listed.
func (db *DB) ListStaleJobs(ctx context.Context, before time.Time, limit int) ([]*ci.Job, error) {
	if limit <= 0 {
		limit = 100
	}
	return db.listJobs(ctx, `SELECT `+jobCols+` FROM jobs WHERE status IN ('running', 'canceling') AND NOT bridge AND NOT external AND updated_at < ?
		ORDER BY updated_at, id LIMIT `+fmt.Sprint(limit), db.t(before))
}

// ListDueScheduledJobs returns up to limit scheduled (delayed) jobs whose
// ScheduledAt is not after at, earliest first.
func (db *DB) ListDueScheduledJobs(ctx context.Context, at time.Time, limit int) ([]*ci.Job, error) {
	if limit <= 0 {
		limit = 100
	}
	return db.listJobs(ctx, `SELECT `+jobCols+` FROM jobs WHERE status = 'scheduled' AND scheduled_at <= ?
		ORDER BY scheduled_at, id LIMIT `+fmt.Sprint(limit), db.t(at))
}

// NextScheduledAt returns the earliest ScheduledAt of the scheduled jobs,
// KindNotFound when there is none.
func (db *DB) NextScheduledAt(ctx context.Context) (time.Time, error) {
	var at time.Time
	err := db.queryRow(ctx, db.sql, `SELECT scheduled_at FROM jobs WHERE status = 'scheduled' AND scheduled_at IS NOT NULL
		ORDER BY scheduled_at LIMIT 1`).Scan(scanTime(&at))
	if err != nil {
		return time.Time{}, db.notFound(err, "scheduled job")
	}
	return at, nil
}

// TouchJob sets an active job's UpdatedAt. KindNotFound if the job is gone,
// KindConflict if it is no longer running or canceling.
func (db *DB) TouchJob(ctx context.Context, id int64, at time.Time) error {
	res, err := db.exec(ctx, db.sql,
		`UPDATE jobs SET updated_at = ? WHERE id = ? AND status IN ('running', 'canceling')`, db.t(at), id)
	if err != nil {
		return fmt.Errorf("touching job %d: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("touching job %d: %w", id, err)
	} else if n == 0 {
		return db.statusConflict(ctx, id, ci.StatusRunning)
	}
	return nil
}
