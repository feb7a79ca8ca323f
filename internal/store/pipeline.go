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

const pipelineCols = `id, iid, project_id, ref, tag, sha, before_sha, source, status, yaml_errors, user_id,
	variables, commit_title, created_at, updated_at, started_at, finished_at, protected, name`

func scanPipeline(row interface{ Scan(...any) error }) (*ci.Pipeline, error) {
	p := &ci.Pipeline{}
	var status, vars string
	err := row.Scan(&p.ID, &p.IID, &p.ProjectID, &p.Ref, &p.Tag, &p.SHA, &p.BeforeSHA, &p.Source, &status,
		&p.YAMLErrors, &p.UserID, &vars, &p.CommitTitle, scanTime(&p.CreatedAt), scanTime(&p.UpdatedAt),
		scanNullTime(&p.StartedAt), scanNullTime(&p.FinishedAt), &p.Protected, &p.Name)
	if err != nil {
		return nil, err
	}
	p.Status = ci.Status(status)
	if err := json.Unmarshal([]byte(vars), &p.Variables); err != nil {
		return nil, fmt.Errorf("decoding variables of pipeline %d: %w", p.ID, err)
	}
	return p, nil
}

// CreatePipeline inserts p and its jobs in one transaction, setting p.ID,
// p.IID (the project's next), timestamps (status created if unset) and each
// job's ID, PipelineID, ProjectID and timestamps. KindNotFound if the project
// does not exist.
func (db *DB) CreatePipeline(ctx context.Context, p *ci.Pipeline, jobs []*ci.Job) error {
	vars, err := json.Marshal(nonNil(p.Variables))
	if err != nil {
		return fmt.Errorf("encoding pipeline variables: %w", err)
	}
	var spec []byte
	if len(p.Spec.Variables) > 0 || p.Spec.Commit != nil {
		if spec, err = json.Marshal(p.Spec); err != nil {
			return fmt.Errorf("encoding pipeline spec: %w", err)
		}
	}
	if p.Status == "" {
		p.Status = ci.StatusCreated
	}
	at := now()
	if !p.CreatedAt.IsZero() {
		at = norm(p.CreatedAt) // the planner fixed it: rules saw it
	}
	var id, iid int64
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		// The counter row is locked until commit, so IIDs are unique and
		// gap-free under concurrency on both engines.
		err := db.queryRow(ctx, tx,
			`UPDATE projects SET last_pipeline_iid = last_pipeline_iid + 1 WHERE id = ? RETURNING last_pipeline_iid`,
			p.ProjectID).Scan(&iid)
		if err != nil {
			return db.notFound(err, "project %d", p.ProjectID)
		}
		err = db.queryRow(ctx, tx,
			`INSERT INTO pipelines (project_id, iid, ref, tag, sha, before_sha, source, status, yaml_errors, user_id,
				variables, commit_title, created_at, updated_at, started_at, finished_at, protected, name)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			p.ProjectID, iid, p.Ref, p.Tag, strings.ToLower(p.SHA), p.BeforeSHA, p.Source, string(p.Status), p.YAMLErrors,
			p.UserID, string(vars), p.CommitTitle, db.t(at), db.t(at), db.tp(p.StartedAt), db.tp(p.FinishedAt), p.Protected, p.Name).Scan(&id)
		if err != nil {
			return db.violation(err, "creating pipeline", "pipeline already exists")
		}
		if spec != nil {
			if _, err := db.exec(ctx, tx, `INSERT INTO pipeline_specs (pipeline_id, spec) VALUES (?, ?)`, id, string(spec)); err != nil {
				return fmt.Errorf("storing pipeline spec: %w", err)
			}
		}
		for _, j := range jobs {
			j.PipelineID, j.ProjectID = id, p.ProjectID
			if err := db.insertJob(ctx, tx, j, at); err != nil {
				return err
			}
		}
		if p.Parent != nil {
			return db.insertLink(ctx, tx, id, p)
		}
		return nil
	})
	if err != nil {
		for _, j := range jobs {
			j.ID = 0
		}
		return err
	}
	for _, j := range jobs {
		if j.Status == ci.StatusPending {
			db.queueChanged(ctx)
			break
		}
	}
	db.eventsRecorded(ctx, id)
	p.ID, p.IID, p.CreatedAt, p.UpdatedAt = id, iid, at, at
	p.SHA = strings.ToLower(p.SHA)
	p.StartedAt, p.FinishedAt = normp(p.StartedAt), normp(p.FinishedAt)
	return nil
}

// PipelineByID returns a pipeline, KindNotFound if there is none.
func (db *DB) PipelineByID(ctx context.Context, id int64) (*ci.Pipeline, error) {
	p, err := scanPipeline(db.queryRow(ctx, db.sql, `SELECT `+pipelineCols+` FROM pipelines WHERE id = ?`, id))
	if err != nil {
		return nil, db.notFound(err, "pipeline %d", id)
	}
	return p, nil
}

// PipelineView returns the pipeline, its user and its coverage in one
// statement (see ci.PipelineStore).
func (db *DB) PipelineView(ctx context.Context, id int64) (*ci.Pipeline, *ci.User, *float64, error) {
	var (
		uid                sql.NullInt64
		uname, name, email sql.NullString
		admin              sql.NullBool
		ucreated           time.Time
		cov                sql.NullFloat64
	)
	p := &ci.Pipeline{}
	var status, vars string
	err := db.queryRow(ctx, db.sql, `SELECT p.id, p.iid, p.project_id, p.ref, p.tag, p.sha, p.before_sha, p.source, p.status,
		p.yaml_errors, p.user_id, p.variables, p.commit_title, p.created_at, p.updated_at, p.started_at, p.finished_at, p.protected, p.name,
		u.id, u.username, u.name, u.email, u.admin, u.created_at,
		(SELECT AVG(coverage) FROM jobs WHERE pipeline_id = p.id AND retried = FALSE AND coverage IS NOT NULL)
		FROM pipelines p LEFT JOIN users u ON u.id = p.user_id WHERE p.id = ?`, id).Scan(
		&p.ID, &p.IID, &p.ProjectID, &p.Ref, &p.Tag, &p.SHA, &p.BeforeSHA, &p.Source, &status,
		&p.YAMLErrors, &p.UserID, &vars, &p.CommitTitle, scanTime(&p.CreatedAt), scanTime(&p.UpdatedAt),
		scanNullTime(&p.StartedAt), scanNullTime(&p.FinishedAt), &p.Protected, &p.Name,
		&uid, &uname, &name, &email, &admin, scanTime(&ucreated), &cov)
	if err != nil {
		return nil, nil, nil, db.notFound(err, "pipeline %d", id)
	}
	p.Status = ci.Status(status)
	if err := json.Unmarshal([]byte(vars), &p.Variables); err != nil {
		return nil, nil, nil, fmt.Errorf("decoding variables of pipeline %d: %w", p.ID, err)
	}
	var u *ci.User
	if uid.Valid {
		u = &ci.User{ID: uid.Int64, Username: uname.String, Name: name.String, Email: email.String, Admin: admin.Bool, CreatedAt: ucreated}
	}
	var c *float64
	if cov.Valid {
		c = &cov.Float64
	}
	return p, u, c, nil
}

// PipelineSpec returns the spec CreatePipeline stored for the pipeline,
// empty if it stored none.
func (db *DB) PipelineSpec(ctx context.Context, pipelineID int64) (*ci.PipelineSpec, error) {
	var raw string
	err := db.queryRow(ctx, db.sql, `SELECT spec FROM pipeline_specs WHERE pipeline_id = ?`, pipelineID).Scan(&raw)
	if isNoRows(err) {
		return &ci.PipelineSpec{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("loading spec of pipeline %d: %w", pipelineID, err)
	}
	spec := &ci.PipelineSpec{}
	if err := json.Unmarshal([]byte(raw), spec); err != nil {
		return nil, fmt.Errorf("decoding spec of pipeline %d: %w", pipelineID, err)
	}
	return spec, nil
}

var pipelineOrder = map[string]string{
	"": "id", "id": "id", "status": "status", "ref": "ref", "updated_at": "updated_at", "user_id": "user_id",
}

// ListPipelines lists the pipelines f selects and their total count.
// Created and updated bounds are exclusive. Scope
// branches (tags) keeps the newest pipeline of each branch (tag). A SHA of
// fewer than 7 characters, or a prefix that is not hex, an unknown scope,
// OrderBy or Sort is KindInvalid.
func (db *DB) ListPipelines(ctx context.Context, f ci.PipelineFilter) ([]*ci.Pipeline, int, error) {
	order, ok := pipelineOrder[f.OrderBy]
	if !ok {
		return nil, 0, ci.Errorf(ci.KindInvalid, "order_by %q is not supported", f.OrderBy)
	}
	dir, err := sortDir(f.Sort)
	if err != nil {
		return nil, 0, err
	}
	var conds []string
	var args []any
	add := func(cond string, a ...any) { conds = append(conds, cond); args = append(args, a...) }
	if f.ProjectID != 0 {
		add(`project_id = ?`, f.ProjectID)
	}
	if f.Ref != "" {
		add(`ref = ?`, f.Ref)
	}
	if f.SHA != "" {
		sha := strings.ToLower(f.SHA)
		switch {
		case len(sha) >= 40:
			add(`sha = ?`, sha)
		case len(sha) >= 7 && isHex(sha):
			// A range rather than LIKE, so that the (project_id, sha) index serves it.
			add(`sha >= ? AND sha < ?`, sha, sha+"g")
		default:
			return nil, 0, ci.Errorf(ci.KindInvalid, "sha must be a full commit sha or a hex prefix of at least 7 characters")
		}
	}
	if len(f.Statuses) > 0 {
		add(`status IN (`+placeholders(len(f.Statuses))+`)`, statusArgs(f.Statuses)...)
	}
	switch f.Scope {
	case "":
	case "running", "pending":
		add(`status = ?`, f.Scope)
	case "finished":
		add(`status IN ('success', 'failed', 'canceled', 'skipped')`)
	case "branches", "tags":
		latest := `id IN (SELECT MAX(id) FROM pipelines WHERE tag = ?`
		a := []any{f.Scope == "tags"}
		if f.ProjectID != 0 {
			latest += ` AND project_id = ?`
			a = append(a, f.ProjectID)
		}
		add(latest+` GROUP BY project_id, ref)`, a...)
	default:
		return nil, 0, ci.Errorf(ci.KindInvalid, "scope %q is not supported", f.Scope)
	}
	if f.Source != "" {
		add(`source = ?`, f.Source)
	}
	if f.UserID != 0 {
		add(`user_id = ?`, f.UserID)
	}
	// Each of these has an index led by project_id (migration 0009).
	if f.CreatedAfter != nil {
		add(`created_at > ?`, db.t(*f.CreatedAfter))
	}
	if f.CreatedBefore != nil {
		add(`created_at < ?`, db.t(*f.CreatedBefore))
	}
	if f.UpdatedAfter != nil {
		add(`updated_at > ?`, db.t(*f.UpdatedAfter))
	}
	if f.UpdatedBefore != nil {
		add(`updated_at < ?`, db.t(*f.UpdatedBefore))
	}
	if f.YAMLErrors != nil {
		if *f.YAMLErrors {
			add(`yaml_errors <> ''`)
		} else {
			add(`yaml_errors = ''`)
		}
	}
	if f.ScheduleID != 0 {
		add(`id IN (SELECT pipeline_id FROM pipeline_schedule_pipelines WHERE schedule_id = ?)`, f.ScheduleID)
	}
	if f.Name != "" {
		add(`name = ?`, f.Name)
	}
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	rows, err := db.query(ctx, db.sql, `SELECT `+pipelineCols+` FROM pipelines`+where+
		` ORDER BY `+order+` `+dir+`, id `+dir+limitOffset(f.Page), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("listing pipelines: %w", err)
	}
	defer rows.Close()
	var out []*ci.Pipeline
	for rows.Next() {
		p, err := scanPipeline(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("scanning pipeline: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("listing pipelines: %w", err)
	}
	total, err := db.total(ctx, f.Page, len(out), `SELECT COUNT(*) FROM pipelines`+where, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("counting pipelines: %w", err)
	}
	return out, total, nil
}

// UpdatePipeline saves status and started/finished times and sets
// UpdatedAt; KindNotFound if the pipeline is gone.
func (db *DB) UpdatePipeline(ctx context.Context, p *ci.Pipeline) error {
	at := now()
	res, err := db.exec(ctx, db.sql,
		`UPDATE pipelines SET status = ?, started_at = ?, finished_at = ?, updated_at = ? WHERE id = ?`,
		string(p.Status), db.tp(p.StartedAt), db.tp(p.FinishedAt), db.t(at), p.ID)
	if err != nil {
		return fmt.Errorf("updating pipeline %d: %w", p.ID, err)
	}
	if err := mustAffect(res, "pipeline %d", p.ID); err != nil {
		return err
	}
	db.eventsRecorded(ctx, p.ID)
	p.UpdatedAt, p.StartedAt, p.FinishedAt = at, normp(p.StartedAt), normp(p.FinishedAt)
	return nil
}

// DeletePipeline removes the pipeline with its jobs, traces and artifact
// rows; KindNotFound if it is gone.
func (db *DB) DeletePipeline(ctx context.Context, id int64) error {
	res, err := db.exec(ctx, db.sql, `DELETE FROM pipelines WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("deleting pipeline %d: %w", id, err)
	}
	return mustAffect(res, "pipeline %d", id)
}

func statusArgs(ss []ci.Status) []any {
	a := make([]any, len(ss))
	for i, s := range ss {
		a[i] = string(s)
	}
	return a
}

func isHex(s string) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
