package ciconfig

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// Limits that keep planning bounded on hostile input.
const (
	maxFileSize  = 1 << 20 // bytes per file, like GitLab's max_yaml_size_bytes
	maxNodes     = 100_000 // nodes of one file after alias and merge-key expansion
	maxDepth     = 100     // nesting of one file after alias expansion (GitLab's max_yaml_depth)
	maxTotalWork = 1_000_000
)

type nodeKind uint8

const (
	kindNull nodeKind = iota
	kindScalar
	kindMap
	kindSeq
)

// node is an immutable, alias-resolved YAML value. Nodes may be shared
// between several parents (aliases, extends), so nothing mutates one after
// construction; merging builds new nodes.
type node struct {
	kind  nodeKind
	tag   string // short YAML tag of a scalar: !!str, !!int, !!bool, !!float
	val   string
	keys  []string // map keys in order
	vals  []*node  // map values, parallel to keys
	items []*node  // sequence items
	ref   bool     // a !reference [job, key, ...] sequence
	line  int
	size  int // nodes in this subtree counting shared nodes every time, capped
	depth int // height of this subtree
}

func (n *node) get(key string) *node {
	if n == nil || n.kind != kindMap {
		return nil
	}
	for i, k := range n.keys {
		if k == key {
			return n.vals[i]
		}
	}
	return nil
}

func (n *node) has(key string) bool {
	if n == nil || n.kind != kindMap {
		return false
	}
	for _, k := range n.keys {
		if k == key {
			return true
		}
	}
	return false
}

// describe names the YAML type of n for error messages.
func (n *node) describe() string {
	switch {
	case n == nil || n.kind == kindNull:
		return "null"
	case n.kind == kindMap:
		return "hash"
	case n.kind == kindSeq:
		return "array"
	case n.tag == "!!int" || n.tag == "!!float":
		return "number"
	case n.tag == "!!bool":
		return "boolean"
	}
	return "string"
}

func capAdd(a, b int) int {
	if s := a + b; s <= maxTotalWork+1 {
		return s
	}
	return maxTotalWork + 1
}

// finish computes size and depth of a freshly built composite node.
func (n *node) finish() *node {
	n.size, n.depth = 1, 1
	children := n.items
	if n.kind == kindMap {
		children = n.vals
	}
	for _, c := range children {
		if c == nil {
			continue
		}
		n.size = capAdd(n.size, c.size)
		if c.depth+1 > n.depth {
			n.depth = c.depth + 1
		}
	}
	return n
}

func newMap(line int, keys []string, vals []*node) *node {
	return (&node{kind: kindMap, keys: keys, vals: vals, line: line}).finish()
}

func newSeq(line int, items []*node) *node {
	return (&node{kind: kindSeq, items: items, line: line}).finish()
}

// parseYAML parses one file into a node tree, resolving aliases and merge
// keys, and rejects files that are too large, too deep or expand too much.
func parseYAML(name string, content []byte) (root *node, err error) {
	if len(content) > maxFileSize {
		return nil, fmt.Errorf("%s is too big: %d bytes, the limit is %d", name, len(content), maxFileSize)
	}
	var doc yaml.Node
	func() {
		// yaml.v3 reports some malformed input by panicking; keep Plan total.
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("invalid YAML in %s: %v", name, r)
			}
		}()
		if uerr := yaml.Unmarshal(content, &doc); uerr != nil {
			err = fmt.Errorf("invalid YAML in %s: %s", name, strings.TrimPrefix(uerr.Error(), "yaml: "))
		}
	}()
	if err != nil {
		return nil, err
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return &node{kind: kindNull, size: 1, depth: 1}, nil
	}
	c := &converter{memo: map[*yaml.Node]*node{}, active: map[*yaml.Node]bool{}}
	root, err = c.convert(doc.Content[0], 1)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if root.size > maxNodes {
		return nil, fmt.Errorf("%s: too many nodes after expanding aliases (more than %d)", name, maxNodes)
	}
	return root, nil
}

type converter struct {
	memo   map[*yaml.Node]*node
	active map[*yaml.Node]bool
}

func (c *converter) convert(y *yaml.Node, depth int) (*node, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("line %d: nesting is too deep (more than %d levels)", y.Line, maxDepth)
	}
	if n, ok := c.memo[y]; ok {
		if depth+n.depth-1 > maxDepth {
			return nil, fmt.Errorf("line %d: nesting is too deep (more than %d levels)", y.Line, maxDepth)
		}
		return n, nil
	}
	if c.active[y] {
		return nil, fmt.Errorf("line %d: anchor %q contains itself", y.Line, y.Anchor)
	}
	c.active[y] = true
	defer delete(c.active, y)
	n, err := c.build(y, depth)
	if err != nil {
		return nil, err
	}
	if n.size > maxNodes {
		return nil, fmt.Errorf("line %d: too many nodes after expanding aliases (more than %d)", y.Line, maxNodes)
	}
	c.memo[y] = n
	return n, nil
}

func (c *converter) build(y *yaml.Node, depth int) (*node, error) {
	switch y.Kind {
	case yaml.AliasNode:
		if y.Alias == nil {
			return nil, fmt.Errorf("line %d: unknown anchor %q", y.Line, y.Value)
		}
		return c.convert(y.Alias, depth)
	case yaml.ScalarNode:
		tag := y.ShortTag()
		if tag == "!!null" {
			return &node{kind: kindNull, line: y.Line, size: 1, depth: 1}, nil
		}
		if tag == "!reference" {
			return nil, fmt.Errorf("line %d: !reference needs an array like [.job, script]", y.Line)
		}
		return &node{kind: kindScalar, tag: tag, val: y.Value, line: y.Line, size: 1, depth: 1}, nil
	case yaml.SequenceNode:
		items := make([]*node, 0, len(y.Content))
		for _, ch := range y.Content {
			n, err := c.convert(ch, depth+1)
			if err != nil {
				return nil, err
			}
			items = append(items, n)
		}
		n := newSeq(y.Line, items)
		n.ref = y.Tag == "!reference"
		return n, nil
	case yaml.MappingNode:
		return c.mapping(y, depth)
	case yaml.DocumentNode:
		if len(y.Content) == 0 {
			return &node{kind: kindNull, line: y.Line, size: 1, depth: 1}, nil
		}
		return c.convert(y.Content[0], depth)
	}
	return nil, fmt.Errorf("line %d: unsupported YAML node", y.Line)
}

func (c *converter) mapping(y *yaml.Node, depth int) (*node, error) {
	var keys []string
	var vals []*node
	var merges []*node
	pos := map[string]int{}
	for i := 0; i+1 < len(y.Content); i += 2 {
		k, v := y.Content[i], y.Content[i+1]
		for k.Kind == yaml.AliasNode && k.Alias != nil {
			k = k.Alias
		}
		if k.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("line %d: mapping keys must be strings", k.Line)
		}
		val, err := c.convert(v, depth+1)
		if err != nil {
			return nil, err
		}
		if k.ShortTag() == "!!merge" {
			merges = append(merges, val)
			continue
		}
		if i, ok := pos[k.Value]; ok {
			vals[i] = val // duplicate key: the last one wins, as in Ruby's YAML
			continue
		}
		pos[k.Value] = len(keys)
		keys = append(keys, k.Value)
		vals = append(vals, val)
	}
	// Merge keys: explicit keys win, then earlier merged maps win.
	for _, m := range merges {
		srcs := []*node{m}
		if m.kind == kindSeq {
			srcs = m.items
		}
		for _, s := range srcs {
			if s.kind != kindMap {
				return nil, fmt.Errorf("line %d: merge key <<: needs a hash or an array of hashes", y.Line)
			}
			for j, mk := range s.keys {
				if _, ok := pos[mk]; !ok {
					pos[mk] = len(keys)
					keys = append(keys, mk)
					vals = append(vals, s.vals[j])
				}
			}
		}
	}
	return newMap(y.Line, keys, vals), nil
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// deepMerge returns base overlaid with over: hashes merge key by key
// recursively, anything else in over replaces base (GitLab's deep_merge).
func deepMerge(base, over *node) *node {
	if base == nil || base.kind != kindMap || over == nil || over.kind != kindMap {
		return over
	}
	return overlay(base, over, true)
}

// overlay returns map base with over's keys on top, merging values that are
// both hashes when deep is set.
func overlay(base, over *node, deep bool) *node {
	keys := append([]string(nil), base.keys...)
	vals := append([]*node(nil), base.vals...)
	pos := make(map[string]int, len(keys))
	for i, k := range keys {
		pos[k] = i
	}
	for i, k := range over.keys {
		if j, ok := pos[k]; ok {
			if deep {
				vals[j] = deepMerge(vals[j], over.vals[i])
			} else {
				vals[j] = over.vals[i]
			}
			continue
		}
		pos[k] = len(keys)
		keys = append(keys, k)
		vals = append(vals, over.vals[i])
	}
	return newMap(over.line, keys, vals)
}

// without returns map n minus the given keys.
func without(n *node, drop ...string) *node {
	var keys []string
	var vals []*node
	for i, k := range n.keys {
		if indexOf(drop, k) < 0 {
			keys = append(keys, k)
			vals = append(vals, n.vals[i])
		}
	}
	return newMap(n.line, keys, vals)
}
