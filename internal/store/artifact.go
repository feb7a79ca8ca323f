package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/batonci/baton/internal/ci"
)

const artifactCols = `id, job_id, pipeline_id, project_id, file_type, name, file_format, filename, size, sha256, blob_key,
	index_key, expire_at, locked, created_at`

func scanArtifact(row interface{ Scan(...any) error }) (*ci.Artifact, error) {
	a := &ci.Artifact{}
	err := row.Scan(&a.ID, &a.JobID, &a.PipelineID, &a.ProjectID, &a.FileType, &a.Name, &a.FileFormat, &a.Filename, &a.Size,
		&a.SHA256, &a.BlobKey, &a.IndexKey, scanNullTime(&a.ExpireAt), &a.Locked, scanTime(&a.CreatedAt))
	return a, err
}

// CreateArtifact inserts a, setting ID and CreatedAt (and PipelineID and
// ProjectID from the job when unset). A second artifact of the same file
// type (and, for published artifacts, name) for one job is KindConflict, an unknown job KindNotFound.
func (db *DB) CreateArtifact(ctx context.Context, a *ci.Artifact) error {
	if err := db.artifactOwner(ctx, a); err != nil {
		return err
	}
	at := now()
	if err := db.insertArtifact(ctx, db.sql, a, at); err != nil {
		return err
	}
	db.eventsRecorded(ctx, a.PipelineID)
	a.CreatedAt, a.ExpireAt = at, normp(a.ExpireAt)
	return nil
}

// artifactOwner sets a's PipelineID and ProjectID from its job when unset.
func (db *DB) artifactOwner(ctx context.Context, a *ci.Artifact) error {
	if a.PipelineID != 0 && a.ProjectID != 0 {
		return nil
	}
	j, err := db.JobByID(ctx, a.JobID)
	if err != nil {
		return err
	}
	a.PipelineID, a.ProjectID = j.PipelineID, j.ProjectID
	return nil
}

func (db *DB) insertArtifact(ctx context.Context, qr querier, a *ci.Artifact, at time.Time) error {
	err := db.queryRow(ctx, qr,
		`INSERT INTO artifacts (job_id, pipeline_id, project_id, file_type, name, file_format, filename, size, sha256,
			blob_key, index_key, expire_at, locked, created_at)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		a.JobID, a.PipelineID, a.ProjectID, a.FileType, a.Name, a.FileFormat, a.Filename, a.Size, a.SHA256, a.BlobKey,
		a.IndexKey, db.tp(a.ExpireAt), a.Locked, db.t(at)).Scan(&a.ID)
	if err != nil {
		what := fmt.Sprintf("job %d already has a %s artifact", a.JobID, a.FileType)
		if a.Name != "" {
			what = fmt.Sprintf("job %d already has a %s artifact named %q", a.JobID, a.FileType, a.Name)
		}
		return db.violation(err, "creating artifact", what)
	}
	return nil
}

// artifactFileBatch is how many file rows one INSERT writes (4 parameters
// each, well under both engines' limits).
const artifactFileBatch = 200

// CreateArchive inserts the artifact row a and a row per file with a
// digest, in one transaction; see CreateArtifact for a's errors.
func (db *DB) CreateArchive(ctx context.Context, a *ci.Artifact, files iter.Seq[ci.ArtifactFile]) error {
	if err := db.artifactOwner(ctx, a); err != nil {
		return err
	}
	at := now()
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.insertArtifact(ctx, tx, a, at); err != nil {
			return err
		}
		const row = "(?, ?, ?, ?)"
		insert := func(n int) string {
			return db.rebind(`INSERT INTO artifact_files (artifact_id, project_id, sha256, path) VALUES ` +
				strings.TrimSuffix(strings.Repeat(row+", ", n), ", "))
		}
		full, err := tx.PrepareContext(ctx, insert(artifactFileBatch))
		if err != nil {
			return fmt.Errorf("preparing artifact files: %w", err)
		}
		defer full.Close()
		args := make([]any, 0, 4*artifactFileBatch)
		for f := range files {
			if f.SHA256 == "" {
				continue
			}
			args = append(args, a.ID, a.ProjectID, f.SHA256, f.Path)
			if len(args) == cap(args) {
				if _, err := full.ExecContext(ctx, args...); err != nil {
					return fmt.Errorf("recording artifact files: %w", err)
				}
				args = args[:0]
			}
		}
		if len(args) > 0 {
			if _, err := tx.ExecContext(ctx, insert(len(args)/4), args...); err != nil {
				return fmt.Errorf("recording artifact files: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		a.ID = 0
		return err
	}
	db.eventsRecorded(ctx, a.PipelineID)
	a.CreatedAt, a.ExpireAt = at, normp(a.ExpireAt)
	return nil
}

// FilesByDigest lists where files of digest sha256 came from in a project,
// newest archive first (then by path).
func (db *DB) FilesByDigest(ctx context.Context, projectID int64, sha256 string, p ci.Page) ([]*ci.FileProvenance, int, error) {
	rows, err := db.query(ctx, db.sql,
		`SELECT a.id, a.pipeline_id, a.job_id, j.name, pl.sha, pl.ref, j.runner_id, COALESCE(r.description, ''), f.path, a.created_at
		 FROM artifact_files f
		 JOIN artifacts a ON a.id = f.artifact_id
		 JOIN jobs j ON j.id = a.job_id
		 JOIN pipelines pl ON pl.id = a.pipeline_id
		 LEFT JOIN runners r ON r.id = j.runner_id
		 WHERE f.project_id = ? AND f.sha256 = ?
		 ORDER BY f.artifact_id DESC, f.path`+limitOffset(p), projectID, sha256)
	if err != nil {
		return nil, 0, fmt.Errorf("listing files by digest: %w", err)
	}
	defer rows.Close()
	var out []*ci.FileProvenance
	for rows.Next() {
		f := &ci.FileProvenance{}
		if err := rows.Scan(&f.ArtifactID, &f.PipelineID, &f.JobID, &f.JobName, &f.CommitSHA, &f.Ref, &f.RunnerID,
			&f.RunnerDescription, &f.Path, scanTime(&f.CreatedAt)); err != nil {
			return nil, 0, fmt.Errorf("scanning file provenance: %w", err)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("listing files by digest: %w", err)
	}
	total, err := db.total(ctx, p, len(out), `SELECT COUNT(*) FROM artifact_files WHERE project_id = ? AND sha256 = ?`, projectID, sha256)
	if err != nil {
		return nil, 0, fmt.Errorf("counting files by digest: %w", err)
	}
	return out, total, nil
}

// ReplaceArtifact inserts a in place of the job's artifact of the same file
// type and name, in one transaction, and returns the replaced row (nil when
// there was none) so that the caller deletes its bytes. a's JobID,
// PipelineID and ProjectID must be set.
func (db *DB) ReplaceArtifact(ctx context.Context, a *ci.Artifact) (*ci.Artifact, error) {
	var old *ci.Artifact
	at := now()
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		o, err := scanArtifact(db.queryRow(ctx, tx, `SELECT `+artifactCols+` FROM artifacts WHERE job_id = ? AND file_type = ? AND name = ?`,
			a.JobID, a.FileType, a.Name))
		switch {
		case err == nil:
			old = o
			if _, err := db.exec(ctx, tx, `DELETE FROM artifacts WHERE id = ?`, o.ID); err != nil {
				return fmt.Errorf("deleting replaced artifact %d: %w", o.ID, err)
			}
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("reading replaced artifact: %w", err)
		}
		return db.insertArtifact(ctx, tx, a, at)
	})
	if err != nil {
		a.ID = 0
		return nil, err
	}
	db.eventsRecorded(ctx, a.PipelineID)
	a.CreatedAt, a.ExpireAt = at, normp(a.ExpireAt)
	return old, nil
}

// ArtifactByID returns an artifact row, KindNotFound if there is none.
func (db *DB) ArtifactByID(ctx context.Context, id int64) (*ci.Artifact, error) {
	a, err := scanArtifact(db.queryRow(ctx, db.sql, `SELECT `+artifactCols+` FROM artifacts WHERE id = ?`, id))
	if err != nil {
		return nil, db.notFound(err, "artifact %d", id)
	}
	return a, nil
}

// ArtifactsOfJobs lists the artifacts of the given jobs, by job and id.
func (db *DB) ArtifactsOfJobs(ctx context.Context, jobIDs []int64) ([]*ci.Artifact, error) {
	const batch = 500
	var out []*ci.Artifact
	for start := 0; start < len(jobIDs); start += batch {
		ids := jobIDs[start:min(start+batch, len(jobIDs))]
		args := make([]any, len(ids))
		for i, id := range ids {
			args[i] = id
		}
		as, err := db.listArtifacts(ctx, `SELECT `+artifactCols+` FROM artifacts WHERE job_id IN (`+
			placeholders(len(ids))+`) ORDER BY job_id, id`, args...)
		if err != nil {
			return nil, err
		}
		out = append(out, as...)
	}
	return out, nil
}

// ArtifactsOfProject lists a project's artifacts by id, only those of one
// pipeline when pipelineID is not 0.
func (db *DB) ArtifactsOfProject(ctx context.Context, projectID, pipelineID int64) ([]*ci.Artifact, error) {
	if pipelineID != 0 {
		return db.listArtifacts(ctx, `SELECT `+artifactCols+` FROM artifacts WHERE project_id = ? AND pipeline_id = ? ORDER BY id`,
			projectID, pipelineID)
	}
	return db.listArtifacts(ctx, `SELECT `+artifactCols+` FROM artifacts WHERE project_id = ? ORDER BY id`, projectID)
}

func (db *DB) listArtifacts(ctx context.Context, q string, args ...any) ([]*ci.Artifact, error) {
	rows, err := db.query(ctx, db.sql, q, args...)
	if err != nil {
		return nil, fmt.Errorf("listing artifacts: %w", err)
	}
	defer rows.Close()
	var out []*ci.Artifact
	for rows.Next() {
		a, err := scanArtifact(rows)
		if err != nil {
			return nil, fmt.Errorf("scanning artifact: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing artifacts: %w", err)
	}
	return out, nil
}

// UpdateArtifact saves ExpireAt and Locked; KindNotFound if the row is gone.
func (db *DB) UpdateArtifact(ctx context.Context, a *ci.Artifact) error {
	res, err := db.exec(ctx, db.sql, `UPDATE artifacts SET expire_at = ?, locked = ? WHERE id = ?`,
		db.tp(a.ExpireAt), a.Locked, a.ID)
	if err != nil {
		return fmt.Errorf("updating artifact %d: %w", a.ID, err)
	}
	a.ExpireAt = normp(a.ExpireAt)
	return mustAffect(res, "artifact %d", a.ID)
}

// DeleteArtifact removes an artifact row (not its bytes); KindNotFound if it
// is gone.
func (db *DB) DeleteArtifact(ctx context.Context, id int64) error {
	res, err := db.exec(ctx, db.sql, `DELETE FROM artifacts WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("deleting artifact %d: %w", id, err)
	}
	return mustAffect(res, "artifact %d", id)
}

// ListExpiredArtifacts returns up to limit unlocked artifacts whose ExpireAt
// is before now, soonest expired first.
func (db *DB) ListExpiredArtifacts(ctx context.Context, now time.Time, limit int) ([]*ci.Artifact, error) {
	if limit <= 0 {
		limit = 100
	}
	return db.listArtifacts(ctx, `SELECT `+artifactCols+` FROM artifacts
		WHERE locked = FALSE AND expire_at IS NOT NULL AND expire_at < ? ORDER BY expire_at, id LIMIT `+fmt.Sprint(limit),
		db.t(now))
}

// ProjectArtifactsSize is the total size in bytes of a project's artifacts.
func (db *DB) ProjectArtifactsSize(ctx context.Context, projectID int64) (int64, error) {
	var n int64
	err := db.queryRow(ctx, db.sql,
		`SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM artifacts WHERE project_id = ?`, projectID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("summing artifacts of project %d: %w", projectID, err)
	}
	return n, nil
}

// JobWithArtifacts reads a job's identity and status together with its
// artifacts in one statement (the one-file read's hot path). The job is
// PartialSpec: only ID, ProjectID, PipelineID, Name, Stage, Status,
// UserID and FinishedAt are set. An unknown job is KindNotFound.
func (db *DB) JobWithArtifacts(ctx context.Context, jobID int64) (*ci.Job, []*ci.Artifact, error) {
	v, err := remember(db, func(c *readCache) *memo[int64, jobWithArtifacts] { return &c.jobs }, jobID,
		func() (jobWithArtifacts, error) {
			j, as, err := db.jobWithArtifacts(ctx, jobID)
			return jobWithArtifacts{j, as}, err
		}, jobWithArtifacts.clone)
	return v.j, v.as, err
}

type jobWithArtifacts struct {
	j  *ci.Job
	as []*ci.Artifact
}

func (v jobWithArtifacts) clone() jobWithArtifacts {
	j := *v.j
	j.FinishedAt = clonePtr(j.FinishedAt)
	as := make([]*ci.Artifact, len(v.as))
	for i, a := range v.as {
		c := *a
		c.ExpireAt = clonePtr(c.ExpireAt)
		as[i] = &c
	}
	return jobWithArtifacts{&j, as}
}

func (db *DB) jobWithArtifacts(ctx context.Context, jobID int64) (*ci.Job, []*ci.Artifact, error) {
	rows, err := db.query(ctx, db.sql, `SELECT j.id, j.project_id, j.pipeline_id, j.name, j.stage, j.status, j.user_id, j.finished_at,
	a.id, a.job_id, a.pipeline_id, a.project_id, a.file_type, a.name, a.file_format, a.filename, a.size, a.sha256, a.blob_key,
	a.index_key, a.expire_at, a.locked, a.created_at
	FROM jobs j LEFT JOIN artifacts a ON a.job_id = j.id WHERE j.id = ? ORDER BY a.id`, jobID)
	if err != nil {
		return nil, nil, fmt.Errorf("reading job %d with its artifacts: %w", jobID, err)
	}
	defer rows.Close()
	var j *ci.Job
	var out []*ci.Artifact
	for rows.Next() {
		var jj ci.Job
		var status string
		var aID, aJob, aPipeline, aProject, aSize sql.NullInt64
		var aType, aName, aFormat, aFilename, aSum, aBlob, aIndex sql.NullString
		var aLocked sql.NullBool
		var aExpire, aCreated *time.Time
		var created time.Time
		if err := rows.Scan(&jj.ID, &jj.ProjectID, &jj.PipelineID, &jj.Name, &jj.Stage, &status, &jj.UserID, scanNullTime(&jj.FinishedAt),
			&aID, &aJob, &aPipeline, &aProject, &aType, &aName, &aFormat, &aFilename, &aSize, &aSum, &aBlob,
			&aIndex, scanNullTime(&aExpire), &aLocked, scanNullTime(&aCreated)); err != nil {
			return nil, nil, fmt.Errorf("scanning job %d with its artifacts: %w", jobID, err)
		}
		if j == nil {
			jj.Status, jj.PartialSpec = ci.Status(status), true
			j = &jj
		}
		if !aID.Valid {
			continue
		}
		if aCreated != nil {
			created = *aCreated
		}
		out = append(out, &ci.Artifact{ID: aID.Int64, JobID: aJob.Int64, PipelineID: aPipeline.Int64, ProjectID: aProject.Int64,
			FileType: aType.String, Name: aName.String, FileFormat: aFormat.String, Filename: aFilename.String,
			Size: aSize.Int64, SHA256: aSum.String, BlobKey: aBlob.String, IndexKey: aIndex.String, ExpireAt: aExpire,
			Locked: aLocked.Bool, CreatedAt: created})
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("reading job %d with its artifacts: %w", jobID, err)
	}
	if j == nil {
		return nil, nil, ci.Errorf(ci.KindNotFound, "job %d not found", jobID)
	}
	return j, out, nil
}
