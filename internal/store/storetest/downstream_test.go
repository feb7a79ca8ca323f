package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/store"
)

// A downstream pipeline records the bridge job that created it, once per
// bridge; bridge jobs are never handed to runners nor failed as stale.
func TestDownstreamLinks(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := MustUser(t, db)
		ns, _ := db.NamespaceOfUser(ctx, u.ID)
		proj, other := MustProject(t, db, ns.ID, ci.VisibilityPrivate), MustProject(t, db, ns.ID, ci.VisibilityPrivate)
		now := time.Now()
		parent := &ci.Pipeline{ProjectID: proj.ID, Ref: "main", SHA: "a", Source: ci.SourcePush}
		bridge := &ci.Job{Spec: ci.JobSpec{Name: "child", Stage: "test", Trigger: &ci.TriggerSpec{Include: []ci.TriggerInclude{{Local: "c.yml"}}, Depend: true}},
			Status: ci.StatusPending, QueuedAt: &now}
		bridge2 := &ci.Job{Spec: ci.JobSpec{Name: "deploy", Stage: "test", Trigger: &ci.TriggerSpec{Project: "x/y"}}, Status: ci.StatusRunning, StartedAt: &now,
			UpdatedAt: now.Add(-time.Hour)}
		build := &ci.Job{Spec: ci.JobSpec{Name: "build", Stage: "test"}, Status: ci.StatusSuccess}
		must(t, db.CreatePipeline(ctx, parent, []*ci.Job{build, bridge, bridge2}))

		r := &ci.Runner{RunnerType: ci.RunnerInstance, RunUntagged: true, TokenHash: "r-bridges"}
		must(t, db.CreateRunner(ctx, r))
		_, err := db.AssignNextJob(ctx, r, "tok", now)
		WantKind(t, err, ci.KindNotFound)
		stale, err := db.ListStaleJobs(ctx, now, 10)
		if err != nil || len(stale) != 0 {
			t.Errorf("ListStaleJobs = %v, %v; want no bridge", stale, err)
		}
		active, err := db.ListActiveBridges(ctx, 0, 10)
		if err != nil || len(active) != 2 || active[0].ID != bridge.ID || active[1].ID != bridge2.ID || active[0].Spec.Trigger == nil {
			t.Fatalf("ListActiveBridges = %v, %v", active, err)
		}
		if after, err := db.ListActiveBridges(ctx, bridge.ID, 10); err != nil || len(after) != 1 || after[0].ID != bridge2.ID {
			t.Fatalf("ListActiveBridges after %d = %v, %v", bridge.ID, after, err)
		}

		child := &ci.Pipeline{ProjectID: proj.ID, Ref: "main", SHA: "a", Source: ci.SourceParentPipeline,
			Parent: &ci.PipelineLink{ParentPipelineID: parent.ID, ParentProjectID: proj.ID, ParentJobID: bridge.ID, Depth: 1, ChildDepth: 1}}
		must(t, db.CreatePipeline(ctx, child, []*ci.Job{{Spec: ci.JobSpec{Name: "c", Stage: "test"}}}))
		again := &ci.Pipeline{ProjectID: proj.ID, Ref: "main", SHA: "a", Source: ci.SourceParentPipeline,
			Parent: &ci.PipelineLink{ParentPipelineID: parent.ID, ParentProjectID: proj.ID, ParentJobID: bridge.ID, Depth: 1, ChildDepth: 1}}
		WantKind(t, db.CreatePipeline(ctx, again, nil), ci.KindConflict)
		multi := &ci.Pipeline{ProjectID: other.ID, Ref: "main", SHA: "b", Source: ci.SourcePipeline,
			Parent: &ci.PipelineLink{ParentPipelineID: parent.ID, ParentProjectID: proj.ID, ParentJobID: bridge2.ID, Depth: 1}}
		must(t, db.CreatePipeline(ctx, multi, nil))

		l, err := db.LinkOf(ctx, child.ID)
		want := ci.PipelineLink{PipelineID: child.ID, ProjectID: proj.ID, ParentPipelineID: parent.ID, ParentProjectID: proj.ID, ParentJobID: bridge.ID, Depth: 1, ChildDepth: 1}
		if err != nil || *l != want {
			t.Errorf("LinkOf = %+v, %v; want %+v", l, err, want)
		}
		_, err = db.LinkOf(ctx, parent.ID)
		WantKind(t, err, ci.KindNotFound)
		links, err := db.ChildLinks(ctx, parent.ID)
		if err != nil || len(links) != 2 || links[0].PipelineID != child.ID || links[1].PipelineID != multi.ID || links[1].ProjectID != other.ID {
			t.Errorf("ChildLinks = %v, %v", links, err)
		}
		links, err = db.LinksOfJobs(ctx, []int64{bridge2.ID, build.ID})
		if err != nil || len(links) != 1 || links[0].PipelineID != multi.ID {
			t.Errorf("LinksOfJobs = %v, %v", links, err)
		}
		// Deleting the parent pipeline leaves its children, unlinked.
		must(t, db.DeletePipeline(ctx, parent.ID))
		if _, err := db.PipelineByID(ctx, child.ID); err != nil {
			t.Errorf("child gone with its parent: %v", err)
		}
		_, err = db.LinkOf(ctx, child.ID)
		WantKind(t, err, ci.KindNotFound)
	})
}
