package ciconfig

import (
	"fmt"
	"strings"
)

// maxReferenceDepth is GitLab's limit for !reference tags nested in the
// values they point to.
const maxReferenceDepth = 10

// resolveReferences replaces every !reference [.job, key, ...] in root by
// the value it points to.
func resolveReferences(root *node) (*node, error) {
	r := &refResolver{root: root, memo: map[*node]*node{}}
	out, err := r.resolve(root, 0)
	if err != nil {
		return nil, err
	}
	if out.size > maxTotalWork {
		return nil, fmt.Errorf("configuration is too large after resolving !reference tags (more than %d nodes)", maxTotalWork)
	}
	return out, nil
}

type refResolver struct {
	root *node
	memo map[*node]*node
}

func (r *refResolver) resolve(n *node, depth int) (*node, error) {
	if n == nil || n.kind == kindNull || n.kind == kindScalar {
		return n, nil
	}
	if done, ok := r.memo[n]; ok {
		return done, nil
	}
	var out *node
	switch {
	case n.ref:
		target, err := r.lookup(n)
		if err != nil {
			return nil, err
		}
		if depth >= maxReferenceDepth {
			return nil, fmt.Errorf("line %d: !reference tags are nested more than %d levels", n.line, maxReferenceDepth)
		}
		if out, err = r.resolve(target, depth+1); err != nil {
			return nil, err
		}
	case n.kind == kindMap:
		vals, changed, err := r.resolveAll(n.vals, depth)
		if err != nil {
			return nil, err
		}
		out = n
		if changed {
			out = newMap(n.line, n.keys, vals)
		}
	default:
		items, changed, err := r.resolveAll(n.items, depth)
		if err != nil {
			return nil, err
		}
		out = n
		if changed {
			out = newSeq(n.line, items)
		}
	}
	r.memo[n] = out
	return out, nil
}

func (r *refResolver) resolveAll(in []*node, depth int) ([]*node, bool, error) {
	out := make([]*node, len(in))
	changed := false
	for i, c := range in {
		rc, err := r.resolve(c, depth)
		if err != nil {
			return nil, false, err
		}
		out[i] = rc
		changed = changed || rc != c
	}
	return out, changed, nil
}

func (r *refResolver) lookup(n *node) (*node, error) {
	path := make([]string, 0, len(n.items))
	for _, it := range n.items {
		s, ok := scalarString(it)
		if !ok {
			return nil, fmt.Errorf("line %d: !reference needs an array of strings", n.line)
		}
		path = append(path, s)
	}
	if len(path) == 0 {
		return nil, fmt.Errorf("line %d: !reference needs an array like [.job, script]", n.line)
	}
	cur := r.root
	for _, k := range path {
		cur = cur.get(k)
		if cur == nil {
			return nil, fmt.Errorf("!reference [%s] could not be found", strings.Join(path, ", "))
		}
	}
	return cur, nil
}
