package ciconfig

import (
	"fmt"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/batonci/baton/internal/ci"
)

// rule is one entry of rules: (or workflow:rules).
type rule struct {
	cond          expression // nil matches
	when          string     // "" keeps the job's when
	allowFailure  *bool
	interruptible *bool
	vars          []ci.Variable
	exists        *existsClause
	changes       *changesClause
	needs         []ci.Need
	hasNeeds      bool
	startIn       int // seconds, with when: delayed
}

var jobRuleKeys = map[string]bool{"if": true, "changes": true, "exists": true, "when": true,
	"allow_failure": true, "variables": true, "needs": true, "start_in": true, "interruptible": true}

var workflowRuleKeys = map[string]bool{"if": true, "changes": true, "exists": true, "when": true,
	"variables": true, "auto_cancel": true}

// parseRules reads a rules: array. job selects the job vocabulary; without
// it the workflow vocabulary (when: always or never) applies.
func (p *planner) parseRules(n *node, where string, probs *problems, job bool) []rule {
	if n.kind != kindSeq {
		probs.add("%s config should be an array of hashes", where)
		return nil
	}
	items := flattenSeq(n.items, maxDepth) // nested arrays from !reference or anchors
	allowed := workflowRuleKeys
	if job {
		allowed = jobRuleKeys
	}
	out := make([]rule, 0, len(items))
	for _, it := range items {
		kw := where + ":rule"
		if it.kind != kindMap {
			probs.add("%s config should be a hash", kw)
			continue
		}
		if bad := unknownKeys(it, allowed); bad != "" {
			probs.add("%s config contains unknown keys: %s", kw, bad)
			continue
		}
		var r rule
		if c := it.get("if"); c != nil {
			src, ok := scalarString(c)
			if !ok {
				probs.add("%s if should be a string", kw)
				continue
			}
			e, err := parseExpression(src)
			if err != nil {
				probs.add("%s if invalid expression syntax (%q): %v", kw, clip(src), err)
				continue
			}
			r.cond = e
		}
		if w := it.get("when"); w != nil {
			r.when, _ = scalarString(w)
			switch {
			case job && indexOf([]string{"on_success", "on_failure", "always", "manual", "delayed", "never"}, r.when) < 0:
				probs.add("%s when unknown value: %s", kw, r.when)
			case !job && r.when != "always" && r.when != "never":
				probs.add("%s when unknown value: %s", kw, r.when)
			}
		}
		if a := it.get("allow_failure"); a != nil {
			b, ok := boolValueOf(a)
			if !ok {
				probs.add("%s allow_failure should be a boolean value", kw)
			}
			r.allowFailure = &b
		}
		if a := it.get("interruptible"); a != nil {
			b, ok := boolValueOf(a)
			if !ok {
				probs.add("%s interruptible should be a boolean value", kw)
			}
			r.interruptible = &b
		}
		if v := it.get("variables"); v != nil {
			r.vars = parseVariables(v, kw+":variables", probs)
		}
		if nd := it.get("needs"); nd != nil {
			r.needs, r.hasNeeds = parseNeeds(nd, kw+":needs", probs), true
		}
		switch {
		case it.has("start_in") && r.when != ci.WhenDelayed:
			probs.add("%s start_in must be blank when not delayed", kw)
		case r.when == ci.WhenDelayed:
			r.startIn = parseStartIn(it.get("start_in"), kw, probs)
		}
		if ex := it.get("exists"); ex != nil {
			r.exists = parseExists(ex, kw, probs)
		}
		if ch := it.get("changes"); ch != nil {
			r.changes = parseChanges(ch, kw, probs)
		}
		out = append(out, r)
	}
	return out
}

// firstMatch returns the first rule whose if: holds, whose changes: name
// a changed file and whose exists: finds a file; nil when none does.
func (p *planner) firstMatch(rules []rule, env map[string]string) (*rule, error) {
	for i := range rules {
		r := &rules[i]
		if r.cond != nil && !r.cond.eval(env).truthy() {
			continue
		}
		if r.changes != nil {
			ok, err := p.changed(r.changes, env)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
		}
		if r.exists != nil {
			ok, err := p.exists(r.exists, env)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
		}
		return r, nil
	}
	return nil, nil
}

// evalWorkflow applies workflow:rules: no match or when: never filters the
// pipeline out; the matching rule's variables become global variables.
func (p *planner) evalWorkflow() error {
	wf := p.root.get("workflow")
	if wf == nil || wf.kind == kindNull {
		return nil
	}
	if wf.kind != kindMap {
		return &ConfigError{Errors: []string{"workflow config should be a hash"}}
	}
	if bad := unknownKeys(wf, map[string]bool{"rules": true, "name": true, "auto_cancel": true}); bad != "" {
		return &ConfigError{Errors: []string{"workflow config contains unknown keys: " + bad}}
	}
	var name string
	if nn := wf.get("name"); nn != nil && nn.kind != kindNull {
		s, ok := scalarString(nn)
		if !ok {
			return &ConfigError{Errors: []string{"workflow name should be a string"}}
		}
		if len(s) > maxPipelineName {
			return &ConfigError{Errors: []string{fmt.Sprintf("workflow name is too long (maximum is %d characters)", maxPipelineName)}}
		}
		name = s
	}
	if rn := wf.get("rules"); rn != nil && rn.kind != kindNull {
		var probs problems
		rules := p.parseRules(rn, "workflow:rules", &probs, false)
		if err := probs.err(); err != nil {
			return err
		}
		r, err := p.firstMatch(rules, p.env(p.vars))
		if err != nil {
			return err
		}
		if r == nil || r.when == "never" {
			return ErrFilteredByWorkflow
		}
		p.vars = mergeVariables(p.vars, r.vars)
	}
	// The name sees the workflow rule's variables, as in GitLab.
	p.name = expandName(name, p.env(p.vars))
	return nil
}

// maxPipelineName is GitLab's limit on workflow:name.
const maxPipelineName = 255

// expandName expands $VAR and ${VAR} in a workflow:name with env; unknown
// variables expand to nothing, as in GitLab. The result is cut to
// maxPipelineName bytes (on a rune boundary).
func expandName(name string, env map[string]string) string {
	if !strings.Contains(name, "$") {
		return name
	}
	out := os.Expand(name, func(k string) string { return env[k] })
	for len(out) > maxPipelineName {
		_, size := utf8.DecodeLastRuneInString(out)
		out = out[:len(out)-size]
	}
	return out
}

// expandEnvironment expands $VAR in the job's environment name and url
// (unknown variables expand to nothing) and sets Environment to the name.
func expandEnvironment(s *ci.JobSpec, env map[string]string) {
	e := *s.Deploy
	e.Name = expandName(e.Name, env)
	if strings.Contains(e.URL, "$") {
		e.URL = os.Expand(e.URL, func(k string) string { return env[k] })
	}
	s.Deploy, s.Environment = &e, e.Name
}

// selectJobs evaluates each job's rules or only/except and returns the
// specs of the jobs that run, with variables and rule outcomes applied.
func (p *planner) selectJobs() ([]*jobDef, error) {
	var out []*jobDef
	regular := false
	for _, j := range p.jobs {
		// Every job's rules see the global variables: bound the total work.
		if p.work = capAdd(p.work, len(p.vars)+len(j.vars)+len(p.in.Variables)); p.work > maxTotalWork {
			return nil, &ConfigError{Errors: []string{"the configuration is too large: too many jobs times variables"}}
		}
		var global []ci.Variable
		var inherited []string
		limited := false
		for _, v := range p.vars {
			if j.inheritVars(v.Key) {
				global = append(global, v)
				inherited = append(inherited, v.Key)
			} else {
				limited = true
			}
		}
		// The job's own predefined variables (CI_JOB_NAME, ...) are the
		// lowest layer, as in GitLab; a parallel job's rules run before its
		// expansion, so they see no name or index.
		name, total := j.name, 1
		if n := max(j.parallel, len(j.matrix)); n > 0 {
			name, total = "", n
		}
		env := p.env(ci.PlannedJobVariables(name, j.spec.Stage, 0, total), global, j.vars)
		sel := *j
		s := &sel.spec
		// The global variables stay in the plan's PipelineSpec, stored once
		// per pipeline; the job keeps its own and which globals it inherits.
		s.Variables = mergeVariables(nil, j.vars)
		if limited {
			s.LimitInherit, s.InheritVariables = true, inherited
		}
		if j.hasRules {
			r, err := p.firstMatch(j.rules, env)
			if err != nil {
				return nil, err
			}
			if r == nil || r.when == "never" {
				continue
			}
			if r.when != "" {
				s.When, s.StartIn = r.when, r.startIn
			}
			if r.allowFailure != nil {
				s.AllowFailure, s.AllowFailureExitCodes = *r.allowFailure, nil
			}
			if r.interruptible != nil {
				s.Interruptible = *r.interruptible
			}
			if r.hasNeeds {
				s.Needs, s.HasNeeds = r.needs, true
			}
			s.Variables = mergeVariables(s.Variables, r.vars)
		} else if ok, err := p.refsAllow(j, env); err != nil {
			return nil, err
		} else if !ok {
			continue
		}
		if s.When == "never" {
			continue
		}
		if s.Deploy != nil || strings.Contains(s.ResourceGroup, "$") {
			// GitLab expands environment:name and url, and resource_group,
			// when it creates the pipeline, with the variables the job's
			// rules saw (the environment's name too, for resource_group).
			env := p.env(global, s.Variables)
			if s.Deploy != nil {
				expandEnvironment(s, env)
				env["CI_ENVIRONMENT_NAME"] = s.Deploy.Name
			}
			s.ResourceGroup = expandName(s.ResourceGroup, env)
		}
		if len(j.unsupported) > 0 {
			// Only a job the pipeline would run must be one Baton can run.
			return nil, &ConfigError{Errors: j.unsupported}
		}
		if s.Stage != ".pre" && s.Stage != ".post" {
			regular = true
		}
		out = append(out, &sel)
	}
	if !regular {
		return nil, ErrNoJobs
	}
	return out, nil
}
