package ciconfig

import (
	"strings"
)

// refPolicy is a job's only: or except:.
type refPolicy struct {
	refs    []string
	hasRefs bool
	vars    []expression
	hasVars bool
	changes *changesClause
}

// parseRefPolicy reads only:/except: as an array of refs or a hash with
// refs, variables, changes and kubernetes.
func (p *planner) parseRefPolicy(n *node, where string) *refPolicy {
	pol := &refPolicy{}
	refsNode := n
	if n.kind == kindMap {
		allowed := map[string]bool{"refs": true, "variables": true, "changes": true, "kubernetes": true}
		if bad := unknownKeys(n, allowed); bad != "" {
			p.probs.add("%s config contains unknown keys: %s", where, bad)
			return pol
		}
		refsNode = n.get("refs")
		if vn := n.get("variables"); vn != nil {
			list, ok := stringList(vn, 0)
			if !ok {
				p.probs.add("%s:variables config should be an array of strings", where)
			}
			for _, src := range list {
				e, err := parseExpression(src)
				if err != nil {
					p.probs.add("%s:variables invalid expression syntax (%q): %v", where, clip(src), err)
					continue
				}
				pol.vars = append(pol.vars, e)
			}
			pol.hasVars = true
		}
		if cn := n.get("changes"); cn != nil {
			pol.changes = parseChanges(cn, where, &p.probs)
		}
	}
	if refsNode != nil {
		list, ok := stringList(refsNode, 0)
		if !ok {
			p.probs.add("%s config should be an array of strings or regular expressions", where)
		}
		for _, r := range list {
			if strings.HasPrefix(r, "/") {
				lit, _ := splitRefPattern(r)
				if _, err := compilePattern(lit); err != nil {
					p.probs.add("%s config should be an array of strings or regular expressions: %v", where, err)
				}
			}
		}
		pol.refs, pol.hasRefs = list, true
	}
	return pol
}

// splitRefPattern splits "pattern@group/project" into its two parts.
func splitRefPattern(r string) (pattern, project string) {
	if strings.HasPrefix(r, "/") {
		if lit, n := lexPattern(r); n > 0 {
			return lit, strings.TrimPrefix(r[n:], "@")
		}
		return r, ""
	}
	if i := strings.LastIndexByte(r, '@'); i > 0 {
		return r[:i], r[i+1:]
	}
	return r, ""
}

// refsAllow reports whether only:/except: let job j into the pipeline.
// Without only:, a job runs for branches and tags (GitLab's default).
// only:changes and except:changes count as changed in a pipeline without
// a diff, as in GitLab: the job runs, or is excluded.
func (p *planner) refsAllow(j *jobDef, env map[string]string) (bool, error) {
	only := j.only
	if only == nil {
		only = &refPolicy{refs: []string{"branches", "tags"}, hasRefs: true}
	}
	if only.hasRefs && !p.anyRef(only.refs) {
		return false, nil
	}
	if only.hasVars && !anyTrue(only.vars, env) {
		return false, nil
	}
	if only.changes != nil {
		if ok, err := p.changed(only.changes, env); err != nil || !ok {
			return false, err
		}
	}
	if ex := j.except; ex != nil {
		if ex.hasRefs && p.anyRef(ex.refs) {
			return false, nil
		}
		if ex.hasVars && anyTrue(ex.vars, env) {
			return false, nil
		}
		if ex.changes != nil {
			if ok, err := p.changed(ex.changes, env); err != nil || ok {
				return false, err
			}
		}
	}
	return true, nil
}

func anyTrue(exprs []expression, env map[string]string) bool {
	for _, e := range exprs {
		if e.eval(env).truthy() {
			return true
		}
	}
	return false
}

func (p *planner) anyRef(refs []string) bool {
	for _, r := range refs {
		if p.refMatches(r) {
			return true
		}
	}
	return false
}

// refSources maps only:/except: keywords to pipeline sources.
var refSources = map[string][]string{
	"api": {"api"}, "external": {"external"}, "pipelines": {"pipeline", "parent_pipeline"},
	"pushes": {"push"}, "schedules": {"schedule"}, "triggers": {"trigger"}, "web": {"web"},
	"merge_requests": {"merge_request_event"}, "chat": {"chat"},
	"external_pull_requests": {"external_pull_request_event"},
}

func (p *planner) refMatches(r string) bool {
	v := p.in.Variables
	source := v["CI_PIPELINE_SOURCE"]
	if source == "" {
		source = "push"
	}
	isTag := v["CI_COMMIT_TAG"] != ""
	// "pattern@group/project" holds only in that project; the pattern is
	// then read as any other (a keyword such as branches, a name or a
	// regular expression), as GitLab does for "branches@gitlab-org/gitlab".
	pattern, project := splitRefPattern(r)
	if project != "" && project != v["CI_PROJECT_PATH"] {
		return false
	}
	switch pattern {
	case "branches":
		return !isTag && source != "merge_request_event" && source != "external_pull_request_event"
	case "tags":
		return isTag
	}
	if sources, ok := refSources[pattern]; ok {
		return indexOf(sources, source) >= 0
	}
	ref := v["CI_COMMIT_REF_NAME"]
	if ref == "" {
		ref = v["CI_COMMIT_TAG"] + v["CI_COMMIT_BRANCH"]
	}
	if strings.HasPrefix(pattern, "/") {
		re, err := compilePattern(pattern)
		return err == nil && re.MatchString(ref)
	}
	return pattern == ref
}
