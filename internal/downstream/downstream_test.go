package downstream

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/ciconfig"
	"github.com/batonci/baton/internal/policy"
	"github.com/batonci/baton/internal/scheduler"
	"github.com/batonci/baton/internal/store"
	"github.com/batonci/baton/internal/store/storetest"
	"github.com/batonci/baton/internal/testpg"
)

func TestMain(m *testing.M) { testpg.Main(m) }

// chain creates a pipeline of proj below parent (nil: a top pipeline)
// with one bridge job, returning the bridge.
func chain(t *testing.T, db *store.DB, proj *ci.Project, user int64, parent *ci.Job, link *ci.PipelineLink, trig *ci.TriggerSpec, vars ...ci.Variable) *ci.Job {
	t.Helper()
	p := &ci.Pipeline{ProjectID: proj.ID, Ref: "main", SHA: strings.Repeat("a", 40), Source: ci.SourcePush, UserID: user,
		Variables: []ci.Variable{{Key: "FROM_API", Value: "api"}}, Spec: ci.PipelineSpec{Variables: []ci.Variable{{Key: "GLOBAL", Value: "g"}}}}
	if parent != nil {
		p.Source, p.Parent = ci.SourceParentPipeline, link
		link.ParentPipelineID, link.ParentProjectID, link.ParentJobID = parent.PipelineID, parent.ProjectID, parent.ID
	}
	b := &ci.Job{Spec: ci.JobSpec{Name: "bridge", Stage: "test", Trigger: trig, Variables: vars}, Status: ci.StatusPending, UserID: user}
	if err := db.CreatePipeline(context.Background(), p, []*ci.Job{b}); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRequest(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := storetest.MustUser(t, db)
		ns, _ := db.NamespaceOfUser(ctx, u.ID)
		proj := storetest.MustProject(t, db, ns.ID, ci.VisibilityPrivate)
		other := storetest.MustProject(t, db, ns.ID, ci.VisibilityPrivate)
		strangerNS := storetest.MustGroup(t, db, 0, ci.VisibilityPrivate)
		private := storetest.MustProject(t, db, strangerNS.ID, ci.VisibilityPrivate)
		s := New(Service{Store: db, Policy: policy.New(db), ExternalURL: "http://baton.test"})
		child := &ci.TriggerSpec{Include: []ci.TriggerInclude{{Local: "ci/child.yml"}, {Project: "x/y", File: "/c.yml", Ref: "v1"}}, ForwardYAMLVariables: true}
		multi := func(path string) *ci.TriggerSpec {
			return &ci.TriggerSpec{Project: path, ForwardYAMLVariables: true}
		}

		t.Run("a child of a top pipeline", func(t *testing.T) {
			b := chain(t, db, proj, u.ID, nil, nil, child, ci.Variable{Key: "PARENT_PIPELINE_ID", Value: "$CI_PIPELINE_ID"},
				ci.Variable{Key: "WHO", Value: "${CI_JOB_NAME} of $CI_PROJECT_ID, $UNKNOWN"}, ci.Variable{Key: "RAW", Value: "$CI_PIPELINE_ID", Raw: true})
			req, err := s.request(ctx, b)
			if err != nil {
				t.Fatal(err)
			}
			want := ci.PipelineLink{ParentPipelineID: b.PipelineID, ParentProjectID: proj.ID, ParentJobID: b.ID, Depth: 1, ChildDepth: 1}
			if *req.Parent != want || req.Source != ci.SourceParentPipeline || req.Project.ID != proj.ID || req.SHA != strings.Repeat("a", 40) || req.UserID != u.ID {
				t.Errorf("request %+v, link %+v", req, *req.Parent)
			}
			wantVars := []ci.Variable{{Key: "GLOBAL", Value: "g"}, {Key: "PARENT_PIPELINE_ID", Value: fmt.Sprint(b.PipelineID)},
				{Key: "WHO", Value: fmt.Sprintf("bridge of %d, $UNKNOWN", proj.ID)}, {Key: "RAW", Value: "$CI_PIPELINE_ID", Raw: true}}
			if fmt.Sprint(req.Variables) != fmt.Sprint(wantVars) {
				t.Errorf("forwarded %v, want %v", req.Variables, wantVars)
			}
			// The configuration is a file of includes ciconfig plans.
			plan, err := ciconfig.Plan(ciconfig.Input{Content: req.Config, ReadFile: func(p string) ([]byte, error) {
				return []byte("child-job:\n  script: echo " + p + "\n"), nil
			}, Sources: ciconfig.Sources{ProjectFile: func(path, ref, file string) ([]byte, error) {
				return []byte("from-project:\n  script: echo " + path + "@" + ref + "/" + file + "\n"), nil
			}}})
			if err != nil {
				t.Fatalf("planning %s: %v", req.Config, err)
			}
			if len(plan.Jobs) != 2 || plan.Jobs[0].Script[0] != "echo ci/child.yml" || plan.Jobs[1].Script[0] != "echo x/y@v1/c.yml" {
				t.Errorf("planned %+v from %s", plan.Jobs, req.Config)
			}
		})

		t.Run("forward: pipeline variables, no YAML ones", func(t *testing.T) {
			b := chain(t, db, proj, u.ID, nil, nil, &ci.TriggerSpec{Include: child.Include, ForwardPipelineVariables: true}, ci.Variable{Key: "OWN", Value: "x"})
			req, err := s.request(ctx, b)
			if err != nil || fmt.Sprint(req.Variables) != fmt.Sprint([]ci.Variable{{Key: "FROM_API", Value: "api"}}) {
				t.Errorf("forwarded %v, %v", req.Variables, err)
			}
		})

		for _, tc := range []struct {
			name     string
			depth    int // of the pipeline holding the bridge; child levels as many
			trig     *ci.TriggerSpec
			reason   string
			why      string
			childLvl int
		}{
			{"a grandchild", 1, child, "", "", 2},
			{"a great-grandchild", 2, child, ci.FailureMaxDescendantsDepth, "child pipelines can be nested at most 2 levels deep (this one would be level 3)", 0},
			{"multi-project below the hierarchy's bound", 3, multi(other.FullPath), ci.FailureMaxDescendantsDepth, "downstream pipelines can be at most 3 levels below their top pipeline (this one would be level 4)", 0},
			{"multi-project", 1, multi(other.FullPath), "", "", 0},
			{"a project that does not exist", 0, multi("nobody/nothing"), ci.FailureDownstreamNotFound, `downstream project "nobody/nothing" could not be found, or the user may not create pipelines in it`, 0},
			{"a private project of others", 0, multi(private.FullPath), ci.FailureDownstreamNotFound, `downstream project "` + private.FullPath + `" could not be found, or the user may not create pipelines in it`, 0},
			{"its own project", 0, multi(proj.FullPath), ci.FailureInvalidBridgeTrigger, "cannot target its own project", 0},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var b *ci.Job
				for d := 0; d <= tc.depth; d++ {
					trig := child
					if d == tc.depth {
						trig = tc.trig
					}
					var link *ci.PipelineLink
					if b != nil {
						link = &ci.PipelineLink{Depth: d, ChildDepth: d}
					}
					b = chain(t, db, proj, u.ID, b, link, trig)
				}
				req, err := s.request(ctx, b)
				var r *refusal
				if tc.reason == "" {
					if err != nil {
						t.Fatalf("refused: %v", err)
					}
					if req.Parent.Depth != tc.depth+1 || req.Parent.ChildDepth != tc.childLvl {
						t.Errorf("link %+v", *req.Parent)
					}
					return
				}
				if !errors.As(err, &r) || r.reason != tc.reason || !strings.Contains(r.why, tc.why) {
					t.Fatalf("got %v (%+v), want %s: %s", err, r, tc.reason, tc.why)
				}
			})
		}
	})
}

// A strategy: depend bridge follows its downstream pipeline as GitLab's
// inherit_status_from_downstream!: a skipped pipeline fails it, a blocked
// (manual) or running one leaves it running.
func TestDependBridgeStatus(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := storetest.MustUser(t, db)
		ns, _ := db.NamespaceOfUser(ctx, u.ID)
		proj := storetest.MustProject(t, db, ns.ID, ci.VisibilityPrivate)
		s := New(Service{Store: db, Scheduler: scheduler.New(db, scheduler.Options{})})
		for _, c := range []struct{ child, want ci.Status }{
			{ci.StatusSuccess, ci.StatusSuccess},
			{ci.StatusFailed, ci.StatusFailed},
			{ci.StatusCanceled, ci.StatusCanceled},
			{ci.StatusSkipped, ci.StatusFailed},
			{ci.StatusManual, ci.StatusRunning},
			{ci.StatusRunning, ci.StatusRunning},
			{ci.StatusPending, ci.StatusRunning},
		} {
			t.Run(string(c.child), func(t *testing.T) {
				b := chain(t, db, proj, u.ID, nil, nil, &ci.TriggerSpec{Include: []ci.TriggerInclude{{Local: "c.yml"}}, Depend: true})
				if err := s.created(ctx, b, &ci.Pipeline{ID: -1, Status: c.child}); err != nil {
					t.Fatal(err)
				}
				got, err := db.JobByID(ctx, b.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.Status != c.want {
					t.Fatalf("child %s: bridge %s, want %s", c.child, got.Status, c.want)
				}
			})
		}
	})
}

// A sweep reaches every active bridge, however many depend bridges wait on
// blocked downstream pipelines before it: the last one, whose pipeline
// succeeded, succeeds.
func TestSweepPagesThroughBridges(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := storetest.MustUser(t, db)
		ns, _ := db.NamespaceOfUser(ctx, u.ID)
		proj := storetest.MustProject(t, db, ns.ID, ci.VisibilityPrivate)
		s := New(Service{Store: db, Scheduler: scheduler.New(db, scheduler.Options{})})
		s.sweepBatch = 2
		depend := func() *ci.TriggerSpec {
			return &ci.TriggerSpec{Include: []ci.TriggerInclude{{Local: "c.yml"}}, Depend: true}
		}
		var bridges []*ci.Job
		for i := range 5 {
			b := chain(t, db, proj, u.ID, nil, nil, depend())
			bridges = append(bridges, b)
			// Its downstream pipeline: blocked on a manual job, but for
			// the last one, which succeeded.
			child := chain(t, db, proj, u.ID, b, &ci.PipelineLink{Depth: 1, ChildDepth: 1}, nil)
			pl, err := db.PipelineByID(ctx, child.PipelineID)
			if err != nil {
				t.Fatal(err)
			}
			pl.Status = ci.StatusManual
			if i == 4 {
				pl.Status = ci.StatusSuccess
			}
			if err := db.UpdatePipeline(ctx, pl); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		for i, b := range bridges {
			got, err := db.JobByID(ctx, b.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := ci.StatusRunning
			if i == 4 {
				want = ci.StatusSuccess
			}
			if got.Status != want {
				t.Errorf("bridge %d: %s, want %s", i, got.Status, want)
			}
		}
	})
}

// countingStore is the real store, counting the per-bridge reads a sweep
// could repeat.
type countingStore struct {
	*store.DB
	links, pipelines int
}

func (c *countingStore) LinksOfJobs(ctx context.Context, ids []int64) ([]*ci.PipelineLink, error) {
	c.links++
	return c.DB.LinksOfJobs(ctx, ids)
}

func (c *countingStore) PipelineByID(ctx context.Context, id int64) (*ci.Pipeline, error) {
	c.pipelines++
	return c.DB.PipelineByID(ctx, id)
}

// A sweep reads the links of a page of bridges at once, and their
// downstream pipelines' statuses with them: not one query (or two) per
// bridge, every Interval, for every bridge waiting on its pipeline.
func TestSweepReadsPerPage(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := storetest.MustUser(t, db)
		ns, _ := db.NamespaceOfUser(ctx, u.ID)
		proj := storetest.MustProject(t, db, ns.ID, ci.VisibilityPrivate)
		cs := &countingStore{DB: db}
		s := New(Service{Store: cs, Scheduler: scheduler.New(db, scheduler.Options{})})
		s.sweepBatch = 3
		var bridges []*ci.Job
		for i := range 6 {
			b := chain(t, db, proj, u.ID, nil, nil, &ci.TriggerSpec{Include: []ci.TriggerInclude{{Local: "c.yml"}}, Depend: true})
			bridges = append(bridges, b)
			child := chain(t, db, proj, u.ID, b, &ci.PipelineLink{Depth: 1, ChildDepth: 1}, nil)
			if i == 5 {
				pl, err := db.PipelineByID(ctx, child.PipelineID)
				if err != nil {
					t.Fatal(err)
				}
				pl.Status = ci.StatusFailed
				if err := db.UpdatePipeline(ctx, pl); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := s.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		if cs.links != 2 || cs.pipelines != 0 {
			t.Errorf("sweeping 6 bridges in pages of 3: %d link reads, %d pipeline reads; want 2 and 0", cs.links, cs.pipelines)
		}
		for i, b := range bridges {
			got, err := db.JobByID(ctx, b.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := ci.StatusRunning
			if i == 5 {
				want = ci.StatusFailed
			}
			if got.Status != want {
				t.Errorf("bridge %d: %s, want %s", i, got.Status, want)
			}
		}
	})
}
