package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/batonci/baton/internal/ci"
)

// TraceChunkSize is the size up to which AppendTrace grows a job's last
// trace chunk row before it starts a new one.
const TraceChunkSize = 128 << 10

// AppendTrace appends data to the job's log if offset equals its current
// size and returns the new size. On a mismatch it returns the current size
// and a KindConflict error; a missing job is KindNotFound. The size check
// and the append are one transaction, so concurrent appenders cannot both
// win one offset.
func (db *DB) AppendTrace(ctx context.Context, jobID, offset int64, data []byte) (int64, error) {
	return db.AppendMaskedTrace(ctx, jobID, offset, data, nil)
}

// AppendMaskedTrace is AppendTrace with the job's masked values replaced
// (ci.TraceMask) before anything is stored. The end of data that may begin
// a masked value is held back in the job's row, not in the log, until the
// next append, or until the job finishes (UpdateJob then stores it as '*').
// The size counts held-back bytes: it is the runner's offset.
func (db *DB) AppendMaskedTrace(ctx context.Context, jobID, offset int64, data []byte, mask *ci.TraceMask) (int64, error) {
	var size, pipelineID int64
	var conflict bool
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var pending []byte
		err := db.queryRow(ctx, tx,
			`UPDATE jobs SET trace_size = trace_size + ? WHERE id = ? AND trace_size = ? RETURNING trace_size, trace_pending, pipeline_id`,
			int64(len(data)), jobID, offset).Scan(&size, &pending, &pipelineID)
		if isNoRows(err) {
			if err := db.queryRow(ctx, tx, `SELECT trace_size FROM jobs WHERE id = ?`, jobID).Scan(&size); err != nil {
				return db.notFound(err, "job %d", jobID)
			}
			conflict = true
			return nil
		}
		if err != nil {
			return fmt.Errorf("growing trace of job %d: %w", jobID, err)
		}
		if len(data) == 0 {
			return nil
		}
		out, keep := data, []byte(nil)
		if !mask.Empty() || len(pending) > 0 {
			out, keep = mask.Mask(pending, data)
			if len(keep) > 0 || len(pending) > 0 {
				if _, err := db.exec(ctx, tx, `UPDATE jobs SET trace_pending = ? WHERE id = ?`, nonNil(keep), jobID); err != nil {
					return fmt.Errorf("holding back trace of job %d: %w", jobID, err)
				}
			}
		}
		return db.writeTrace(ctx, tx, jobID, offset-int64(len(pending)), out)
	})
	if err != nil {
		return 0, err
	}
	if conflict {
		return size, ci.Errorf(ci.KindConflict, "trace of job %d has %d bytes, not %d", jobID, size, offset)
	}
	if len(data) > 0 {
		// Wakes the streams following the log (PostgreSQL: a trigger).
		db.eventsRecorded(ctx, pipelineID)
	}
	return size, nil
}

// writeTrace stores data at offset of the job's log. Small patches grow
// the last chunk instead of adding rows, so a log of n bytes has about
// n/TraceChunkSize rows however the runner sliced it.
func (db *DB) writeTrace(ctx context.Context, tx *sql.Tx, jobID, offset int64, data []byte) error {
	if len(data) == 0 {
		return nil
	}
	var lastPos, lastLen int64
	err := db.queryRow(ctx, tx, `SELECT pos, length(data) FROM trace_chunks WHERE job_id = ? ORDER BY pos DESC LIMIT 1`,
		jobID).Scan(&lastPos, &lastLen)
	if err != nil && !isNoRows(err) {
		return fmt.Errorf("finding the last trace chunk of job %d: %w", jobID, err)
	}
	if err == nil && lastPos+lastLen == offset && lastLen+int64(len(data)) <= TraceChunkSize {
		if _, err := db.exec(ctx, tx, `UPDATE trace_chunks SET data = `+db.engine.AppendBytes+` WHERE job_id = ? AND pos = ?`,
			data, jobID, lastPos); err != nil {
			return fmt.Errorf("appending trace of job %d: %w", jobID, err)
		}
		return nil
	}
	if _, err := db.exec(ctx, tx, `INSERT INTO trace_chunks (job_id, pos, data) VALUES (?, ?, ?)`,
		jobID, offset, data); err != nil {
		return fmt.Errorf("appending trace of job %d: %w", jobID, err)
	}
	return nil
}

// flushTracePending stores the held-back end of a finished job's log as
// '*' (it began a masked value that never completed).
func (db *DB) flushTracePending(ctx context.Context, jobID int64) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var size int64
		var pending []byte
		err := db.queryRow(ctx, tx, `SELECT trace_size, trace_pending FROM jobs WHERE id = ?`, jobID).Scan(&size, &pending)
		if err != nil {
			return db.notFound(err, "job %d", jobID)
		}
		if len(pending) == 0 {
			return nil
		}
		if _, err := db.exec(ctx, tx, `UPDATE jobs SET trace_pending = ? WHERE id = ?`, []byte{}, jobID); err != nil {
			return fmt.Errorf("flushing trace of job %d: %w", jobID, err)
		}
		return db.writeTrace(ctx, tx, jobID, size-int64(len(pending)), ci.FlushPending(pending))
	})
}

// ReadTrace returns the job's log from offset on, at most limit bytes (0 =
// all). KindNotFound if the job does not exist.
func (db *DB) ReadTrace(ctx context.Context, jobID, offset, limit int64) ([]byte, error) {
	if offset < 0 {
		offset = 0
	}
	q := `SELECT pos, data FROM trace_chunks WHERE job_id = ? AND pos + length(data) > ?`
	args := []any{jobID, offset}
	if limit > 0 {
		q += ` AND pos < ?`
		args = append(args, offset+limit)
	}
	rows, err := db.query(ctx, db.sql, q+` ORDER BY pos`, args...)
	if err != nil {
		return nil, fmt.Errorf("reading trace of job %d: %w", jobID, err)
	}
	defer rows.Close()
	var out []byte
	for rows.Next() {
		var pos int64
		var data []byte
		if err := rows.Scan(&pos, &data); err != nil {
			return nil, fmt.Errorf("scanning trace chunk: %w", err)
		}
		if pos < offset {
			data = data[offset-pos:]
		}
		out = append(out, data...)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading trace of job %d: %w", jobID, err)
	}
	if limit > 0 && int64(len(out)) > limit {
		out = out[:limit]
	}
	if len(out) == 0 {
		var one int
		if err := db.queryRow(ctx, db.sql, `SELECT 1 FROM jobs WHERE id = ?`, jobID).Scan(&one); err != nil {
			return nil, db.notFound(err, "job %d", jobID)
		}
		return []byte{}, nil
	}
	return out, nil
}

// EraseJob removes a finished job's log (its trace chunks and size) and
// sets erased_at and erased_by, in one transaction. A job that is not
// finished is KindConflict, a missing one KindNotFound.
func (db *DB) EraseJob(ctx context.Context, j *ci.Job, by int64, at time.Time) error {
	at = norm(at)
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var status string
		err := db.queryRow(ctx, tx, `UPDATE jobs SET trace_size = 0, erased_at = ?, erased_by = ?
			WHERE id = ? AND status IN ('success', 'failed', 'canceled', 'skipped') RETURNING status`,
			db.t(at), by, j.ID).Scan(&status)
		if isNoRows(err) {
			if err := db.queryRow(ctx, tx, `SELECT status FROM jobs WHERE id = ?`, j.ID).Scan(&status); err != nil {
				return db.notFound(err, "job %d", j.ID)
			}
			return ci.Errorf(ci.KindConflict, "job %d is not finished (status: %s)", j.ID, status)
		}
		if err != nil {
			return fmt.Errorf("erasing job %d: %w", j.ID, err)
		}
		if _, err := db.exec(ctx, tx, `DELETE FROM trace_chunks WHERE job_id = ?`, j.ID); err != nil {
			return fmt.Errorf("erasing the log of job %d: %w", j.ID, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	j.TraceSize, j.ErasedAt, j.ErasedBy = 0, &at, by
	return nil
}
