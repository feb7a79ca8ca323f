package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"time"
)

// pipelineJSON and jobJSON are the fields of GitLab's pipeline and job
// entities the CLI shows.
type pipelineJSON struct {
	ID       int64  `json:"id"`
	Status   string `json:"status"`
	Ref      string `json:"ref"`
	SHA      string `json:"sha"`
	WebURL   string `json:"web_url"`
	Duration *int64 `json:"duration,omitempty"`
}

type jobJSON struct {
	ID           int64    `json:"id"`
	Name         string   `json:"name"`
	Stage        string   `json:"stage"`
	Status       string   `json:"status"`
	AllowFailure bool     `json:"allow_failure"`
	Duration     *float64 `json:"duration"`
	WebURL       string   `json:"web_url"`
}

// pipelineView is a pipeline and its jobs grouped by stage, as --json
// prints it.
type pipelineView struct {
	Pipeline pipelineJSON `json:"pipeline"`
	Stages   []stageView  `json:"stages"`
}

type stageView struct {
	Name string    `json:"name"`
	Jobs []jobJSON `json:"jobs"`
}

type pipelineFlags struct {
	common
	project, pipeline, ref string
	log                    string
}

func (pf *pipelineFlags) parse(name string, args []string, env Env) (*client, error) {
	fl := flag.NewFlagSet("pipeline "+name, flag.ContinueOnError)
	pf.common.bind(fl)
	fl.StringVar(&pf.project, "project", "", "project path (group/app) or id (default: the job's CI_PROJECT_ID)")
	fl.StringVar(&pf.pipeline, "pipeline", "", "pipeline id (default: CI_PIPELINE_ID in a job, else the latest of --ref)")
	fl.StringVar(&pf.ref, "ref", "", "branch or tag whose latest pipeline to show (default: the default branch)")
	if name == "watch" {
		fl.StringVar(&pf.log, "log", "", "follow this job's log (a name in the pipeline, or an id) instead of the tree")
	}
	fl.Usage = func() {
		fmt.Fprintf(env.Stderr, "Usage: baton pipeline %s [--project P] [--pipeline ID | --ref REF]\n", name)
		fl.PrintDefaults()
	}
	if _, err := parseArgs(fl, args, env, 0, 0); err != nil {
		return nil, err
	}
	if pf.project == "" {
		pf.project = env.Getenv("CI_PROJECT_ID")
	}
	if pf.project == "" {
		return nil, exitf(ExitUsage, "name the project: --project group/app (or its id)")
	}
	if pf.pipeline == "" && pf.ref == "" {
		pf.pipeline = env.Getenv("CI_PIPELINE_ID")
	}
	if pf.pipeline != "" && !digits.MatchString(pf.pipeline) {
		return nil, exitf(ExitUsage, "--pipeline %q is not a pipeline id", pf.pipeline)
	}
	return clientFor(pf.common, env)
}

// loadPipeline reads the pipeline (the latest of --ref without
// --pipeline, which it then sets).
func (pf *pipelineFlags) loadPipeline(ctx context.Context, c *client) (pipelineJSON, error) {
	base := "/api/v4/projects/" + projectRef(pf.project)
	var pl pipelineJSON
	if pf.pipeline == "" {
		p := base + "/pipelines/latest"
		if pf.ref != "" {
			p += "?ref=" + url.QueryEscape(pf.ref)
		}
		if err := c.getJSON(ctx, p, &pl); err != nil {
			return pl, err
		}
		pf.pipeline = strconv.FormatInt(pl.ID, 10)
	} else if err := c.getJSON(ctx, base+"/pipelines/"+pf.pipeline, &pl); err != nil {
		return pl, err
	}
	return pl, nil
}

// load reads the pipeline and all its jobs (latest attempts).
func (pf *pipelineFlags) load(ctx context.Context, c *client) (*pipelineView, error) {
	base := "/api/v4/projects/" + projectRef(pf.project)
	pl, err := pf.loadPipeline(ctx, c)
	if err != nil {
		return nil, err
	}
	var jobs []jobJSON
	for page := 1; page <= 50; page++ {
		var batch []jobJSON
		if err := c.getJSON(ctx, fmt.Sprintf("%s/pipelines/%s/jobs?per_page=100&page=%d", base, pf.pipeline, page), &batch); err != nil {
			return nil, err
		}
		jobs = append(jobs, batch...)
		if len(batch) < 100 {
			break
		}
	}
	return groupStages(pl, jobs), nil
}

// groupStages orders jobs by id and stages by their first job.
func groupStages(pl pipelineJSON, jobs []jobJSON) *pipelineView {
	sort.Slice(jobs, func(i, k int) bool { return jobs[i].ID < jobs[k].ID })
	v := &pipelineView{Pipeline: pl, Stages: []stageView{}}
	at := map[string]int{}
	for _, j := range jobs {
		i, ok := at[j.Stage]
		if !ok {
			i = len(v.Stages)
			at[j.Stage] = i
			v.Stages = append(v.Stages, stageView{Name: j.Stage})
		}
		v.Stages[i].Jobs = append(v.Stages[i].Jobs, j)
	}
	return v
}

// finished reports whether a pipeline or job status is final.
func finished(status string) bool {
	switch status {
	case "success", "failed", "canceled", "skipped":
		return true
	}
	return false
}

var statusLook = map[string]struct{ sym, color string }{
	"success":              {"✔", "\x1b[32m"},
	"failed":               {"✘", "\x1b[31m"},
	"canceled":             {"⊘", "\x1b[90m"},
	"canceling":            {"⊘", "\x1b[33m"},
	"skipped":              {"»", "\x1b[90m"},
	"running":              {"●", "\x1b[34m"},
	"pending":              {"◌", "\x1b[33m"},
	"created":              {"○", "\x1b[90m"},
	"waiting_for_resource": {"◌", "\x1b[33m"},
	"preparing":            {"◌", "\x1b[33m"},
	"manual":               {"▶", "\x1b[90m"},
	"scheduled":            {"◷", "\x1b[90m"},
}

// render writes the tree: the pipeline, then each stage and its jobs.
func render(w io.Writer, v *pipelineView, color bool) {
	paint := func(status, s string) string {
		if l, ok := statusLook[status]; ok && color {
			return l.color + s + "\x1b[0m"
		}
		return s
	}
	sym := func(status string) string {
		if l, ok := statusLook[status]; ok {
			return l.sym
		}
		return "?"
	}
	pl := v.Pipeline
	sha := pl.SHA
	if len(sha) > 8 {
		sha = sha[:8]
	}
	fmt.Fprintf(w, "Pipeline #%d %s  (%s @ %s)\n", pl.ID, paint(pl.Status, pl.Status), pl.Ref, sha)
	width := 0
	for _, s := range v.Stages {
		for _, j := range s.Jobs {
			width = max(width, len(j.Name))
		}
	}
	for _, s := range v.Stages {
		fmt.Fprintf(w, "  %s\n", s.Name)
		for _, j := range s.Jobs {
			extra := ""
			if j.Duration != nil && *j.Duration > 0 {
				extra = "  " + (time.Duration(*j.Duration * float64(time.Second))).Round(time.Second).String()
			}
			if j.AllowFailure && j.Status == "failed" {
				extra += "  (allowed to fail)"
			}
			fmt.Fprintf(w, "    %s %-*s  %s  #%d%s\n", paint(j.Status, sym(j.Status)), width, j.Name, paint(j.Status, fmt.Sprintf("%-8s", j.Status)), j.ID, extra)
		}
	}
}

// pipelineStatus is `baton pipeline status`.
func pipelineStatus(ctx context.Context, args []string, env Env) error {
	var pf pipelineFlags
	c, err := pf.parse("status", args, env)
	if err != nil {
		return err
	}
	v, err := pf.load(ctx, c)
	if err != nil {
		return err
	}
	if pf.json {
		return writeJSON(env.Stdout, v)
	}
	render(env.Stdout, v, env.IsTerminal(env.Stdout))
	return nil
}

// pipelineWatch is `baton pipeline watch`: the tree redrawn until the
// pipeline finishes (or, with --log, one job's log followed). It follows
// the pipeline's event stream (resuming with Last-Event-ID after a dropped
// connection), and polls the pipeline's jobs every PollInterval only where
// the server has no stream. The exit code is 0 when the pipeline (or job)
// succeeded, ExitFailed otherwise.
func pipelineWatch(ctx context.Context, args []string, env Env) error {
	var pf pipelineFlags
	c, err := pf.parse("watch", args, env)
	if err != nil {
		return err
	}
	if pf.log != "" {
		return followLog(ctx, c, &pf, env)
	}
	w := &watcher{env: env, json: pf.json, tty: env.IsTerminal(env.Stdout), last: map[int64]string{}}
	pl, err := pf.loadPipeline(ctx, c)
	if err != nil {
		return err
	}
	st := &streamView{pl: pl, jobs: map[int64]*jobJSON{}}
	es := &eventStream{c: c, path: "/api/v4/projects/" + projectRef(pf.project) + "/pipelines/" + pf.pipeline + "/events", retry: env.PollInterval}
	err = es.follow(ctx, func(ev sseEvent, idle bool) error {
		if err := st.apply(ev); err != nil {
			return exitf(ExitServer, "pipeline #%s: %v", pf.pipeline, err)
		}
		if idle {
			w.show(st.view())
		}
		return nil
	}, func() bool { return finished(st.pl.Status) })
	switch {
	case errors.Is(err, errNoStream):
		return w.poll(ctx, c, &pf)
	case err != nil:
		return err
	case ctx.Err() != nil:
		return nil
	}
	v := st.view()
	if !finished(v.Pipeline.Status) || w.tty || es.events == 0 {
		// A stream that ended without the pipeline's last event, one
		// without events (a pipeline older than them), and the final tree
		// with durations: read once.
		if v, err = pf.load(ctx, c); err != nil {
			return err
		}
	}
	w.show(v)
	return w.finish(v)
}

// streamView is a pipeline's state built from its events.
type streamView struct {
	pl   pipelineJSON
	jobs map[int64]*jobJSON
}

// apply updates the state with one event: a pipeline's or a job's status
// (a retry's new job replaces the job of the same name).
func (st *streamView) apply(ev sseEvent) error {
	var e struct {
		Pipeline *struct{ Status, Ref string } `json:"pipeline"`
		Job      *struct {
			ID                  int64
			Name, Stage, Status string
		} `json:"job"`
	}
	switch ev.Event {
	case "pipeline", "job":
	default:
		return nil
	}
	if err := json.Unmarshal(ev.Data, &e); err != nil {
		return fmt.Errorf("event %s: %v", ev.ID, err)
	}
	if e.Pipeline != nil && e.Pipeline.Status != "" {
		st.pl.Status = e.Pipeline.Status
	}
	if j := e.Job; j != nil && j.Status != "" {
		if cur, ok := st.jobs[j.ID]; ok {
			cur.Status = j.Status
			return nil
		}
		for id, o := range st.jobs {
			if o.Name == j.Name && id < j.ID {
				delete(st.jobs, id)
			} else if o.Name == j.Name {
				return nil // an older attempt's late event
			}
		}
		st.jobs[j.ID] = &jobJSON{ID: j.ID, Name: j.Name, Stage: j.Stage, Status: j.Status}
	}
	return nil
}

func (st *streamView) view() *pipelineView {
	jobs := make([]jobJSON, 0, len(st.jobs))
	for _, j := range st.jobs {
		jobs = append(jobs, *j)
	}
	return groupStages(st.pl, jobs)
}

// watcher shows a watched pipeline: a line per job status change (JSON
// with --json), or the tree redrawn on a terminal.
type watcher struct {
	env       Env
	json, tty bool
	last      map[int64]string
}

func (w *watcher) show(v *pipelineView) {
	out := w.env.Stdout
	switch {
	case w.json:
		// One line per change, for scripts.
		for _, s := range v.Stages {
			for _, j := range s.Jobs {
				if w.last[j.ID] != j.Status {
					w.last[j.ID] = j.Status
					_ = writeLine(out, map[string]any{"job": j, "pipeline_id": v.Pipeline.ID})
				}
			}
		}
	case w.tty:
		fmt.Fprint(out, "\x1b[H\x1b[2J")
		render(out, v, true)
	default:
		for _, s := range v.Stages {
			for _, j := range s.Jobs {
				if w.last[j.ID] != j.Status {
					w.last[j.ID] = j.Status
					fmt.Fprintf(out, "%s  %s  %s (#%d)\n", time.Now().Format("15:04:05"), j.Status, j.Name, j.ID)
				}
			}
		}
	}
}

// finish prints a finished pipeline's last line; its error is the exit
// code.
func (w *watcher) finish(v *pipelineView) error {
	if w.json {
		_ = writeLine(w.env.Stdout, map[string]any{"pipeline": v.Pipeline})
	} else if !w.tty {
		fmt.Fprintf(w.env.Stdout, "pipeline #%d %s\n", v.Pipeline.ID, v.Pipeline.Status)
	}
	if v.Pipeline.Status != "success" {
		return exitf(ExitFailed, "pipeline #%d %s", v.Pipeline.ID, v.Pipeline.Status)
	}
	return nil
}

// poll reloads the pipeline every PollInterval until it finishes (servers
// without event streams).
func (w *watcher) poll(ctx context.Context, c *client, pf *pipelineFlags) error {
	for {
		v, err := pf.load(ctx, c)
		if err != nil {
			return err
		}
		w.show(v)
		if finished(v.Pipeline.Status) {
			return w.finish(v)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(w.env.PollInterval):
		}
	}
}

// writeLine writes v as one line of JSON.
func writeLine(w io.Writer, v any) error {
	b, err := jsonMarshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

var ansi = regexp.MustCompile(`\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)`)

// stripANSI removes colour and cursor sequences (for a log that is not
// shown on a terminal).
func stripANSI(b []byte) []byte { return ansi.ReplaceAll(b, nil) }

// followLog prints a job's log as it grows, in colour on a terminal, until
// the job finishes.
func followLog(ctx context.Context, c *client, pf *pipelineFlags, env Env) error {
	base := "/api/v4/projects/" + projectRef(pf.project)
	id := pf.log
	if !digits.MatchString(id) {
		v, err := pf.load(ctx, c)
		if err != nil {
			return err
		}
		id = ""
		for _, s := range v.Stages {
			for _, j := range s.Jobs {
				if j.Name == pf.log {
					id = strconv.FormatInt(j.ID, 10) // the newest attempt wins: jobs are in id order
				}
			}
		}
		if id == "" {
			return exitf(ExitNotFound, "no job %q in pipeline #%d", pf.log, v.Pipeline.ID)
		}
	}
	tty := env.IsTerminal(env.Stdout)
	var printed int
	for {
		var j jobJSON
		if err := c.getJSON(ctx, base+"/jobs/"+id, &j); err != nil {
			return err
		}
		req, err := c.request(ctx, http.MethodGet, base+"/jobs/"+id+"/trace", nil)
		if err != nil {
			return err
		}
		resp, err := c.do(req)
		if err != nil {
			return err
		}
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return exitf(ExitServer, "reading the log: %v", err)
		}
		if len(data) > printed {
			chunk := data[printed:]
			printed = len(data)
			if !tty {
				chunk = stripANSI(chunk)
			}
			if pf.json {
				_ = writeLine(env.Stdout, map[string]any{"job_id": j.ID, "log": string(chunk)})
			} else {
				_, _ = env.Stdout.Write(chunk)
			}
		} else if len(data) < printed {
			printed = 0 // the job was retried or erased: start over
		}
		if finished(j.Status) {
			if pf.json {
				_ = writeLine(env.Stdout, map[string]any{"job": j})
			} else {
				fmt.Fprintf(env.Stderr, "\njob %s #%d %s\n", j.Name, j.ID, j.Status)
			}
			if j.Status != "success" {
				return exitf(ExitFailed, "job %s #%d %s", j.Name, j.ID, j.Status)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(env.PollInterval):
		}
	}
}
