package ciconfig

import (
	"fmt"
	"path"
	"strings"
)

// GitLab's limits for include.
const (
	maxIncludeDepth = 100
	maxIncludeFiles = 150
)

type includeState struct {
	seen  map[string]bool
	files int
}

// includeAll merges the files named by include: (recursively) under root:
// included files are deep-merged in order and the including file wins.
func (p *planner) includeAll(root *node) (*node, error) {
	st := &includeState{seen: map[string]bool{}}
	merged, err := p.include(root, 0, st)
	if err != nil {
		return nil, err
	}
	if merged.size > maxTotalWork {
		return nil, fmt.Errorf("configuration is too large after includes (more than %d nodes)", maxTotalWork)
	}
	return merged, nil
}

func (p *planner) include(n *node, depth int, st *includeState) (*node, error) {
	inc := n.get("include")
	if inc == nil {
		return n, nil
	}
	paths, err := p.includePaths(inc)
	if err != nil {
		return nil, err
	}
	merged := newMap(n.line, nil, nil)
	for _, file := range paths {
		if st.seen[file] {
			continue // a file included twice (or a cycle) is merged once
		}
		st.seen[file] = true
		st.files++
		if st.files > maxIncludeFiles {
			return nil, fmt.Errorf("Maximum of %d nested includes are allowed!", maxIncludeFiles)
		}
		if depth+1 > maxIncludeDepth {
			return nil, fmt.Errorf("Nested includes depth exceeded the maximum of %d", maxIncludeDepth)
		}
		if p.in.ReadFile == nil {
			return nil, fmt.Errorf("Local file `%s` could not be included: no repository to read it from", file)
		}
		data, err := p.in.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("Local file `%s` does not exist!", file)
		}
		if strings.TrimSpace(string(data)) == "" {
			return nil, fmt.Errorf("Local file `%s` is empty!", file)
		}
		child, err := parseYAML(file, data)
		if err != nil {
			return nil, fmt.Errorf("Included file `%s` does not have valid YAML syntax: %w", file, err)
		}
		if child.kind != kindMap {
			return nil, fmt.Errorf("Included file `%s` does not have valid YAML syntax: the root must be a hash", file)
		}
		if child, err = p.include(child, depth+1, st); err != nil {
			return nil, err
		}
		merged = deepMerge(merged, child)
		if p.work = capAdd(p.work, merged.size); p.work > maxTotalWork {
			return nil, fmt.Errorf("configuration is too large after includes (more than %d nodes)", maxTotalWork)
		}
	}
	return deepMerge(merged, without(n, "include")), nil
}

var includeHashKeys = map[string]bool{
	"local": true, "rules": true, "remote": true, "project": true, "file": true, "ref": true,
	"template": true, "component": true, "inputs": true, "integrity": true, "cache": true,
}

// includePaths reads include: (a string, a hash or an array of both) into
// the repository paths to read, skipping entries whose rules do not match.
func (p *planner) includePaths(inc *node) ([]string, error) {
	items := []*node{inc}
	if inc.kind == kindSeq {
		items = inc.items
	}
	var out []string
	for _, it := range items {
		if s, ok := scalarString(it); ok {
			if strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") {
				return nil, fmt.Errorf("include:remote is not supported (%s); only include:local is", s)
			}
			file, err := localPath(s)
			if err != nil {
				return nil, err
			}
			out = append(out, file)
			continue
		}
		if it.kind != kindMap {
			return nil, fmt.Errorf("include config should be a string, a hash or an array of strings and hashes")
		}
		if bad := unknownKeys(it, includeHashKeys); bad != "" {
			return nil, fmt.Errorf("include config contains unknown keys: %s", bad)
		}
		for _, k := range []string{"remote", "project", "template", "component", "inputs"} {
			if it.has(k) {
				return nil, fmt.Errorf("include:%s is not supported; only include:local is", k)
			}
		}
		local, ok := scalarString(it.get("local"))
		if !ok {
			return nil, fmt.Errorf("include config should have a local: path")
		}
		if rn := it.get("rules"); rn != nil {
			var probs problems
			rules := p.parseRules(rn, "include:rules", &probs, false)
			if err := probs.err(); err != nil {
				return nil, err
			}
			r := p.firstMatch(rules, p.env())
			if r == nil || r.when == "never" {
				continue
			}
		}
		file, err := localPath(local)
		if err != nil {
			return nil, err
		}
		out = append(out, file)
	}
	return out, nil
}

// localPath turns an include:local value into a clean path relative to the
// repository root.
func localPath(s string) (string, error) {
	if strings.ContainsAny(s, "*?[") {
		return "", fmt.Errorf("include:local `%s`: wildcard paths are not supported", s)
	}
	clean := path.Clean("/" + strings.TrimSpace(s))
	if clean == "/" {
		return "", fmt.Errorf("include:local `%s` is not a file", s)
	}
	return strings.TrimPrefix(clean, "/"), nil
}
