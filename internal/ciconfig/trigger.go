package ciconfig

import (
	"strings"

	"github.com/batonci/baton/internal/ci"
)

// bridgeKeys are the keywords a trigger job may use (GitLab's Bridge entry:
// trigger plus the processable keywords); any other key is an error.
var bridgeKeys = map[string]bool{
	"trigger": true, "stage": true, "allow_failure": true, "only": true, "except": true, "when": true,
	"extends": true, "variables": true, "needs": true, "rules": true, "inherit": true,
	"resource_group": true, "environment": true, "description": true, "parallel": true,
}

var triggerKeys = map[string]bool{"include": true, "project": true, "branch": true, "strategy": true, "forward": true}

// maxTriggerIncludes is GitLab's limit on a child pipeline's configuration files.
const maxTriggerIncludes = 3

// parseTrigger reads a job's trigger: a project path (string), or a hash
// with include (child pipeline) or project/branch (multi-project), strategy
// and forward.
func parseTrigger(n *node, where string, probs *problems) *ci.TriggerSpec {
	t := &ci.TriggerSpec{ForwardYAMLVariables: true}
	if s, ok := scalarString(n); ok {
		if s == "" {
			probs.add("%s config can't be blank", where)
			return nil
		}
		t.Project = s
		return t
	}
	if n.kind != kindMap {
		probs.add("%s config should be a hash or a string", where)
		return nil
	}
	before := len(probs.list)
	if bad := unknownKeys(n, triggerKeys); bad != "" {
		probs.add("%s config contains unknown keys: %s", where, bad)
	}
	hasInclude, hasProject := n.has("include"), n.has("project")
	switch {
	case hasInclude && hasProject:
		probs.add("%s config must specify either project or include, not both", where)
	case !hasInclude && !hasProject:
		probs.add("%s config must specify project or include", where)
	case hasProject:
		if s, ok := scalarString(n.get("project")); ok && s != "" {
			t.Project = s
		} else {
			probs.add("%s:project config should be a string", where)
		}
	}
	if b := n.get("branch"); b != nil {
		s, ok := scalarString(b)
		switch {
		case !ok:
			probs.add("%s:branch config should be a string", where)
		case !hasProject:
			probs.add("%s:branch config is only valid with project", where)
		default:
			t.Branch = s
		}
	}
	if hasInclude {
		t.Include = parseTriggerIncludes(n.get("include"), where+":include", probs)
	}
	if s := n.get("strategy"); s != nil {
		v, _ := scalarString(s)
		if v != "depend" {
			probs.add("%s:strategy config should be depend", where)
		}
		t.Depend = true
	}
	if f := n.get("forward"); f != nil {
		if f.kind != kindMap {
			probs.add("%s:forward config should be a hash", where)
		} else {
			if bad := unknownKeys(f, map[string]bool{"yaml_variables": true, "pipeline_variables": true}); bad != "" {
				probs.add("%s:forward config contains unknown keys: %s", where, bad)
			}
			for _, fw := range []struct { // in order: problems are listed as found
				key string
				dst *bool
			}{{"yaml_variables", &t.ForwardYAMLVariables}, {"pipeline_variables", &t.ForwardPipelineVariables}} {
				if v := f.get(fw.key); v != nil {
					b, ok := boolValueOf(v)
					if !ok {
						probs.add("%s:forward:%s config should be a boolean value", where, fw.key)
					}
					*fw.dst = b
				}
			}
		}
	}
	if len(probs.list) > before {
		return nil
	}
	return t
}

// parseTriggerIncludes reads trigger:include: a local path, or a list of
// paths and hashes (local; project, file, ref; artifact, job).
func parseTriggerIncludes(n *node, where string, probs *problems) []ci.TriggerInclude {
	var items []*node
	switch n.kind {
	case kindSeq:
		items = n.items
	case kindMap, kindScalar:
		items = []*node{n}
	default:
		probs.add("%s config should be a string, a hash or an array", where)
		return nil
	}
	if len(items) == 0 {
		probs.add("%s config can't be blank", where)
		return nil
	}
	if len(items) > maxTriggerIncludes {
		probs.add("%s config must include at most %d files", where, maxTriggerIncludes)
		return nil
	}
	var out []ci.TriggerInclude
	for _, it := range items {
		if s, ok := scalarString(it); ok && it.kind == kindScalar {
			if s == "" {
				probs.add("%s config can't be blank", where)
				continue
			}
			it = newMap(it.line, []string{"local"}, []*node{it})
		}
		if it.kind != kindMap {
			probs.add("%s config should be a string or a hash", where)
			continue
		}
		str := func(key string) string {
			v := it.get(key)
			if v == nil {
				return ""
			}
			s, ok := scalarString(v)
			if !ok || s == "" {
				probs.add("%s:%s config should be a string", where, key)
			}
			return s
		}
		var inc ci.TriggerInclude
		switch {
		case it.has("local"):
			if bad := unknownKeys(it, map[string]bool{"local": true}); bad != "" {
				probs.add("%s config contains unknown keys: %s", where, bad)
			}
			inc.Local = str("local")
		case it.has("artifact"):
			if bad := unknownKeys(it, map[string]bool{"artifact": true, "job": true}); bad != "" {
				probs.add("%s config contains unknown keys: %s", where, bad)
			}
			inc.Artifact, inc.Job = str("artifact"), str("job")
			if !it.has("job") {
				probs.add("%s config must specify the job where to fetch the artifact from", where)
			}
		case it.has("project"):
			if bad := unknownKeys(it, map[string]bool{"project": true, "file": true, "ref": true}); bad != "" {
				probs.add("%s config contains unknown keys: %s", where, bad)
			}
			inc.Project, inc.Ref = str("project"), str("ref")
			if f := it.get("file"); f == nil {
				probs.add("%s config must specify the file where to fetch the config from", where)
			} else if s, ok := scalarString(f); ok && s != "" {
				inc.File = s
			} else {
				probs.add("%s:file config should be a string", where)
			}
		case it.has("template"), it.has("remote"), it.has("component"):
			probs.add("%s config: only local, project and artifact includes are supported by Baton for child pipelines", where)
		default:
			probs.add("%s config should contain local, project or artifact", where)
		}
		for _, p := range []string{inc.Local, inc.File, inc.Artifact} {
			if p != "" && !strings.HasSuffix(p, ".yml") && !strings.HasSuffix(p, ".yaml") {
				probs.add("%s config should be a YAML file (.yml or .yaml): %s", where, p)
			}
		}
		out = append(out, inc)
	}
	return out
}
