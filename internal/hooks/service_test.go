package hooks

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/store"
	"github.com/batonci/baton/internal/store/storetest"
)

// countingDB is the real store, counting the reads the events repeat.
type countingDB struct {
	*store.DB
	users, runners, hookLists, namespaces atomic.Int64
	queued                                []*ci.HookDelivery // with their payloads, which the store does not list
}

func (c *countingDB) EnqueueHookDeliveries(ctx context.Context, ds []*ci.HookDelivery, subject *ci.EventSubject) (bool, error) {
	ok, err := c.DB.EnqueueHookDeliveries(ctx, ds, subject)
	if ok && err == nil {
		c.queued = append(c.queued, ds...)
	}
	return ok, err
}

func (c *countingDB) UserByID(ctx context.Context, id int64) (*ci.User, error) {
	c.users.Add(1)
	return c.DB.UserByID(ctx, id)
}

func (c *countingDB) RunnerByID(ctx context.Context, id int64) (*ci.Runner, error) {
	c.runners.Add(1)
	return c.DB.RunnerByID(ctx, id)
}

func (c *countingDB) ListProjectHooks(ctx context.Context, projectID int64) ([]*ci.ProjectHook, error) {
	c.hookLists.Add(1)
	return c.DB.ListProjectHooks(ctx, projectID)
}

func (c *countingDB) NamespaceByID(ctx context.Context, id int64) (*ci.Namespace, error) {
	c.namespaces.Add(1)
	return c.DB.NamespaceByID(ctx, id)
}

func hookFixture(t *testing.T, h *ci.ProjectHook) (*countingDB, *ci.Project, *ci.User) {
	t.Helper()
	db := storetest.OpenSQLite(t)
	ctx := context.Background()
	u := storetest.MustUser(t, db)
	ns, err := db.NamespaceOfUser(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	p := storetest.MustProject(t, db, ns.ID, ci.VisibilityPrivate)
	h.ProjectID, h.URL = p.ID, "http://hooks.example/"
	if err := db.CreateProjectHook(ctx, h, 10); err != nil {
		t.Fatal(err)
	}
	return &countingDB{DB: db}, p, u
}

// deliveries are the deliveries queued for hook, checked against the
// store's list of them.
func deliveries(t *testing.T, db *countingDB, hookID int64) []*ci.HookDelivery {
	t.Helper()
	stored, _, err := db.ListHookDeliveries(context.Background(), hookID, ci.Page{Page: 1, PerPage: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != len(db.queued) {
		t.Fatalf("the store lists %d deliveries, %d were queued", len(stored), len(db.queued))
	}
	for _, d := range db.queued {
		if d.HookID != hookID {
			t.Fatalf("delivery for hook %d, want %d", d.HookID, hookID)
		}
	}
	return db.queued
}

// A pipeline event lists every job with its user and runner, reading each
// user and each runner once however many jobs share them (the event is
// built in the scheduler's path on every pipeline status change).
func TestPipelineEventReadsEachUserAndRunnerOnce(t *testing.T) {
	h := &ci.ProjectHook{PipelineEvents: true}
	db, p, u := hookFixture(t, h)
	ctx := context.Background()
	rn := &ci.Runner{TokenHash: "runner-hash", RunnerType: ci.RunnerInstance, Description: "shared"}
	if err := db.CreateRunner(ctx, rn); err != nil {
		t.Fatal(err)
	}
	const n = 6
	pl := &ci.Pipeline{ProjectID: p.ID, Ref: "main", SHA: fmt.Sprintf("%040x", 1), Source: ci.SourcePush, Status: ci.StatusRunning, UserID: u.ID}
	var jobs []*ci.Job
	for i := range n {
		name := fmt.Sprintf("job %d", i)
		jobs = append(jobs, &ci.Job{Name: name, Stage: "test", Status: ci.StatusPending, UserID: u.ID,
			Spec: ci.JobSpec{Name: name, Stage: "test", Script: []string{"true"}}})
	}
	if err := db.CreatePipeline(ctx, pl, jobs); err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		j.Status, j.RunnerID = ci.StatusRunning, rn.ID
		if err := db.UpdateJob(ctx, j, ci.StatusPending); err != nil {
			t.Fatal(err)
		}
	}

	New(db, nil, "http://baton.example", slog.New(slog.DiscardHandler)).Pipeline(ctx, pl)

	ds := deliveries(t, db, h.ID)
	if len(ds) != 1 || ds[0].Event != "Pipeline Hook" {
		t.Fatalf("deliveries %+v, want one Pipeline Hook", ds)
	}
	var got pipelinePayload
	if err := json.Unmarshal(ds[0].Payload, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Builds) != n {
		t.Fatalf("%d builds, want %d", len(got.Builds), n)
	}
	for _, b := range got.Builds {
		if b.User == nil || b.User.ID != u.ID || b.Runner == nil || b.Runner.ID != rn.ID {
			t.Fatalf("build %s: user %+v runner %+v, want user %d runner %d", b.Name, b.User, b.Runner, u.ID, rn.ID)
		}
	}
	if got.User == nil || got.User.ID != u.ID {
		t.Fatalf("pipeline user %+v, want %d", got.User, u.ID)
	}
	if users, runners := db.users.Load(), db.runners.Load(); users != 1 || runners != 1 {
		t.Errorf("%d user reads and %d runner reads for %d jobs of one user on one runner, want 1 and 1", users, runners, n)
	}
}

// A push that updates several refs reads the project's hooks and its
// namespace once, and queues one event per ref.
func TestPushReadsHooksOnce(t *testing.T) {
	h := &ci.ProjectHook{PushEvents: true, TagPushEvents: true}
	db, p, u := hookFixture(t, h)
	ctx := context.Background()
	sha := fmt.Sprintf("%040x", 7)
	// Deletions: their payloads need no commits from git.
	updates := []RefUpdate{
		{Name: "a", OldSHA: sha, Deleted: true},
		{Name: "b", OldSHA: sha, Deleted: true},
		{Name: "v1", Tag: true, OldSHA: sha, Deleted: true},
	}

	New(db, nil, "http://baton.example", slog.New(slog.DiscardHandler)).Push(ctx, p, u, updates)

	ds := deliveries(t, db, h.ID)
	if len(ds) != len(updates) {
		t.Fatalf("%d deliveries, want %d", len(ds), len(updates))
	}
	refs := map[string]string{}
	for _, d := range ds {
		var got pushPayload
		if err := json.Unmarshal(d.Payload, &got); err != nil {
			t.Fatal(err)
		}
		if got.Project.ID != p.ID || got.After != zeroSHA {
			t.Errorf("payload %+v", got)
		}
		refs[got.Ref] = d.Event
	}
	want := map[string]string{"refs/heads/a": "Push Hook", "refs/heads/b": "Push Hook", "refs/tags/v1": "Tag Push Hook"}
	if fmt.Sprint(refs) != fmt.Sprint(want) {
		t.Errorf("events %v, want %v", refs, want)
	}
	if lists, nss := db.hookLists.Load(), db.namespaces.Load(); lists != 1 || nss != 1 {
		t.Errorf("%d hook list reads and %d namespace reads for a push of %d refs, want 1 and 1", lists, nss, len(updates))
	}
}
