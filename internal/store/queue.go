package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/batonci/baton/internal/ci"
)

// AssignNextJob atomically hands the oldest pending job r may run to r:
// status running, RunnerID, TokenHash, StartedAt and UpdatedAt set. A job
// may run when its tags are a subset of the runner's (an untagged one only
// if the runner runs untagged jobs) and its project is in the runner's
// scope: any project for instance runners, ProjectID and the projects the
// runner was enabled for (runner_projects) for project runners,
// any project below NamespaceID for group runners. KindNotFound if there is
// no such job or r is paused.
//
// The pick and the update are one statement; on PostgreSQL the pick skips
// rows other transactions hold, on SQLite writers are serialized, so no job
// is ever assigned twice, also across replicas.
func (db *DB) AssignNextJob(ctx context.Context, r *ci.Runner, tokenHash string, at time.Time) (*ci.Job, error) {
	none := ci.Errorf(ci.KindNotFound, "no job for runner %d", r.ID)
	if r.Paused || (len(r.Tags) == 0 && !r.RunUntagged) {
		return nil, none
	}
	conds := []string{`j.status = 'pending'`, `NOT j.bridge`, `NOT j.external`} // bridges are internal/downstream's; external jobs an outside system's
	var args []any
	switch r.RunnerType {
	case ci.RunnerProject:
		conds = append(conds, `(j.project_id = ? OR j.project_id IN (SELECT rp.project_id FROM runner_projects rp WHERE rp.runner_id = ?))`)
		args = append(args, r.ProjectID, r.ID)
	case ci.RunnerGroup:
		conds = append(conds, `j.project_id IN (SELECT p.id FROM projects p WHERE p.namespace_id IN (
			WITH RECURSIVE sub(id) AS (
				SELECT id FROM namespaces WHERE id = ?
				UNION
				SELECT n.id FROM namespaces n JOIN sub ON n.parent_id = sub.id
			) SELECT id FROM sub))`)
		args = append(args, r.NamespaceID)
	}
	tags := uniqueTags(r.Tags)
	if len(tags) == 0 {
		conds = append(conds, `NOT EXISTS (SELECT 1 FROM job_tags t WHERE t.job_id = j.id)`)
	} else {
		conds = append(conds, `NOT EXISTS (SELECT 1 FROM job_tags t WHERE t.job_id = j.id AND t.tag NOT IN (`+
			placeholders(len(tags))+`))`)
		for _, t := range tags {
			args = append(args, t)
		}
		if !r.RunUntagged {
			conds = append(conds, `EXISTS (SELECT 1 FROM job_tags t WHERE t.job_id = j.id)`)
		}
	}
	at = norm(at)
	q := `UPDATE jobs SET status = 'running', runner_id = ?, token_hash = ?, started_at = ?, updated_at = ?
		WHERE id = (SELECT j.id FROM jobs j WHERE ` + strings.Join(conds, " AND ") +
		` ORDER BY j.id LIMIT 1` + db.engine.SkipLocked + `) AND status = 'pending'
		RETURNING ` + jobCols
	all := append([]any{r.ID, nullStr(tokenHash), db.t(at), db.t(at)}, args...)
	j, err := scanJob(db.queryRow(ctx, db.sql, q, all...))
	if isNoRows(err) {
		return nil, none
	}
	if err != nil {
		return nil, db.violation(err, "assigning job", "job token already in use")
	}
	db.eventsRecorded(ctx, j.PipelineID)
	return j, nil
}

func uniqueTags(tags []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range tags {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// QueueChannel is the notification channel that hears of every change of
// the job queue's version. On PostgreSQL the database itself notifies it
// (triggers of migration 0004, delivered at commit); on SQLite the store
// does after its writes. A message's payload means nothing: re-check.
const QueueChannel = "baton_job_queue"

// QueueVersion is the job queue's version, the same on every replica: it
// moves on whenever a job becomes pending or a runner's tags, paused state
// or scope change (database triggers, in the transaction making the change).
func (db *DB) QueueVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := db.queryRow(ctx, db.sql, db.engine.QueueVersion).Scan(&v); err != nil {
		return 0, fmt.Errorf("reading the job queue version: %w", err)
	}
	return v, nil
}

// queueChanged tells this process's listeners of QueueChannel that the
// queue version moved. PostgreSQL's triggers notify every replica
// themselves; SQLite has one process and no NOTIFY, so the store does.
func (db *DB) queueChanged(ctx context.Context) {
	if db.engine.Notifier == nil {
		_ = db.local.Notify(ctx, QueueChannel, "")
	}
}
