package api

import (
	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/ciconfig"
	"github.com/batonci/baton/internal/planner"
)

// lintProjectContent is POST /projects/:id/ci/lint: lint the given content
// in the project's context (GitLab's ProjectNamespaceLint).
func (s *Server) lintProjectContent(c *call) (answer, error) {
	q, err := c.params()
	if err != nil {
		return answer{}, err
	}
	content, err := q.Required("content")
	if err != nil {
		return answer{}, err
	}
	return s.lint(c, planner.LintRequest{Project: c.proj, Content: []byte(content), Ref: q.Get("ref"), UserID: c.p.UserID()})
}

// lintProjectConfig is GET /projects/:id/ci/lint: lint the project's own
// configuration at content_ref (or sha; default: the default branch),
// dry-running as a push to dry_run_ref (or ref).
func (s *Server) lintProjectConfig(c *call) (answer, error) {
	q, err := c.params()
	if err != nil {
		return answer{}, err
	}
	ref := q.Get("dry_run_ref")
	if ref == "" {
		ref = q.Get("ref")
	}
	at := q.Get("content_ref")
	if at == "" {
		at = q.Get("sha")
	}
	return s.lint(c, planner.LintRequest{Project: c.proj, Ref: ref, SHA: at, UserID: c.p.UserID()})
}

func (s *Server) lint(c *call, req planner.LintRequest) (answer, error) {
	q, err := c.params()
	if err != nil {
		return answer{}, err
	}
	if req.DryRun, err = q.Bool("dry_run", false); err != nil {
		return answer{}, err
	}
	includeJobs, err := q.Bool("include_jobs", false)
	if err != nil {
		return answer{}, err
	}
	res, err := s.Planner.Lint(c.ctx(), req)
	if err != nil {
		return answer{}, err
	}
	return ok(lintEntity(res, includeJobs)), nil
}

type lintInclude struct {
	Type           string         `json:"type"`
	Location       string         `json:"location"`
	Blob           *string        `json:"blob"`
	Raw            *string        `json:"raw"`
	Extra          map[string]any `json:"extra"`
	ContextProject *string        `json:"context_project"`
	ContextSHA     *string        `json:"context_sha"`
}

type lintJob struct {
	Name         string         `json:"name"`
	Stage        string         `json:"stage"`
	BeforeScript []string       `json:"before_script"`
	Script       []string       `json:"script"`
	AfterScript  []string       `json:"after_script"`
	TagList      []string       `json:"tag_list"`
	Environment  *string        `json:"environment"`
	When         string         `json:"when"`
	AllowFailure bool           `json:"allow_failure"`
	Needs        []lintJobNeeds `json:"needs,omitempty"`
}

type lintJobNeeds struct {
	Name      string `json:"name"`
	Artifacts bool   `json:"artifacts"`
}

func lintEntity(res *ciconfig.LintResult, includeJobs bool) map[string]any {
	includes := make([]lintInclude, 0, len(res.Includes))
	for _, inc := range res.Includes {
		li := lintInclude{Type: inc.Type, Location: inc.Location, Extra: map[string]any{}}
		if inc.Raw != "" {
			raw := inc.Raw
			li.Raw = &raw
		}
		if inc.Project != "" {
			proj := inc.Project
			li.ContextProject = &proj
			li.Extra["project"] = inc.Project
			li.Extra["ref"] = inc.Ref
		}
		if inc.Ref != "" {
			ref := inc.Ref
			li.ContextSHA = &ref
		}
		includes = append(includes, li)
	}
	out := map[string]any{"valid": res.Valid, "errors": res.Errors, "warnings": res.Warnings,
		"merged_yaml": res.MergedYAML, "includes": includes}
	if includeJobs {
		jobs := make([]lintJob, 0, len(res.Jobs))
		for _, j := range res.Jobs {
			jobs = append(jobs, lintJobOf(j))
		}
		out["jobs"] = jobs
	}
	return out
}

func lintJobOf(j ci.JobSpec) lintJob {
	lj := lintJob{Name: j.Name, Stage: j.Stage, BeforeScript: orEmpty(j.BeforeScript), Script: orEmpty(j.Script),
		AfterScript: orEmpty(j.AfterScript), TagList: orEmpty(j.Tags), When: j.When, AllowFailure: j.AllowFailure}
	if j.Environment != "" {
		env := j.Environment
		lj.Environment = &env
	}
	for _, n := range j.Needs {
		lj.Needs = append(lj.Needs, lintJobNeeds{Name: n.Job, Artifacts: n.Artifacts})
	}
	return lj
}
