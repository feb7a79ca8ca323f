package storetest

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/store"
)

// eventLine renders an event for comparing sequences.
func eventLine(e *ci.PipelineEvent) string {
	switch e.Kind {
	case ci.EventJob:
		return fmt.Sprintf("job %s %s→%s %s", e.JobName, e.PreviousStatus, e.Status, e.Detail)
	case ci.EventArtifact:
		return fmt.Sprintf("artifact %s %s %q %s %d %s", e.JobName, e.Detail, e.ArtifactName, e.Filename, e.Size, e.SHA256)
	}
	return fmt.Sprintf("%s %s→%s %s", e.Kind, e.PreviousStatus, e.Status, e.Detail)
}

// TestPipelineEvents checks that every status change of a pipeline and its
// jobs and every stored artifact is recorded, whichever store method made
// it, numbered 1, 2, ... per pipeline; that listeners of
// store.PipelineEventsChannel hear the pipeline's id; that writes changing
// no status record nothing; and that events go with their pipeline.
func TestPipelineEvents(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		msgs, err := db.Listen(ctx, store.PipelineEventsChannel)
		must(t, err)
		if m := <-msgs; m != "" {
			t.Fatalf("first message %q, want the empty (re)connected one", m)
		}
		g := MustGroup(t, db, 0, ci.VisibilityPrivate)
		proj := MustProject(t, db, g.ID, ci.VisibilityPrivate)
		p, js := MustPipeline(t, db, proj.ID, "main", map[string][]string{"build": nil})
		other, _ := MustPipeline(t, db, proj.ID, "main", map[string][]string{"x": nil})
		heard := func(what string) {
			t.Helper()
			deadline := time.After(10 * time.Second)
			for {
				select {
				case m := <-msgs:
					if m != strconv.FormatInt(p.ID, 10) {
						continue
					}
					// Drop what else is queued (a write that records
					// nothing may wake too), so that the next step is
					// heard only by its own message.
					for {
						select {
						case <-msgs:
						default:
							return
						}
					}
				case <-deadline:
					t.Fatalf("%s: no message %d on %s", what, p.ID, store.PipelineEventsChannel)
				}
			}
		}
		heard("pipeline created")
		r := &ci.Runner{RunnerType: ci.RunnerInstance, RunUntagged: true, TokenHash: "r"}
		must(t, db.CreateRunner(ctx, r))
		j, err := db.AssignNextJob(ctx, r, "tok", time.Now())
		must(t, err)
		if j.PipelineID != p.ID {
			t.Fatalf("assigned job of pipeline %d, want %d", j.PipelineID, p.ID)
		}
		heard("job assigned")
		p.Status = ci.StatusRunning
		must(t, db.UpdatePipeline(ctx, p))
		heard("pipeline running")
		must(t, db.UpdatePipeline(ctx, p)) // same status: no event
		_, err = db.AppendTrace(ctx, j.ID, 0, []byte("hello\n"))
		must(t, err)
		heard("log grew") // wakes, records no event
		must(t, db.TouchJob(ctx, j.ID, time.Now()))
		must(t, db.CreateArtifact(ctx, &ci.Artifact{JobID: j.ID, FileType: "archive", FileFormat: "zip",
			Filename: "artifacts.zip", Size: 42, SHA256: "ab12", BlobKey: "k1"}))
		heard("archive stored")
		must(t, db.CreateArtifact(ctx, &ci.Artifact{JobID: j.ID, FileType: ci.FileTypePublished, Name: "bin",
			Filename: "bin.zip", Size: 7, BlobKey: "k2"}))
		heard("artifact published")
		must(t, db.CreateTestReport(ctx, &ci.Artifact{JobID: j.ID, FileType: ci.FileTypeJUnit, FileFormat: "gzip",
			Filename: "junit.xml.gz", Size: 9, BlobKey: "k3"}, &ci.TestSuite{Name: "build"}))
		heard("test report stored")
		j.Status, j.FailureReason = ci.StatusFailed, "script_failure"
		must(t, db.UpdateJob(ctx, j, ci.StatusRunning))
		heard("job failed")
		next := &ci.Job{Name: "build", Stage: "test", Status: ci.StatusPending, Attempt: 2, Spec: js[0].Spec}
		must(t, db.RetryJob(ctx, j, next))
		heard("job retried")
		p.Status = ci.StatusFailed
		must(t, db.UpdatePipeline(ctx, p))
		heard("pipeline failed")

		want := []string{
			"pipeline →pending main",
			"job build →pending ",
			"job build pending→running ",
			"pipeline pending→running main",
			`artifact build archive "" artifacts.zip 42 ab12`,
			`artifact build published "bin" bin.zip 7 `,
			`artifact build junit "" junit.xml.gz 9 `,
			"job build running→failed script_failure",
			"job build →pending ",
			"pipeline running→failed main",
		}
		all, err := db.PipelineEvents(ctx, p.ID, 0, 0)
		must(t, err)
		if len(all) != len(want) {
			for _, e := range all {
				t.Log(eventLine(e))
			}
			t.Fatalf("%d events, want %d", len(all), len(want))
		}
		for i, e := range all {
			if got := eventLine(e); got != want[i] || e.Seq != int64(i+1) || e.PipelineID != p.ID || e.ProjectID != proj.ID {
				t.Errorf("event %d: seq %d pipeline %d project %d %q, want seq %d pipeline %d project %d %q",
					i, e.Seq, e.PipelineID, e.ProjectID, got, i+1, p.ID, proj.ID, want[i])
			}
			if e.CreatedAt.IsZero() {
				t.Errorf("event %d has no time", e.Seq)
			}
		}
		if !all[len(all)-1].Finishes() || all[3].Finishes() {
			t.Errorf("Finishes: last %v, running %v", all[len(all)-1].Finishes(), all[3].Finishes())
		}
		page, err := db.PipelineEvents(ctx, p.ID, 4, 2)
		must(t, err)
		if len(page) != 2 || page[0].Seq != 5 || page[1].Seq != 6 {
			t.Fatalf("events after 4, 2 of them: %v", page)
		}
		mine, err := db.PipelineEvents(ctx, other.ID, 0, 0)
		must(t, err)
		if len(mine) != 2 {
			t.Fatalf("other pipeline has %d events, want 2 (created, its job)", len(mine))
		}
		must(t, db.DeletePipeline(ctx, p.ID))
		var n int
		must(t, db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM pipeline_events WHERE pipeline_id = `+
			strconv.FormatInt(p.ID, 10)).Scan(&n))
		if n != 0 {
			t.Fatalf("%d events left after deleting their pipeline", n)
		}
	})
}

// TestPipelineEventsConcurrent changes many jobs of one pipeline at once:
// every change is recorded once, numbered without gaps or repeats.
func TestPipelineEventsConcurrent(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		g := MustGroup(t, db, 0, ci.VisibilityPrivate)
		proj := MustProject(t, db, g.ID, ci.VisibilityPrivate)
		jobs := map[string][]string{}
		for i := range 16 {
			jobs[fmt.Sprintf("j%d", i)] = nil
		}
		p, js := MustPipeline(t, db, proj.ID, "main", jobs)
		var wg sync.WaitGroup
		errs := make(chan error, len(js)*2)
		for _, j := range js {
			wg.Add(1)
			go func() {
				defer wg.Done()
				j.Status = ci.StatusRunning
				if err := db.UpdateJob(ctx, j, ci.StatusPending); err != nil {
					errs <- err
					return
				}
				j.Status = ci.StatusSuccess
				errs <- db.UpdateJob(ctx, j, ci.StatusRunning)
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			must(t, err)
		}
		all, err := db.PipelineEvents(ctx, p.ID, 0, 1000)
		must(t, err)
		if want := 1 + 3*len(js); len(all) != want {
			t.Fatalf("%d events, want %d", len(all), want)
		}
		last := map[int64]ci.Status{}
		for i, e := range all {
			if e.Seq != int64(i+1) {
				t.Fatalf("event %d has seq %d", i+1, e.Seq)
			}
			if e.Kind == ci.EventJob && e.PreviousStatus != last[e.JobID] {
				t.Fatalf("job %d: %s→%s after %s", e.JobID, e.PreviousStatus, e.Status, last[e.JobID])
			}
			last[e.JobID] = e.Status
		}
	})
}
