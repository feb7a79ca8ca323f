package ciconfig

import (
	"fmt"
	"strings"

	"github.com/batonci/baton/internal/ci"
)

// jobDef is one job of the file after extends and default, before rules
// and parallel expansion.
type jobDef struct {
	name            string
	spec            ci.JobSpec
	vars            []ci.Variable // the job's own variables
	inheritVars     func(key string) bool
	allowFailureSet bool
	rules           []rule
	hasRules        bool
	only, except    *refPolicy
	parallel        int
	matrix          [][]ci.Variable // one entry per parallel:matrix instance
	// unsupported names keywords Baton cannot honour (trigger, release,
	// run): an error only if the pipeline would run the job.
	unsupported []string
}

var jobKeys = map[string]bool{
	"script": true, "before_script": true, "after_script": true, "stage": true, "image": true,
	"services": true, "variables": true, "when": true, "allow_failure": true, "needs": true,
	"dependencies": true, "artifacts": true, "tags": true, "timeout": true, "retry": true,
	"parallel": true, "rules": true, "only": true, "except": true, "cache": true,
	"environment": true, "coverage": true, "interruptible": true, "resource_group": true,
	"id_tokens": true, "secrets": true, "inherit": true, "start_in": true, "hooks": true,
	"pages": true, "identity": true, "manual_confirmation": true, "dast_configuration": true,
	"description": true, "extends": true, "trigger": true, "release": true, "run": true,
	"publish": true,
}

// unsupportedJobKeys are valid GitLab keywords Baton cannot honour; they are
// rejected rather than silently ignored.
var unsupportedJobKeys = map[string]string{
	"run": "CI/CD steps are not supported",
}

// parseJobs turns every non-hidden top-level hash into a jobDef.
func (p *planner) parseJobs() {
	p.byName = map[string]*jobDef{}
	defaults := p.defaults()
	for i, name := range p.root.keys {
		raw := p.root.vals[i]
		if reservedKeys[name] || strings.HasPrefix(name, ".") || name == "" || raw.kind != kindMap {
			continue
		}
		n := p.allDefs[name]
		if n == nil {
			continue // extends failed; already reported
		}
		if j := p.parseJob(name, n, defaults); j != nil {
			p.jobs = append(p.jobs, j)
			p.byName[name] = j
		}
	}
}

func (p *planner) parseJob(name string, n *node, defaults *node) *jobDef {
	where := "jobs:" + name
	before := len(p.probs.list)
	bridge := n.has("trigger")
	allowed := jobKeys
	if bridge {
		allowed = bridgeKeys
	}
	if bad := unknownKeys(n, allowed); bad != "" {
		p.probs.add("%s config contains unknown keys: %s", where, bad)
	}
	var unsupported []string
	for _, k := range n.keys {
		if why, ok := unsupportedJobKeys[k]; ok {
			unsupported = append(unsupported, fmt.Sprintf("%s:%s is not supported by Baton: %s", where, k, why))
		}
	}
	j := &jobDef{name: name, spec: ci.JobSpec{Name: name, Stage: "test", When: "on_success"}, unsupported: unsupported}
	inheritDefault, inheritVars := p.parseInherit(n.get("inherit"), where)
	j.inheritVars = inheritVars
	// default: keys apply where the job does not set them.
	var dkeys []string
	var dvals []*node
	for i, k := range defaults.keys {
		if !n.has(k) && inheritDefault(k) && !bridge { // default: does not apply to trigger jobs
			dkeys, dvals = append(dkeys, k), append(dvals, defaults.vals[i])
		}
	}
	if dkeys != nil {
		n = newMap(n.line, append(append([]string(nil), n.keys...), dkeys...), append(append([]*node(nil), n.vals...), dvals...))
	}
	if !n.has("script") && !n.has("trigger") && !n.has("run") {
		p.probs.add("%s config should implement a script: or a trigger: keyword", where)
	}
	s := &j.spec
	for i, k := range n.keys {
		v := n.vals[i]
		if v.kind == kindNull && k != "script" {
			continue // an empty key means "not set", as in GitLab
		}
		kw := where + ":" + k
		switch k {
		case "script", "before_script", "after_script":
			list, ok := stringList(v, 10)
			switch {
			case !ok:
				p.probs.add("%s config should be a string or a nested array of strings up to 10 levels deep", kw)
			case k == "script" && len(list) == 0:
				p.probs.add("%s config can't be blank", kw)
			case k == "script":
				s.Script = list
			case k == "before_script":
				s.BeforeScript = list
			default:
				s.AfterScript = list
			}
		case "stage":
			if st, ok := scalarString(v); ok && st != "" {
				s.Stage = st
			} else {
				p.probs.add("%s config should be a string", kw)
			}
		case "image":
			s.Image = parseImage(v, kw, false, &p.probs)
		case "services":
			s.Services = parseServices(v, kw, &p.probs)
		case "variables":
			j.vars = parseVariables(v, kw, &p.probs)
		case "when":
			w, _ := scalarString(v)
			switch w {
			case "on_success", "on_failure", "always", "manual", "never", "delayed":
				s.When = w
			default:
				p.probs.add("%s config should be one of: on_success, on_failure, always, manual, delayed, never", kw)
			}
		case "allow_failure":
			j.allowFailureSet = true
			s.AllowFailure, s.AllowFailureExitCodes = parseAllowFailure(v, kw, &p.probs)
		case "needs":
			s.Needs = parseNeeds(v, kw, &p.probs)
			s.HasNeeds = true
		case "dependencies":
			deps, ok := stringList(v, 0)
			if !ok {
				p.probs.add("%s config should be an array of strings", kw)
			}
			s.Dependencies, s.HasDependencies = deps, ok
		case "artifacts":
			s.Artifacts = parseArtifacts(v, kw, &p.probs)
		case "tags":
			tags, ok := stringList(v, 1)
			if !ok {
				p.probs.add("%s config should be an array of strings", kw)
			}
			s.Tags = tags
		case "timeout":
			s.Timeout = parseTimeout(v, kw, &p.probs)
		case "retry":
			s.Retry = parseRetry(v, kw, &p.probs)
		case "parallel":
			j.parallel, j.matrix = parseParallel(v, kw, &p.probs)
		case "rules":
			j.rules = p.parseRules(v, kw, &p.probs, true)
			j.hasRules = true
		case "only", "except":
			pol := p.parseRefPolicy(v, kw)
			if k == "only" {
				j.only = pol
			} else {
				j.except = pol
			}
		case "interruptible":
			b, ok := boolValueOf(v)
			if !ok {
				p.probs.add("%s config should be a boolean value", kw)
			}
			s.Interruptible = b
		case "trigger":
			s.Trigger = parseTrigger(v, kw, &p.probs)
		case "environment":
			s.Deploy = parseEnvironment(v, kw, &p.probs)
			if s.Deploy != nil {
				s.Environment = s.Deploy.Name
			}
		case "coverage":
			// Checked here, as GitLab does, not first when the job
			// finishes and its log is scanned (ci.CoverageRegexp).
			c, ok := scalarString(v)
			if _, err := ci.CoverageRegexp(c); !ok || err != nil {
				p.probs.add("%s config should be a regular expression", kw)
			}
			s.Coverage = c
		case "release":
			s.Release = parseRelease(v, kw, &p.probs)
		case "resource_group":
			switch g, ok := scalarString(v); {
			case !ok:
				p.probs.add("%s config should be a string", kw)
			case g == "" || len(g) > ci.MaxResourceGroupKey || strings.ContainsAny(g, "\n\r"):
				p.probs.add("%s config should be a single line of 1 to %d characters", kw, ci.MaxResourceGroupKey)
			default:
				s.ResourceGroup = g
			}
		case "description":
			if _, ok := scalarString(v); !ok {
				p.probs.add("%s config should be a string", kw)
			}
		case "id_tokens", "secrets", "hooks", "inherit", "identity", "dast_configuration":
			if v.kind != kindMap && k != "identity" {
				p.probs.add("%s config should be a hash", kw)
			}
		case "cache":
			s.Cache = parseCache(v, kw, &p.probs)
		}
	}
	if j.hasRules && (j.only != nil || j.except != nil) {
		p.probs.add("%s config key may not be used with `rules`: only, except", where)
	}
	switch {
	case n.has("start_in") && (s.When != ci.WhenDelayed || j.hasRules):
		p.probs.add("%s:start_in config must be blank when not a delayed job", where)
	case s.When == ci.WhenDelayed:
		s.StartIn = parseStartIn(n.get("start_in"), where, &p.probs)
	}
	if p.stageIndex(s.Stage) < 0 {
		p.probs.add("%s:stage parameter should be %s", where, strings.Join(p.stages, ", "))
	}
	if s.When == "manual" && !j.allowFailureSet && !j.hasRules {
		s.AllowFailure = true // GitLab: manual jobs do not block the pipeline by default
	}
	if len(p.probs.list) > before {
		return nil
	}
	return j
}

// parseInherit reads inherit: {default: bool|[keys], variables: bool|[names]}.
func (p *planner) parseInherit(n *node, where string) (defaults, vars func(string) bool) {
	all := func(string) bool { return true }
	defaults, vars = all, all
	if n == nil || n.kind == kindNull {
		return defaults, vars
	}
	if n.kind != kindMap {
		p.probs.add("%s:inherit config should be a hash", where)
		return defaults, vars
	}
	if bad := unknownKeys(n, map[string]bool{"default": true, "variables": true}); bad != "" {
		p.probs.add("%s:inherit config contains unknown keys: %s", where, bad)
	}
	pick := func(key string) func(string) bool {
		v := n.get(key)
		if v == nil {
			return all
		}
		if b, ok := boolValueOf(v); ok {
			return func(string) bool { return b }
		}
		list, ok := stringList(v, 0)
		if !ok || v.kind != kindSeq {
			p.probs.add("%s:inherit:%s config should be a boolean value or an array of strings", where, key)
			return all
		}
		return func(k string) bool { return indexOf(list, k) >= 0 }
	}
	return pick("default"), pick("variables")
}

// parseEnvironment reads environment: as a name or a hash (name, url,
// action, on_stop, auto_stop_in, deployment_tier); nil if invalid.
func parseEnvironment(n *node, where string, probs *problems) *ci.EnvironmentSpec {
	if s, ok := scalarString(n); ok {
		if s == "" {
			probs.add("%s:name can't be blank", where)
			return nil
		}
		return &ci.EnvironmentSpec{Name: s}
	}
	if n.kind != kindMap {
		probs.add("%s config should be a hash or a string", where)
		return nil
	}
	allowed := map[string]bool{"name": true, "url": true, "action": true, "on_stop": true,
		"auto_stop_in": true, "kubernetes": true, "deployment_tier": true}
	if bad := unknownKeys(n, allowed); bad != "" {
		probs.add("%s config contains unknown keys: %s", where, bad)
	}
	e := &ci.EnvironmentSpec{}
	if !stringFields(n, where, probs, stringField{"name", &e.Name}, stringField{"url", &e.URL}, stringField{"action", &e.Action},
		stringField{"on_stop", &e.OnStop}, stringField{"auto_stop_in", &e.AutoStopIn}, stringField{"deployment_tier", &e.Tier}) {
		return nil
	}
	switch {
	case e.Name == "":
		probs.add("%s:name can't be blank", where)
	case len(e.Name) > ci.MaxEnvironmentName:
		probs.add("%s:name is too long (maximum is %d characters)", where, ci.MaxEnvironmentName)
	case e.Action != "" && indexOf(ci.EnvironmentActions, e.Action) < 0:
		probs.add("%s:action config should be %s", where, strings.Join(ci.EnvironmentActions, ", "))
	case e.Tier != "" && indexOf(ci.DeploymentTiers, e.Tier) < 0:
		probs.add("%s:deployment_tier config must be one of %s", where, strings.Join(ci.DeploymentTiers, ", "))
	case e.AutoStopIn != "" && e.AutoStopIn != "never" && !validDuration(e.AutoStopIn):
		probs.add("%s:auto_stop_in config should be a duration", where)
	default:
		return e
	}
	return nil
}

func validDuration(s string) bool {
	_, err := parseDuration(s)
	return err == nil
}

// maxReleaseLinks bounds release:assets:links (GitLab's limit per release).
const maxReleaseLinks = 50

// parseRelease reads release: (tag_name, tag_message, name, description,
// ref, milestones, released_at, assets:links); nil if invalid.
func parseRelease(n *node, where string, probs *problems) *ci.ReleaseSpec {
	if n.kind != kindMap {
		probs.add("%s config should be a hash", where)
		return nil
	}
	if bad := unknownKeys(n, map[string]bool{"tag_name": true, "tag_message": true, "name": true, "description": true,
		"ref": true, "milestones": true, "released_at": true, "assets": true}); bad != "" {
		probs.add("%s config contains unknown keys: %s", where, bad)
		return nil
	}
	r := &ci.ReleaseSpec{}
	before := len(probs.list)
	stringFields(n, where, probs, stringField{"tag_name", &r.TagName}, stringField{"name", &r.Name},
		stringField{"description", &r.Description}, stringField{"ref", &r.Ref}, stringField{"released_at", &r.ReleasedAt})
	if r.TagName == "" {
		probs.add("%s:tag_name config can't be blank", where)
	}
	if a := n.get("assets"); a != nil && a.kind != kindNull {
		r.Links = parseReleaseLinks(a, where+":assets", probs)
	}
	if len(probs.list) > before {
		return nil
	}
	return r
}

func parseReleaseLinks(a *node, where string, probs *problems) []ci.ReleaseLinkSpec {
	if a.kind != kindMap {
		probs.add("%s config should be a hash", where)
		return nil
	}
	if bad := unknownKeys(a, map[string]bool{"links": true}); bad != "" {
		probs.add("%s config contains unknown keys: %s", where, bad)
		return nil
	}
	links := a.get("links")
	if links == nil || links.kind != kindSeq || len(links.items) == 0 {
		probs.add("%s:links config should be an array of hashes", where)
		return nil
	}
	if len(links.items) > maxReleaseLinks {
		probs.add("%s:links config has too many entries (maximum is %d)", where, maxReleaseLinks)
		return nil
	}
	var out []ci.ReleaseLinkSpec
	for _, l := range links.items {
		if l.kind != kindMap {
			probs.add("%s:links config should be an array of hashes", where)
			return nil
		}
		if bad := unknownKeys(l, map[string]bool{"name": true, "url": true, "link_type": true, "filepath": true,
			"direct_asset_path": true}); bad != "" {
			probs.add("%s:links:link config contains unknown keys: %s", where, bad)
			return nil
		}
		var spec ci.ReleaseLinkSpec
		if !stringFields(l, where+":links:link", probs, stringField{"name", &spec.Name}, stringField{"url", &spec.URL},
			stringField{"link_type", &spec.LinkType}, stringField{"filepath", &spec.Filepath}, stringField{"direct_asset_path", &spec.Filepath}) {
			return nil
		}
		if spec.Name == "" || spec.URL == "" {
			probs.add("%s:links:link config requires name and url", where)
			return nil
		}
		if spec.LinkType != "" && indexOf(ci.ReleaseLinkTypes, spec.LinkType) < 0 {
			probs.add("%s:links:link:link_type config should be one of %s", where, strings.Join(ci.ReleaseLinkTypes, ", "))
			return nil
		}
		out = append(out, spec)
	}
	return out
}

// checkOnStop applies GitLab's checks of environment:on_stop: the job it
// names exists, deploys to the same environment (names as written) and
// stops it.
func (p *planner) checkOnStop() {
	for _, j := range p.jobs {
		e := j.spec.Deploy
		if e == nil || e.OnStop == "" {
			continue
		}
		stop := p.byName[e.OnStop]
		switch {
		case stop == nil:
			p.probs.add("%s job: on_stop job %s is not defined", j.name, e.OnStop)
		case stop.spec.Deploy == nil:
			p.probs.add("%s job: on_stop job %s does not have environment defined", j.name, e.OnStop)
		case stop.spec.Deploy.Name != e.Name:
			p.probs.add("%s job: on_stop job %s have different environment name", j.name, e.OnStop)
		case stop.spec.Deploy.Action != ci.EnvActionStop:
			p.probs.add("%s job: on_stop job %s needs to have action stop defined", j.name, e.OnStop)
		}
	}
}
