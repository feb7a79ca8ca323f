// Package ciconfig turns a .gitlab-ci.yml into a validated ci.PipelinePlan:
// includes, !reference, extends, default, anchors and merge keys are
// resolved, workflow and job rules (or only/except) are evaluated against the
// pipeline's variables, and parallel jobs are expanded.
package ciconfig

import (
	"errors"
	"strings"

	"github.com/batonci/baton/internal/ci"
)

// Input is what planning a pipeline needs.
type Input struct {
	Content []byte // the .gitlab-ci.yml at the pipeline's sha
	// Variables are the predefined and pipeline variables visible to rules
	// and workflow (CI_COMMIT_BRANCH, CI_COMMIT_TAG, CI_COMMIT_REF_NAME,
	// CI_PIPELINE_SOURCE, CI_DEFAULT_BRANCH, CI_PROJECT_PATH, user-given
	// variables, ...). They win over variables defined in the file when
	// expressions are evaluated; they are not copied into JobSpec.Variables.
	Variables map[string]string
	// ReadFile reads a file of the repository at the pipeline's sha for
	// include:local and rules:exists; the path is relative to the repository
	// root. nil makes every include an error.
	ReadFile func(path string) ([]byte, error)
	// Changes lists the paths the pipeline changed, for rules:changes and
	// only/except:changes. compareTo "" asks for the pipeline's own diff
	// (a branch push's before..after); else it is the compare_to ref or
	// sha, compared from its merge base with the pipeline's commit (an
	// unknown one is KindNotFound). ok false means the pipeline has no
	// diff (a new branch, a tag, an API, web, schedule or trigger
	// pipeline): changes then match, as in GitLab. nil: never a diff.
	Changes func(compareTo string) (paths []string, ok bool, err error)
	// FileExists reports whether path is a file of the repository at the
	// pipeline's sha, whatever its size, for rules:exists paths without
	// glob characters. nil: a path exists when ReadFile reads it.
	FileExists func(path string) (bool, error)
	// ListFiles lists the paths of the repository's files at the
	// pipeline's sha, at most max of them, for rules:exists globs. nil:
	// glob patterns match.
	ListFiles func(max int) ([]string, error)
	// Sources reads include:project, include:component, include:template
	// and include:remote files; its nil functions refuse those kinds.
	Sources Sources
	// Inputs are the pipeline's inputs, for a main configuration with a
	// spec:inputs header (strings, float64 or int numbers, booleans and
	// []any arrays, as decoded from JSON).
	Inputs map[string]any
}

// maxPlannedJobs bounds the jobs of one pipeline after parallel expansion.
const maxPlannedJobs = 5000

// reservedKeys are the top-level keys that are not jobs.
var reservedKeys = map[string]bool{
	"stages": true, "variables": true, "default": true, "workflow": true, "include": true,
	"image": true, "services": true, "before_script": true, "after_script": true, "cache": true,
	"types": true, "spec": true,
}

// Plan parses and validates in.Content and returns the jobs a pipeline with
// in.Variables runs. Every error is of kind ci.KindInvalid: a *ConfigError
// listing the configuration's problems, ErrFilteredByWorkflow when
// workflow:rules prevent the pipeline, or ErrNoJobs when no job is left.
func Plan(in Input) (*ci.PipelinePlan, error) {
	p := newPlanner(in)
	plan, err := p.plan()
	if err != nil {
		if errors.Is(err, ErrFilteredByWorkflow) || errors.Is(err, ErrNoJobs) {
			return nil, err
		}
		var ce *ConfigError
		if !errors.As(err, &ce) {
			err = &ConfigError{Errors: []string{err.Error()}}
		}
		return nil, err
	}
	return plan, nil
}

// newPlanner returns a planner of in, FileExists derived from ReadFile
// and Sources.ProjectFileExists from Sources.ProjectFile when not given.
func newPlanner(in Input) *planner {
	if in.FileExists == nil && in.ReadFile != nil {
		read := in.ReadFile
		in.FileExists = func(path string) (bool, error) {
			_, err := read(path)
			return err == nil, nil
		}
	}
	if src := &in.Sources; src.ProjectFileExists == nil && src.ProjectFile != nil {
		read := src.ProjectFile
		src.ProjectFileExists = func(project, ref, path string) (bool, error) {
			_, err := read(project, ref, path)
			if errors.Is(err, ErrProjectNotFound) {
				return false, err
			}
			return err == nil, nil
		}
	}
	return &planner{in: in}
}

type planner struct {
	in    Input
	probs problems
	work  int // nodes built while merging includes and extends
	// interpolated counts the bytes $[[ ]] blocks produced in all files.
	interpolated int
	root         *node
	stages       []string
	vars         []ci.Variable // global variables, then workflow rule variables
	name         string        // workflow:name, expanded
	jobs         []*jobDef     // every non-hidden job, in file order
	byName       map[string]*jobDef
	allDefs      map[string]*node // every top-level hash, hidden ones included, after extends
	rootIdx      map[string]*node // top-level keys of root
	stageIdx     map[string]int
	included     []Included          // files merged by include, in the order read
	changes      map[string][]string // Input.Changes by compare_to; nil: no diff
	files        []string            // Input.ListFiles, once read
	exist        map[string]bool     // Input.FileExists by path, once asked
	// projectFiles are Sources.ProjectPaths by project and ref, once read.
	projectFiles map[string][]string
}

func (p *planner) plan() (*ci.PipelinePlan, error) {
	if len(strings.TrimSpace(string(p.in.Content))) == 0 {
		return nil, errors.New("Please provide content of .gitlab-ci.yml")
	}
	root, err := p.parseConfig(".gitlab-ci.yml", p.in.Content, p.mainInputs(), false)
	if err != nil {
		return nil, err
	}
	if root.kind != kindMap {
		return nil, errors.New("Invalid configuration format: the root of .gitlab-ci.yml must be a hash")
	}
	if root, err = p.includeAll(root); err != nil {
		return nil, err
	}
	p.setRoot(root)
	// GitLab resolves extends first and !reference tags after, so that a
	// reference sees what the job it names inherited.
	p.resolveExtends()
	if p.probs.err() == nil {
		if err := p.resolveReferences(); err != nil {
			return nil, err
		}
	}
	p.parseGlobals()
	p.parseJobs()
	p.checkOnStop()
	if err := p.probs.err(); err != nil {
		return nil, err
	}
	if err := p.evalWorkflow(); err != nil {
		return nil, err
	}
	included, err := p.selectJobs()
	if err != nil {
		return nil, err
	}
	specs := p.expand(included)
	if err := p.probs.err(); err != nil {
		return nil, err
	}
	return &ci.PipelinePlan{Stages: p.stages, Jobs: specs, Spec: ci.PipelineSpec{Variables: p.vars}, Name: p.name}, nil
}

// parseGlobals reads stages and variables and checks that every other
// top-level key is a reserved keyword, a hidden key or a job hash.
func (p *planner) parseGlobals() {
	stages := []string{"build", "test", "deploy"}
	sn := p.root.get("stages")
	if sn == nil {
		sn = p.root.get("types")
	}
	if sn != nil && sn.kind != kindNull {
		list, ok := stringList(sn, 1)
		if !ok {
			p.probs.add("stages config should be an array of strings")
		} else {
			stages = list
		}
	}
	p.stages = []string{".pre"}
	p.stageIdx = map[string]int{".pre": 0}
	for _, s := range stages {
		if _, dup := p.stageIdx[s]; !dup && s != ".post" {
			p.stageIdx[s] = len(p.stages)
			p.stages = append(p.stages, s)
		}
	}
	p.stageIdx[".post"] = len(p.stages)
	p.stages = append(p.stages, ".post")
	if v := p.root.get("variables"); v != nil {
		p.vars = parseVariables(v, "variables", &p.probs)
	}
	for i, k := range p.root.keys {
		v := p.root.vals[i]
		switch {
		case reservedKeys[k] || strings.HasPrefix(k, "."):
		case k == "":
			p.probs.add("jobs config contains a job with an empty name")
		case v.kind != kindMap:
			p.probs.add("root config contains unknown keys: %s", k)
		}
	}
	if d := p.root.get("default"); d != nil && d.kind != kindMap && d.kind != kindNull {
		p.probs.add("default config should be a hash")
	}
	if d := p.root.get("default"); d != nil && d.kind == kindMap {
		if bad := unknownKeys(d, defaultKeys); bad != "" {
			p.probs.add("default config contains unknown keys: %s", bad)
		}
	}
}

// defaults returns the default: section with the legacy top-level keys
// (image, services, before_script, after_script, cache) underneath it.
func (p *planner) defaults() *node {
	var keys []string
	var vals []*node
	for _, k := range []string{"image", "services", "before_script", "after_script", "cache"} {
		if v := p.root.get(k); v != nil {
			keys = append(keys, k)
			vals = append(vals, v)
		}
	}
	legacy := newMap(0, keys, vals)
	d := p.root.get("default")
	if d == nil || d.kind != kindMap {
		return legacy
	}
	keys, vals = nil, nil
	for i, k := range d.keys {
		if defaultKeys[k] { // unknown keys are reported by parseGlobals
			keys = append(keys, k)
			vals = append(vals, d.vals[i])
		}
	}
	return overlay(legacy, newMap(d.line, keys, vals), false)
}

var defaultKeys = map[string]bool{
	"after_script": true, "artifacts": true, "before_script": true, "cache": true, "hooks": true,
	"id_tokens": true, "image": true, "interruptible": true, "retry": true, "services": true,
	"tags": true, "timeout": true,
}

// unknownKeys lists, comma-separated, the keys of map n not in allowed.
func unknownKeys(n *node, allowed map[string]bool) string {
	var bad []string
	for _, k := range n.keys {
		if !allowed[k] {
			if len(bad) == 10 {
				bad = append(bad, "...")
				break
			}
			bad = append(bad, clip(k))
		}
	}
	return strings.Join(bad, ", ")
}

// env returns the variables expressions see: file variables overlaid with
// the pipeline's variables.
func (p *planner) env(fileVars ...[]ci.Variable) map[string]string {
	env := make(map[string]string, len(p.in.Variables)+len(p.vars))
	for _, vs := range fileVars {
		for _, v := range vs {
			env[v.Key] = v.Value
		}
	}
	for k, v := range p.in.Variables {
		env[k] = v
	}
	return env
}

func (p *planner) stageIndex(stage string) int {
	if i, ok := p.stageIdx[stage]; ok {
		return i
	}
	return -1
}

func (p *planner) setRoot(root *node) {
	p.root = root
	p.rootIdx = make(map[string]*node, len(root.keys))
	for i, k := range root.keys {
		p.rootIdx[k] = root.vals[i]
	}
}

// resolveReferences replaces the !reference tags of the configuration with
// extends resolved, in p.root and p.allDefs.
func (p *planner) resolveReferences() error {
	vals := make([]*node, len(p.root.vals))
	for i, k := range p.root.keys {
		vals[i] = p.root.vals[i]
		if d, ok := p.allDefs[k]; ok && d != nil {
			vals[i] = d
		}
	}
	resolved, err := resolveReferences(newMap(p.root.line, p.root.keys, vals))
	if err != nil {
		return err
	}
	p.setRoot(resolved)
	for k := range p.allDefs {
		p.allDefs[k] = p.rootIdx[k]
	}
	return nil
}
