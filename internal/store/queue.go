package store

import (
	"context"
	"strings"
	"time"

	"github.com/batonci/baton/internal/ci"
)

// AssignNextJob atomically hands the oldest pending job r may run to r:
// status running, RunnerID, TokenHash, StartedAt and UpdatedAt set. A job
// may run when its tags are a subset of the runner's (an untagged one only
// if the runner runs untagged jobs) and its project is in the runner's
// scope: any project for instance runners, ProjectID for project runners,
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
	conds := []string{`j.status = 'pending'`}
	var args []any
	switch r.RunnerType {
	case ci.RunnerProject:
		conds = append(conds, `j.project_id = ?`)
		args = append(args, r.ProjectID)
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
