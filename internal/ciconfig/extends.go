package ciconfig

import "strings"

// maxExtendsDepth is GitLab's limit for chains of extends.
const maxExtendsDepth = 11

// resolveExtends resolves extends: for every top-level job hash, hidden ones
// included, into p.allDefs. A job deep-merges its targets in order (later
// ones win, arrays are replaced) and then itself on top.
func (p *planner) resolveExtends() {
	p.allDefs = map[string]*node{}
	failed := map[string]bool{}
	for i, k := range p.root.keys {
		if reservedKeys[k] || p.root.vals[i].kind != kindMap || p.allDefs[k] != nil {
			continue
		}
		p.extend(k, nil, failed)
	}
}

func (p *planner) extend(name string, stack []string, failed map[string]bool) *node {
	if n, ok := p.allDefs[name]; ok {
		return n
	}
	if failed[name] {
		return nil
	}
	where := "jobs:" + name + ":extends"
	if indexOf(stack, name) >= 0 {
		p.probs.add("%s: circular dependency detected in `extends` (%s)", where, strings.Join(append(stack, name), " -> "))
		failed[name] = true
		return nil
	}
	if len(stack) >= maxExtendsDepth {
		p.probs.add("%s: nesting too deep in `extends` (more than %d levels)", where, maxExtendsDepth)
		failed[name] = true
		return nil
	}
	raw := p.rootIdx[name]
	ext := raw.get("extends")
	if ext == nil || ext.kind == kindNull {
		p.allDefs[name] = raw
		return raw
	}
	targets, ok := stringList(ext, 0)
	if !ok {
		p.probs.add("%s config should be a string or an array of strings", where)
		failed[name] = true
		return nil
	}
	base := newMap(raw.line, nil, nil)
	for _, t := range targets {
		tn := p.rootIdx[t]
		if reservedKeys[t] || tn == nil || tn.kind != kindMap {
			p.probs.add("%s: unknown key in `extends` (%s)", where, t)
			failed[name] = true
			return nil
		}
		resolved := p.extend(t, append(stack, name), failed)
		if resolved == nil {
			failed[name] = true
			return nil
		}
		base = deepMerge(base, resolved)
	}
	out := deepMerge(base, without(raw, "extends"))
	if p.work = capAdd(p.work, out.size); p.work > maxTotalWork {
		p.probs.add("%s: configuration is too large after resolving extends (more than %d nodes)", where, maxTotalWork)
		failed[name] = true
		return nil
	}
	p.allDefs[name] = out
	return out
}
