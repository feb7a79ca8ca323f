package storetest

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/store"
)

// TestPipelineView: one statement returns what PipelineByID, UserByID and
// PipelineCoverage return separately: with a user and coverage (a retried
// attempt's coverage left out), without either, and KindNotFound for a
// pipeline that does not exist.
func TestPipelineView(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := MustUser(t, db)
		ns, _ := db.NamespaceOfUser(ctx, u.ID)
		proj := MustProject(t, db, ns.ID, ci.VisibilityPrivate)

		withUser := &ci.Pipeline{ProjectID: proj.ID, Ref: "main", SHA: "2222222aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", Source: ci.SourceWeb,
			Status: ci.StatusPending, UserID: u.ID, Variables: []ci.Variable{{Key: "A", Value: "1"}}}
		jobs := []*ci.Job{
			{Name: "a", Stage: "test", Status: ci.StatusPending, Spec: ci.JobSpec{Name: "a", Stage: "test", Script: []string{"true"}}},
			{Name: "b", Stage: "test", Status: ci.StatusPending, Spec: ci.JobSpec{Name: "b", Stage: "test", Script: []string{"true"}}},
		}
		must(t, db.CreatePipeline(ctx, withUser, jobs))
		must(t, db.SetJobCoverage(ctx, jobs[0].ID, 80))
		must(t, db.SetJobCoverage(ctx, jobs[1].ID, 20))
		next := &ci.Job{Name: "b", Stage: "test", Status: ci.StatusPending, Spec: jobs[1].Spec, Attempt: 2}
		must(t, db.RetryJob(ctx, jobs[1], next))
		must(t, db.SetJobCoverage(ctx, next.ID, 50))
		bare, _ := MustPipeline(t, db, proj.ID, "main", map[string][]string{"c": nil})

		for _, p := range []*ci.Pipeline{withUser, bare} {
			wantPl, err := db.PipelineByID(ctx, p.ID)
			must(t, err)
			var wantUser *ci.User
			if wantPl.UserID != 0 {
				wantUser, err = db.UserByID(ctx, wantPl.UserID)
				must(t, err)
			}
			wantCov, err := db.PipelineCoverage(ctx, p.ID)
			must(t, err)

			pl, user, cov, err := db.PipelineView(ctx, p.ID)
			must(t, err)
			if !reflect.DeepEqual(pl, wantPl) {
				t.Errorf("pipeline %d: view %+v, PipelineByID %+v", p.ID, pl, wantPl)
			}
			if !reflect.DeepEqual(user, wantUser) {
				t.Errorf("pipeline %d: user %+v, UserByID %+v", p.ID, user, wantUser)
			}
			if (cov == nil) != (wantCov == nil) || cov != nil && *cov != *wantCov {
				t.Errorf("pipeline %d: coverage %s, PipelineCoverage %s", p.ID, show(cov), show(wantCov))
			}
		}
		if _, u2, cov, _ := db.PipelineView(ctx, withUser.ID); u2 == nil || cov == nil {
			t.Errorf("pipeline with a user and coverage: user %v, coverage %v", u2, cov)
		}
		if _, u2, cov, _ := db.PipelineView(ctx, bare.ID); u2 != nil || cov != nil {
			t.Errorf("pipeline without user or coverage: user %v, coverage %v", u2, cov)
		}
		_, _, _, err := db.PipelineView(ctx, bare.ID+1000)
		WantKind(t, err, ci.KindNotFound)
	})
}

func show(f *float64) string {
	if f == nil {
		return "nil"
	}
	return fmt.Sprint(*f)
}
