package planner

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/ciconfig"
	"github.com/batonci/baton/internal/policy"
	"github.com/batonci/baton/internal/store"
	"github.com/batonci/baton/internal/store/storetest"
	"github.com/batonci/baton/internal/testpg"
)

func TestMain(m *testing.M) { testpg.Main(m) }

// refCounter counts the refs resolved in a real repository store.
type refCounter struct {
	*countingRepos
	resolved atomic.Int64
}

func (r *refCounter) ResolveRef(ctx context.Context, projectID int64, ref string) (string, bool, error) {
	r.resolved.Add(1)
	return r.countingRepos.Repos.ResolveRef(ctx, projectID, ref)
}

// projectCounter counts the projects looked up in a real store.
type projectCounter struct {
	db     *store.DB
	lookup atomic.Int64
}

func (p *projectCounter) ProjectByFullPath(ctx context.Context, fullPath string) (*ci.Project, error) {
	p.lookup.Add(1)
	return p.db.ProjectByFullPath(ctx, fullPath)
}

// One pipeline's includes look each project up, check the user may read
// it and resolve each of its refs once, however many files they read;
// rules:exists:project looks a plain path up (not read: its size does not
// matter) once however many jobs ask.
func TestIncludesResolveOncePerPipeline(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := storetest.MustUser(t, db)
		ns, err := db.NamespaceOfUser(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		shared := storetest.MustProject(t, db, ns.ID, ci.VisibilityPrivate)
		shared.DefaultBranch = "main"
		if err := db.UpdateProject(ctx, shared); err != nil {
			t.Fatal(err)
		}
		repos := &refCounter{countingRepos: pushProject(t, shared.ID, map[string]string{
			"a.yml": "a:\n  script: x\n", "b.yml": "b:\n  script: x\n", "c.yml": "c:\n  script: x\n",
			"big.bin": strings.Repeat("x", 100)})}
		repos.MaxReadFileSize = 64 // big.bin is over it
		projects := &projectCounter{db: db}
		pol := policy.New(db)
		var checks atomic.Int64
		in := &Includes{Repos: repos, Projects: projects, CanReadCode: func(ctx context.Context, userID int64, proj *ci.Project) bool {
			checks.Add(1)
			return pol.Project(ctx, &auth.Principal{User: u}, policy.ReadCode, proj) == nil
		}}
		p := New(repos.countingRepos, nil, nil, nil, Options{Includes: in})
		y := "include:\n  - project: " + shared.FullPath + "\n    file: [a.yml, b.yml]\n" +
			"  - project: " + shared.FullPath + "\n    file: c.yml\n" +
			"job:\n  script: x\n  rules:\n    - exists:\n        project: " + shared.FullPath + "\n        paths: [big.bin]\n" +
			"job2:\n  script: x\n  rules:\n    - exists:\n        project: " + shared.FullPath + "\n        paths: [big.bin]\n"
		res, err := p.Lint(ctx, LintRequest{Project: &ci.Project{ID: shared.ID, DefaultBranch: "main"}, Content: []byte(y), DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Valid {
			t.Fatalf("lint errors: %v", res.Errors)
		}
		var names []string
		for _, j := range res.Jobs {
			names = append(names, j.Name)
		}
		if got, want := strings.Join(names, " "), "a b c job job2"; got != want {
			t.Errorf("jobs %q, want %q (rules:exists:project finds a file over the read limit)", got, want)
		}
		if n := repos.lookup["big.bin"] + repos.reads["big.bin"]; n != 1 {
			t.Errorf("big.bin looked up or read %d times, want once", n)
		}
		if n := projects.lookup.Load(); n != 1 {
			t.Errorf("project looked up %d times, want once", n)
		}
		if n := checks.Load(); n != 1 {
			t.Errorf("read access checked %d times, want once", n)
		}
		if n := repos.resolved.Load(); n != 1 {
			t.Errorf("ref resolved %d times, want once", n)
		}
	})
}

// TestRemoteIncludesShareOneBudget: include:remote fetches of one pipeline
// share one time budget (GitLab's 30 s, here shortened to 2 s) on top of
// each fetch's own timeout (here 1 min): a host that answers two files and
// then stalls holds the pipeline for the budget, not for the fetch's
// timeout, and the error names the budget; another pipeline's sources
// start with a whole budget again.
func TestRemoteIncludesShareOneBudget(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if served.Add(1) == 3 {
			<-r.Context().Done() // the third file never comes
			return
		}
		_, _ = w.Write([]byte("job:\n  script: [echo]\n"))
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	in := &Includes{Remote: &ciconfig.RemoteFetcher{Allow: []string{u.Host}, Timeout: time.Minute}, RemoteTotal: 2 * time.Second}
	src := in.Sources(context.Background(), 0)
	var fetched int
	var err error
	for range 3 {
		if _, err = src.Remote(srv.URL + "/ci.yml"); err != nil {
			break
		}
		fetched++
	}
	if fetched != 2 || err == nil || !strings.Contains(err.Error(), "2s in all") {
		t.Fatalf("fetched %d files, then %v; want 2 files, then an error naming the 2s budget", fetched, err)
	}
	if _, err := in.Sources(context.Background(), 0).Remote(srv.URL + "/ci.yml"); err != nil {
		t.Fatalf("another pipeline's first fetch: %v", err)
	}
}
