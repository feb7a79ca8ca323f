package artifacts

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/store"
	"github.com/batonci/baton/internal/store/storetest"
)

// countingDB is a real store that records which pipelines' jobs are read.
type countingDB struct {
	*store.DB
	mu        sync.Mutex
	jobReads  map[int64]int // pipeline id → ListJobs calls
	artReads  int
	listCalls int
}

func (c *countingDB) ListJobs(ctx context.Context, f ci.JobFilter) ([]*ci.Job, int, error) {
	c.mu.Lock()
	c.jobReads[f.PipelineID]++
	c.listCalls++
	c.mu.Unlock()
	return c.DB.ListJobs(ctx, f)
}

func (c *countingDB) ArtifactsOfJobs(ctx context.Context, ids []int64) ([]*ci.Artifact, error) {
	c.mu.Lock()
	c.artReads++
	c.mu.Unlock()
	return c.DB.ArtifactsOfJobs(ctx, ids)
}

func (c *countingDB) reset() (reads map[int64]int, lists, arts int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	reads, lists, arts = c.jobReads, c.listCalls, c.artReads
	c.jobReads, c.listCalls, c.artReads = map[int64]int{}, 0, 0
	return reads, lists, arts
}

// TestInPipelineTreeReadsEachPipelineOnce: resolving ?job= through the
// downstream tree reads each pipeline's jobs (and their artifacts) once; a
// pipeline that has the job costs what InPipeline costs, no more.
func TestInPipelineTreeReadsEachPipelineOnce(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := storetest.MustUser(t, db)
		ns, _ := db.NamespaceOfUser(ctx, u.ID)
		proj := storetest.MustProject(t, db, ns.ID, ci.VisibilityPrivate)
		sha := strings.Repeat("a", 40)
		job := func(name string) *ci.Job {
			return &ci.Job{Name: name, Stage: "test", Status: ci.StatusSuccess, UserID: u.ID, Attempt: 1,
				Spec: ci.JobSpec{Name: name, Stage: "test", Script: []string{"true"}}}
		}
		parent := &ci.Pipeline{ProjectID: proj.ID, Ref: "main", SHA: sha, Source: ci.SourcePush, UserID: u.ID}
		build, bridge := job("build"), job("run-child")
		if err := db.CreatePipeline(ctx, parent, []*ci.Job{build, bridge}); err != nil {
			t.Fatal(err)
		}
		child := &ci.Pipeline{ProjectID: proj.ID, Ref: "main", SHA: sha, Source: ci.SourceParentPipeline, UserID: u.ID,
			Parent: &ci.PipelineLink{ParentPipelineID: parent.ID, ParentProjectID: proj.ID, ParentJobID: bridge.ID, Depth: 1, ChildDepth: 1}}
		deploy := job("deploy")
		if err := db.CreatePipeline(ctx, child, []*ci.Job{deploy}); err != nil {
			t.Fatal(err)
		}
		for _, j := range []*ci.Job{build, deploy} {
			if err := db.CreateArtifact(ctx, &ci.Artifact{JobID: j.ID, FileType: ci.FileTypeArchive, FileFormat: ci.FormatZip,
				Filename: "artifacts.zip", Size: 1, SHA256: "ff", BlobKey: "k" + j.Name, IndexKey: "i" + j.Name}); err != nil {
				t.Fatal(err)
			}
		}
		c := &countingDB{DB: db}
		c.reset()
		s := &Service{Store: c}

		if _, err := s.InPipeline(ctx, parent, "build", ""); err != nil {
			t.Fatal(err)
		}
		_, wantLists, wantArts := c.reset()
		ch, err := s.InPipelineTree(ctx, parent, "build", "", "")
		if err != nil || ch.Job.ID != build.ID {
			t.Fatalf("build: %+v, %v; want job %d", ch, err, build.ID)
		}
		if _, lists, arts := c.reset(); lists != wantLists || arts != wantArts {
			t.Errorf("a job of the pipeline itself: %d job and %d artifact reads, InPipeline needs %d and %d", lists, arts, wantLists, wantArts)
		}

		ch, err = s.InPipelineTree(ctx, parent, "deploy", "", "")
		if err != nil || ch.Job.ID != deploy.ID || ch.Pipeline.ID != child.ID {
			t.Fatalf("deploy: %+v, %v; want job %d of pipeline %d", ch, err, deploy.ID, child.ID)
		}
		reads, _, _ := c.reset()
		for pl, n := range reads {
			if n != 1 {
				t.Errorf("a job of a child pipeline: the jobs of pipeline %d read %d times, want once", pl, n)
			}
		}
		if reads[parent.ID] == 0 || reads[child.ID] == 0 {
			t.Errorf("pipelines read: %v; want the parent %d and the child %d", reads, parent.ID, child.ID)
		}
	})
}
