package releases

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/gitserve"
	"github.com/batonci/baton/internal/store"
	"github.com/batonci/baton/internal/store/storetest"
	"github.com/batonci/baton/internal/testpg"
)

func TestMain(m *testing.M) { testpg.Main(m) }

// CreateFromJob creates a job's release once: the same job asking again
// (the runner resending its success) gets that release, another job of
// the same tag KindConflict, which fails it.
func TestCreateFromJob(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := storetest.MustUser(t, db)
		ns, _ := db.NamespaceOfUser(ctx, u.ID)
		proj := storetest.MustProject(t, db, ns.ID, ci.VisibilityPrivate)
		repos, err := gitserve.NewRepos(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if err := repos.Create(ctx, proj.ID); err != nil {
			t.Fatal(err)
		}
		work := t.TempDir()
		git := func(args ...string) string {
			t.Helper()
			cmd := exec.Command("git", append([]string{"-C", work, "-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("git %v: %v\n%s", args, err, out)
			}
			return strings.TrimSpace(string(out))
		}
		git("init", "-q", "-b", "main")
		git("commit", "-q", "--allow-empty", "-m", "first")
		git("push", "-q", repos.Path(proj.ID), "main")
		sha := git("rev-parse", "HEAD")

		spec := &ci.ReleaseSpec{TagName: "v$CI_PIPELINE_IID", Description: "from $CI_JOB_NAME"}
		p := &ci.Pipeline{ProjectID: proj.ID, Ref: "main", SHA: sha, Source: ci.SourcePush, UserID: u.ID}
		one := &ci.Job{Spec: ci.JobSpec{Name: "one", Stage: "release", Release: spec}, Status: ci.StatusRunning, UserID: u.ID}
		two := &ci.Job{Spec: ci.JobSpec{Name: "two", Stage: "release", Release: spec}, Status: ci.StatusRunning, UserID: u.ID}
		if err := db.CreatePipeline(ctx, p, []*ci.Job{one, two}); err != nil {
			t.Fatal(err)
		}
		s := &Service{Store: db, Code: repos, ServerURL: "http://baton.test"}
		r, err := s.CreateFromJob(ctx, one)
		if err != nil || r.TagName != "v1" || r.SHA != sha || r.Description != "from one" || r.JobID != one.ID {
			t.Fatalf("first: %+v, %v", r, err)
		}
		again, err := s.CreateFromJob(ctx, one)
		if err != nil || again.ID != r.ID {
			t.Fatalf("the same job again: %+v, %v; want release %d", again, err, r.ID)
		}
		if _, err := s.CreateFromJob(ctx, two); !ci.IsConflict(err) {
			t.Fatalf("another job of the tag: %v, want KindConflict", err)
		}
	})
}
