package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/batonci/baton/internal/ci"
)

var _ ci.CoverageStore = (*DB)(nil)

// SetJobCoverage records a job's coverage percentage.
func (db *DB) SetJobCoverage(ctx context.Context, jobID int64, coverage float64) error {
	res, err := db.exec(ctx, db.sql, `UPDATE jobs SET coverage = ? WHERE id = ?`, coverage, jobID)
	if err != nil {
		return fmt.Errorf("recording coverage of job %d: %w", jobID, err)
	}
	return mustAffect(res, "job %d", jobID)
}

// JobCoverage returns the coverage of the jobs that have one, by id.
func (db *DB) JobCoverage(ctx context.Context, pipelineID int64) (map[int64]float64, error) {
	rows, err := db.query(ctx, db.sql, `SELECT id, coverage FROM jobs WHERE pipeline_id = ? AND coverage IS NOT NULL`, pipelineID)
	if err != nil {
		return nil, fmt.Errorf("reading coverage of pipeline %d: %w", pipelineID, err)
	}
	defer rows.Close()
	out := map[int64]float64{}
	for rows.Next() {
		var id int64
		var c float64
		if err := rows.Scan(&id, &c); err != nil {
			return nil, fmt.Errorf("scanning coverage: %w", err)
		}
		out[id] = c
	}
	return out, rows.Err()
}

// PipelineCoverage is the average coverage of the pipeline's latest
// attempts that have one; nil if none has.
func (db *DB) PipelineCoverage(ctx context.Context, pipelineID int64) (*float64, error) {
	var avg sql.NullFloat64
	err := db.queryRow(ctx, db.sql,
		`SELECT AVG(coverage) FROM jobs WHERE pipeline_id = ? AND retried = FALSE AND coverage IS NOT NULL`, pipelineID).Scan(&avg)
	if err != nil {
		return nil, fmt.Errorf("averaging coverage of pipeline %d: %w", pipelineID, err)
	}
	if !avg.Valid {
		return nil, nil
	}
	return &avg.Float64, nil
}
