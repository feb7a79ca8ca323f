// Command spec measures job-request latency (POST /api/v4/jobs/request,
// the payload included) in a pipeline planned right at the plan byte budget
// against a one-job pipeline and a
// `parallel: 200` one of tiny jobs in the same run, on a real store (SQLite in a
// temporary directory, or PostgreSQL with -postgres URL), the real planner
// (ciconfig + planner.Limits), scheduler and runner API over HTTP.
//
// The big pipeline is `parallel: 200` with a 60 KiB global variable and a
// script that brings the stored specs close to -max-plan-bytes; every job
// of every pipeline is requested, started and finished (PUT success), so
// each request also pays for the pipeline advancing.
//
//	go run ./bench/spec [-jobs 200] [-max-plan-bytes 16777216] [-postgres postgres://...]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/blob/fs"
	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/ciconfig"
	"github.com/batonci/baton/internal/runnerapi"
	"github.com/batonci/baton/internal/scheduler"
	"github.com/batonci/baton/internal/store/storeopen"
)

func main() {
	jobs := flag.Int("jobs", 200, "parallel: of the big pipeline")
	budget := flag.Int64("max-plan-bytes", 16<<20, "plan byte budget the big pipeline is sized to")
	pg := flag.String("postgres", "", "PostgreSQL URL (default: SQLite in a temporary directory)")
	flag.Parse()
	if err := run(context.Background(), *jobs, *budget, *pg); err != nil {
		fmt.Fprintln(os.Stderr, "spec:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, n int, budget int64, pgURL string) error {
	dir, err := os.MkdirTemp("", "baton-bench-spec")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	url := "sqlite:" + filepath.Join(dir, "b.db")
	if pgURL != "" {
		url = pgURL
	}
	db, err := storeopen.Open(ctx, url)
	if err != nil {
		return err
	}
	defer db.Close()
	blobs, err := fs.New(filepath.Join(dir, "blobs"))
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	q := runnerapi.NewQueue(db)
	defer q.Close()
	sched := scheduler.New(db, scheduler.Options{Notify: q.Notify, Logger: logger})
	srv := runnerapi.New(db, blobs, q, runnerapi.Options{Scheduler: sched, Logger: logger, LongPoll: -1})
	mux := http.NewServeMux()
	srv.Register(mux)
	hs := httptest.NewServer(mux)
	defer hs.Close()
	srv.ExternalURL = hs.URL

	u := &ci.User{Username: fmt.Sprintf("bench%d", time.Now().UnixNano()), Name: "bench", Email: "b@example.com"}
	if err := db.CreateUser(ctx, u); err != nil {
		return err
	}
	ns, err := db.NamespaceOfUser(ctx, u.ID)
	if err != nil {
		return err
	}
	proj := &ci.Project{NamespaceID: ns.ID, Name: "bench", Path: "bench", Visibility: ci.VisibilityPrivate, DefaultBranch: "main", CreatorID: u.ID}
	if err := db.CreateProject(ctx, proj); err != nil {
		return err
	}
	secret, hash := auth.NewToken(auth.PrefixRunner)
	if err := db.CreateRunner(ctx, &ci.Runner{RunnerType: ci.RunnerInstance, RunUntagged: true, TokenHash: hash, AccessLevel: "not_protected"}); err != nil {
		return err
	}

	// Size the script so that the stored specs come to just under budget.
	global := strings.Repeat("g", 60<<10)
	perJob := (budget - int64(len(global)) - 64<<10) / int64(n)
	big := fmt.Sprintf("variables:\n  GLOBAL: %s\ntest:\n  parallel: %d\n  script: echo %s\n", global, n, strings.Repeat("s", int(perJob)-300))
	tiny := "variables:\n  GLOBAL: g\ntest:\n  script: echo hi\n"
	small := fmt.Sprintf("variables:\n  GLOBAL: g\ntest:\n  parallel: %d\n  script: echo hi\n", n)

	measure := func(name, yaml string) error {
		plan, err := ciconfig.Plan(ciconfig.Input{Content: []byte(yaml), Variables: map[string]string{"CI_COMMIT_BRANCH": "main"}})
		if err != nil {
			return err
		}
		var size int
		for i := range plan.Jobs {
			b, _ := json.Marshal(&plan.Jobs[i])
			size += len(b)
		}
		b, _ := json.Marshal(plan.Spec)
		size += len(b)
		p := &ci.Pipeline{ProjectID: proj.ID, Ref: "main", SHA: strings.Repeat("a", 40), Source: ci.SourcePush, UserID: u.ID}
		// The planner's Persist and Schedule steps.
		jobs, err := plan.NewJobs(p, time.Now())
		if err != nil {
			return err
		}
		p.Spec, p.Status = plan.Spec, ci.StatusCreated
		if err := db.CreatePipeline(ctx, p, jobs); err != nil {
			return err
		}
		if err := sched.Advance(ctx, p.ID); err != nil {
			return err
		}
		var lat []time.Duration
		for range plan.Jobs {
			start := time.Now()
			id, token, err := request(hs.URL, secret)
			if err != nil {
				return err
			}
			lat = append(lat, time.Since(start))
			if err := finish(hs.URL, id, token); err != nil {
				return err
			}
		}
		slices.Sort(lat)
		pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(float64(len(lat))*p))] }
		fmt.Printf("%-6s jobs=%4d stored spec bytes=%9d  jobs/request p50=%8s p99=%8s max=%8s\n",
			name, len(plan.Jobs), size, pct(0.50).Round(10*time.Microsecond), pct(0.99).Round(10*time.Microsecond), lat[len(lat)-1].Round(10*time.Microsecond))
		return nil
	}
	engine := "sqlite"
	if pgURL != "" {
		engine = "postgres"
	}
	fmt.Printf("engine=%s budget=%d bytes\n", engine, budget)
	if err := measure("tiny", tiny); err != nil {
		return err
	}
	if err := measure("small", small); err != nil {
		return err
	}
	if err := measure("budget", big); err != nil {
		return err
	}
	return measure("tiny", tiny)
}

func request(base, token string) (int64, string, error) {
	body, _ := json.Marshal(map[string]string{"token": token})
	resp, err := http.Post(base+"/api/v4/jobs/request", "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return 0, "", fmt.Errorf("jobs/request: %s", resp.Status)
	}
	var p struct {
		ID    int64  `json:"id"`
		Token string `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		return 0, "", err
	}
	return p.ID, p.Token, nil
}

func finish(base string, id int64, token string) error {
	body, _ := json.Marshal(map[string]string{"token": token, "state": "success"})
	req, _ := http.NewRequest("PUT", fmt.Sprintf("%s/api/v4/jobs/%d", base, id), bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("PUT job %d: %s", id, resp.Status)
	}
	return nil
}
