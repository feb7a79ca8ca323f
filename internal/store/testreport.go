package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/batonci/baton/internal/ci"
)

var _ ci.TestReportStore = (*DB)(nil)

// testCaseBatch is how many cases one INSERT writes.
const testCaseBatch = 1000

// CreateTestReport records a junit artifact's row and the suite parsed
// from it in one transaction: the report is visible only complete.
// KindConflict if the job already has a junit artifact.
func (db *DB) CreateTestReport(ctx context.Context, a *ci.Artifact, suite *ci.TestSuite) error {
	if err := db.artifactOwner(ctx, a); err != nil {
		return err
	}
	at := now()
	c := suite.Counts
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.insertArtifact(ctx, tx, a, at); err != nil {
			return err
		}
		if _, err := db.exec(ctx, tx,
			`INSERT INTO job_test_suites (artifact_id, job_id, pipeline_id, name, suite_error, total_time,
				total_count, success_count, failed_count, skipped_count, error_count)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.ID, a.JobID, a.PipelineID, suite.Name, suite.SuiteError, c.Time, c.Total, c.Success, c.Failed, c.Skipped, c.Err); err != nil {
			return fmt.Errorf("recording test suite: %w", err)
		}
		const row = "(?, ?, ?, ?, ?, ?, ?, ?, ?)"
		insert := func(n int) string {
			return db.rebind(`INSERT INTO job_test_cases (artifact_id, seq, status, name, classname, file, execution_time, system_output, stack_trace) VALUES ` +
				strings.TrimSuffix(strings.Repeat(row+", ", n), ", "))
		}
		args := make([]any, 0, 9*testCaseBatch)
		flush := func() error {
			if len(args) == 0 {
				return nil
			}
			_, err := tx.ExecContext(ctx, insert(len(args)/9), args...)
			args = args[:0]
			if err != nil {
				return fmt.Errorf("recording test cases: %w", err)
			}
			return nil
		}
		for i, tc := range suite.Cases {
			args = append(args, a.ID, i, tc.Status, tc.Name, tc.Classname, tc.File, tc.ExecutionTime, tc.SystemOutput, tc.StackTrace)
			if len(args) == cap(args) {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		return flush()
	})
	if err != nil {
		a.ID = 0
		return err
	}
	db.eventsRecorded(ctx, a.PipelineID)
	a.CreatedAt, a.ExpireAt = at, normp(a.ExpireAt)
	return nil
}

// PipelineTestSuites returns the test suites of the pipeline's latest job
// attempts (retried jobs' reports are left out, as GitLab does), oldest
// job first, with their cases in report order when withCases is set.
func (db *DB) PipelineTestSuites(ctx context.Context, pipelineID int64, withCases bool) ([]*ci.TestSuite, error) {
	rows, err := db.query(ctx, db.sql,
		`SELECT s.artifact_id, s.job_id, s.name, s.suite_error, s.total_time, s.total_count, s.success_count,
			s.failed_count, s.skipped_count, s.error_count
		 FROM job_test_suites s JOIN jobs j ON j.id = s.job_id
		 WHERE s.pipeline_id = ? AND j.retried = FALSE
		 ORDER BY s.job_id`, pipelineID)
	if err != nil {
		return nil, fmt.Errorf("reading test suites of pipeline %d: %w", pipelineID, err)
	}
	var out []*ci.TestSuite
	var ids []int64
	for rows.Next() {
		s := &ci.TestSuite{PipelineID: pipelineID}
		var id int64
		c := &s.Counts
		if err := rows.Scan(&id, &s.JobID, &s.Name, &s.SuiteError, &c.Time, &c.Total, &c.Success, &c.Failed, &c.Skipped, &c.Err); err != nil {
			rows.Close()
			return nil, fmt.Errorf("scanning test suite: %w", err)
		}
		out = append(out, s)
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading test suites of pipeline %d: %w", pipelineID, err)
	}
	if !withCases || len(out) == 0 {
		return out, nil
	}
	return out, db.testCases(ctx, ids, out)
}

// testCases reads the cases of the suites of artifacts ids (suites[i] is
// ids[i]'s) in one query, in report order.
func (db *DB) testCases(ctx context.Context, ids []int64, suites []*ci.TestSuite) error {
	byArtifact := make(map[int64]*ci.TestSuite, len(ids))
	args := make([]any, len(ids))
	for i, id := range ids {
		byArtifact[id], args[i] = suites[i], id
		suites[i].Cases = make([]ci.TestCase, 0, suites[i].Counts.Total)
	}
	rows, err := db.query(ctx, db.sql,
		`SELECT artifact_id, status, name, classname, file, execution_time, system_output, stack_trace
		 FROM job_test_cases WHERE artifact_id IN (`+placeholders(len(ids))+`) ORDER BY artifact_id, seq`, args...)
	if err != nil {
		return fmt.Errorf("reading test cases: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var tc ci.TestCase
		if err := rows.Scan(&id, &tc.Status, &tc.Name, &tc.Classname, &tc.File, &tc.ExecutionTime, &tc.SystemOutput, &tc.StackTrace); err != nil {
			return fmt.Errorf("scanning test case: %w", err)
		}
		s := byArtifact[id]
		s.Cases = append(s.Cases, tc)
	}
	return rows.Err()
}
