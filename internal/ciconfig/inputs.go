package ciconfig

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/batonci/baton/internal/ci"
	"gopkg.in/yaml.v3"
)

// Limits of $[[ ]] interpolation (GitLab's). maxInterpolatedBytes bounds
// the text the blocks of all of a pipeline's files produce together (ten
// times the file limit, as GitLab's "interpolated config is too large"):
// one large input referenced by many blocks would otherwise build
// gigabytes before any later limit is checked.
const (
	maxInterpolationFunctions = 3
	maxInterpolationBlocks    = 10_000
	maxInterpolatedBytes      = 10 * maxFileSize
)

// parseConfig parses one configuration file. A file whose first YAML
// document holds only spec: is a header and the second document is the
// configuration; the header's spec:inputs are filled from given (an
// include's inputs:, or the pipeline's for the main file) and interpolated
// into the configuration. A file without a header takes no inputs.
func (p *planner) parseConfig(name string, content []byte, given *node, included bool) (*node, error) {
	header, body, err := parseDocuments(name, content)
	if err != nil {
		return nil, err
	}
	if header == nil {
		if given != nil && len(given.keys) > 0 {
			return nil, fmt.Errorf("Given inputs not defined in the `spec` section of the included configuration file")
		}
		return body, nil
	}
	spec := header.get("spec")
	if spec != nil && spec.kind != kindNull && spec.kind != kindMap {
		return nil, fmt.Errorf("%s: header:spec config should be a hash", name)
	}
	if bad := unknownKeys(spec, map[string]bool{"inputs": true, "include": true, "component": true}); spec != nil && spec.kind == kindMap && bad != "" {
		return nil, fmt.Errorf("%s: header:spec config contains unknown keys: %s", name, bad)
	}
	values, err := p.inputValues(spec.get("inputs"), given)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	it := &interpolator{inputs: values, env: p.env(p.vars), total: &p.interpolated}
	out, err := it.node(body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// mainInputs returns the pipeline's inputs as a node for the main file.
func (p *planner) mainInputs() *node {
	if len(p.in.Inputs) == 0 {
		return nil
	}
	keys := make([]string, 0, len(p.in.Inputs))
	for k := range p.in.Inputs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	vals := make([]*node, len(keys))
	for i, k := range keys {
		vals[i] = anyNode(p.in.Inputs[k])
	}
	return newMap(0, keys, vals)
}

// anyNode converts a JSON-like value to a node.
func anyNode(v any) *node {
	switch x := v.(type) {
	case nil:
		return &node{kind: kindNull, size: 1, depth: 1}
	case bool:
		return &node{kind: kindScalar, tag: "!!bool", val: strconv.FormatBool(x), size: 1, depth: 1}
	case int:
		return &node{kind: kindScalar, tag: "!!int", val: strconv.Itoa(x), size: 1, depth: 1}
	case int64:
		return &node{kind: kindScalar, tag: "!!int", val: strconv.FormatInt(x, 10), size: 1, depth: 1}
	case float64:
		if x == float64(int64(x)) {
			return &node{kind: kindScalar, tag: "!!int", val: strconv.FormatInt(int64(x), 10), size: 1, depth: 1}
		}
		return &node{kind: kindScalar, tag: "!!float", val: strconv.FormatFloat(x, 'g', -1, 64), size: 1, depth: 1}
	case []any:
		items := make([]*node, len(x))
		for i, it := range x {
			items[i] = anyNode(it)
		}
		return newSeq(0, items)
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		vals := make([]*node, len(keys))
		for i, k := range keys {
			vals[i] = anyNode(x[k])
		}
		return newMap(0, keys, vals)
	}
	return strNode(fmt.Sprint(v), 0)
}

func strNode(s string, line int) *node {
	return &node{kind: kindScalar, tag: "!!str", val: s, line: line, size: 1, depth: 1}
}

// parseDocuments splits a file into its spec header (nil when there is
// none) and its configuration document.
func parseDocuments(name string, content []byte) (header, body *node, err error) {
	if len(content) > maxFileSize {
		return nil, nil, fmt.Errorf("%s is too big: %d bytes, the limit is %d", name, len(content), maxFileSize)
	}
	var docs []*yaml.Node
	func() {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("invalid YAML in %s: %v", name, r)
			}
		}()
		dec := yaml.NewDecoder(strings.NewReader(string(content)))
		for len(docs) < 2 {
			var doc yaml.Node
			derr := dec.Decode(&doc)
			if derr != nil {
				if !errors.Is(derr, io.EOF) {
					err = fmt.Errorf("invalid YAML in %s: %s", name, strings.TrimPrefix(derr.Error(), "yaml: "))
				}
				return
			}
			docs = append(docs, &doc)
		}
	}()
	if err != nil {
		return nil, nil, err
	}
	convert := func(doc *yaml.Node) (*node, error) {
		if doc.Kind == 0 || len(doc.Content) == 0 {
			return &node{kind: kindNull, size: 1, depth: 1}, nil
		}
		c := &converter{memo: map[*yaml.Node]*node{}, active: map[*yaml.Node]bool{}}
		n, err := c.convert(doc.Content[0], 1)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if n.size > maxNodes {
			return nil, fmt.Errorf("%s: too many nodes after expanding aliases (more than %d)", name, maxNodes)
		}
		return n, nil
	}
	if len(docs) == 0 {
		return nil, &node{kind: kindNull, size: 1, depth: 1}, nil
	}
	first, err := convert(docs[0])
	if err != nil {
		return nil, nil, err
	}
	if len(docs) == 1 || first.kind != kindMap || len(first.keys) != 1 || first.keys[0] != "spec" {
		return nil, first, nil
	}
	if body, err = convert(docs[1]); err != nil {
		return nil, nil, err
	}
	return first, body, nil
}

var inputSpecKeys = map[string]bool{"default": true, "description": true, "type": true, "options": true, "regex": true, "rules": true}

// inputValues checks the given inputs against spec:inputs and returns each
// input's value (given or default).
func (p *planner) inputValues(spec, given *node) (map[string]*node, error) {
	values := map[string]*node{}
	declared := map[string]bool{}
	if spec != nil && spec.kind != kindNull && spec.kind != kindMap {
		return nil, fmt.Errorf("header:spec:inputs config should be a hash")
	}
	var unknown []string
	if given != nil {
		for _, k := range given.keys {
			if !spec.has(k) {
				unknown = append(unknown, k)
			}
		}
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("unknown input arguments: %s", strings.Join(unknown, ", "))
	}
	if spec == nil || spec.kind == kindNull {
		return values, nil
	}
	var errs []string
	for i, name := range spec.keys {
		declared[name] = true
		def := spec.vals[i]
		if def.kind != kindNull && def.kind != kindMap {
			errs = append(errs, fmt.Sprintf("`%s` input: the definition should be a hash", name))
			continue
		}
		if bad := unknownKeys(def, inputSpecKeys); def.kind == kindMap && bad != "" {
			errs = append(errs, fmt.Sprintf("`%s` input: unknown input specification keys: %s", name, bad))
			continue
		}
		typ := "string"
		if t := def.get("type"); t != nil {
			s, _ := scalarString(t)
			switch s {
			case "string", "number", "boolean", "array":
				typ = s
			default:
				errs = append(errs, fmt.Sprintf("`%s` input: unknown input type `%s`", name, s))
				continue
			}
		}
		v := given.get(name)
		if !given.has(name) {
			if !def.has("default") {
				errs = append(errs, fmt.Sprintf("`%s` input: required value has not been provided", name))
				continue
			}
			v = def.get("default")
		}
		if msg := checkInput(name, typ, def, v); msg != "" {
			errs = append(errs, msg)
			continue
		}
		values[name] = v
	}
	if len(errs) > 0 {
		return nil, errors.New(strings.Join(errs, "; "))
	}
	return values, nil
}

// checkInput validates one value against its type, options and regex.
func checkInput(name, typ string, def, v *node) string {
	switch typ {
	case "string":
		if v.kind == kindNull {
			return ""
		}
		if v.kind != kindScalar {
			return fmt.Sprintf("`%s` input: provided value is not a string", name)
		}
	case "number":
		if v.kind != kindScalar || (v.tag != "!!int" && v.tag != "!!float") {
			return fmt.Sprintf("`%s` input: provided value is not a number", name)
		}
	case "boolean":
		if v.kind != kindScalar || v.tag != "!!bool" {
			return fmt.Sprintf("`%s` input: provided value is not a boolean", name)
		}
	case "array":
		if v.kind != kindSeq {
			return fmt.Sprintf("`%s` input: provided value is not an array", name)
		}
	}
	if opts := def.get("options"); opts != nil {
		if typ == "boolean" || typ == "array" {
			return fmt.Sprintf("`%s` input: options can only be used with string and number inputs", name)
		}
		list, ok := stringList(opts, 0)
		if !ok || opts.kind != kindSeq {
			return fmt.Sprintf("`%s` input: options should be an array", name)
		}
		s, _ := scalarString(v)
		if indexOf(list, s) < 0 {
			return fmt.Sprintf("`%s` input: `%s` cannot be used because it is not in the list of allowed options", name, clip(s))
		}
	}
	if rn := def.get("regex"); rn != nil {
		if typ != "string" {
			return fmt.Sprintf("`%s` input: RegEx validation can only be used with string inputs", name)
		}
		pat, _ := scalarString(rn)
		if len(pat) >= 2 && strings.HasPrefix(pat, "/") && strings.HasSuffix(pat, "/") {
			pat = pat[1 : len(pat)-1]
		}
		re, err := regexp.Compile(pat)
		if err != nil {
			return fmt.Sprintf("`%s` input: invalid regular expression", name)
		}
		s, _ := scalarString(v)
		if !re.MatchString(s) {
			return fmt.Sprintf("`%s` input: provided value does not match required RegEx pattern", name)
		}
	}
	return ""
}

// interpolator replaces $[[ inputs.NAME | fn ... ]] blocks in keys and
// string values.
type interpolator struct {
	inputs map[string]*node
	env    map[string]string
	blocks int
	memo   map[*node]*node
	// total counts the bytes the blocks produced, over every file of the
	// pipeline (planner.interpolated); past maxInterpolatedBytes
	// interpolation fails.
	total *int
	sizes map[*node]int // nodeBytes of whole-node values, once each
}

var errInterpolatedTooLarge = fmt.Errorf("interpolated config is too large (more than %d bytes)", maxInterpolatedBytes)

// grow counts n more interpolated bytes.
func (it *interpolator) grow(n int) error {
	if *it.total += n; *it.total > maxInterpolatedBytes {
		return errInterpolatedTooLarge
	}
	return nil
}

var blockRe = regexp.MustCompile(`\$\[\[(.*?)\]\]`)

func (it *interpolator) node(n *node) (*node, error) {
	if it.memo == nil {
		it.memo = map[*node]*node{}
	}
	if n == nil {
		return n, nil
	}
	if done, ok := it.memo[n]; ok {
		return done, nil
	}
	var out *node
	switch n.kind {
	case kindNull:
		return n, nil
	case kindScalar:
		if !strings.Contains(n.val, "$[[") {
			return n, nil
		}
		v, err := it.text(n.val, true)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n.line, err)
		}
		out = v
		out.line = n.line
	case kindMap:
		var keys []string
		var vals []*node
		pos := map[string]int{}
		for i, k := range n.keys {
			if strings.Contains(k, "$[[") {
				kn, err := it.text(k, false)
				if err != nil {
					return nil, fmt.Errorf("line %d: %w", n.line, err)
				}
				k = kn.val
			}
			v, err := it.node(n.vals[i])
			if err != nil {
				return nil, err
			}
			if j, ok := pos[k]; ok {
				vals[j] = v
				continue
			}
			pos[k] = len(keys)
			keys = append(keys, k)
			vals = append(vals, v)
		}
		out = newMap(n.line, keys, vals)
	default:
		items := make([]*node, len(n.items))
		for i, c := range n.items {
			v, err := it.node(c)
			if err != nil {
				return nil, err
			}
			items[i] = v
		}
		out = newSeq(n.line, items)
		out.ref = n.ref
	}
	it.memo[n] = out
	return out, nil
}

// text interpolates s. When s is exactly one block and typed is set, the
// input keeps its type (number, boolean, array).
func (it *interpolator) text(s string, typed bool) (*node, error) {
	locs := blockRe.FindAllStringSubmatchIndex(s, -1)
	if len(locs) == 0 {
		return strNode(s, 0), nil
	}
	if it.blocks += len(locs); it.blocks > maxInterpolationBlocks {
		return nil, fmt.Errorf("too many interpolation blocks (more than %d)", maxInterpolationBlocks)
	}
	if typed && len(locs) == 1 && locs[0][0] == 0 && locs[0][1] == len(s) {
		v, err := it.block(s[locs[0][2]:locs[0][3]])
		if err != nil {
			return nil, err
		}
		if v.kind != kindNull && (v.kind != kindScalar || v.tag != "!!str") {
			// The whole node is the value: an array input in many
			// jobs' script counts each time.
			size, ok := it.sizes[v]
			if !ok {
				size = nodeBytes(v)
				if it.sizes == nil {
					it.sizes = map[*node]int{}
				}
				it.sizes[v] = size
			}
			if err := it.grow(size); err != nil {
				return nil, err
			}
			return v, nil
		}
	}
	var b strings.Builder
	last := 0
	for _, l := range locs {
		b.WriteString(s[last:l[0]])
		v, err := it.block(s[l[2]:l[3]])
		if err != nil {
			return nil, err
		}
		text := nodeText(v)
		if err := it.grow(len(text)); err != nil {
			return nil, err
		}
		b.WriteString(text)
		last = l[1]
	}
	b.WriteString(s[last:])
	return strNode(b.String(), 0), nil
}

// nodeBytes is the bytes of n's keys and scalars.
func nodeBytes(n *node) int {
	switch {
	case n == nil:
		return 0
	case n.kind == kindScalar:
		return len(n.val)
	}
	total := 0
	for i, k := range n.keys {
		total += len(k) + nodeBytes(n.vals[i])
	}
	for _, it := range n.items {
		total += nodeBytes(it)
	}
	return total
}

// nodeText is a value's text inside a longer string.
func nodeText(v *node) string {
	switch v.kind {
	case kindNull:
		return ""
	case kindScalar:
		s, _ := scalarString(v)
		return s
	}
	b, _ := json.Marshal(nodeAny(v))
	return string(b)
}

func nodeAny(n *node) any {
	switch n.kind {
	case kindNull:
		return nil
	case kindScalar:
		s, _ := scalarString(n)
		return s
	case kindSeq:
		out := make([]any, len(n.items))
		for i, c := range n.items {
			out[i] = nodeAny(c)
		}
		return out
	}
	m := make(map[string]any, len(n.keys))
	for i, k := range n.keys {
		m[k] = nodeAny(n.vals[i])
	}
	return m
}

var truncateRe = regexp.MustCompile(`^truncate\(\s*(\d+)\s*,\s*(\d+)\s*\)$`)

// block evaluates the inside of one $[[ ]]: an access (inputs.NAME) and up
// to three functions separated by |.
func (it *interpolator) block(expr string) (*node, error) {
	parts := strings.Split(expr, "|")
	access := strings.TrimSpace(parts[0])
	if len(parts)-1 > maxInterpolationFunctions {
		return nil, fmt.Errorf("too many functions in interpolation block (the limit is %d)", maxInterpolationFunctions)
	}
	name, ok := strings.CutPrefix(access, "inputs.")
	if !ok {
		return nil, fmt.Errorf("invalid interpolation access pattern: `%s`", clip(access))
	}
	v, ok := it.inputs[name]
	if !ok {
		return nil, fmt.Errorf("unknown interpolation key: `%s`", clip(name))
	}
	if len(parts) == 1 {
		return v, nil
	}
	if v.kind != kindScalar && v.kind != kindNull {
		return nil, fmt.Errorf("interpolation functions can only be used with string inputs (`%s`)", name)
	}
	s := nodeText(v)
	for _, f := range parts[1:] {
		f = strings.TrimSpace(f)
		switch {
		case f == "expand_vars":
			s = ci.ExpandExisting(s, it.env)
		case f == "posix_escape":
			s = posixEscape(s)
		case truncateRe.MatchString(f):
			m := truncateRe.FindStringSubmatch(f)
			off, _ := strconv.Atoi(m[1])
			n, _ := strconv.Atoi(m[2])
			r := []rune(s)
			off = min(off, len(r))
			s = string(r[off:min(len(r), off+n)])
		default:
			return nil, fmt.Errorf("no function matching `%s`: check that the function name, arguments, and types are correct", clip(f))
		}
	}
	return strNode(s, 0), nil
}

// posixEscape quotes s for a POSIX shell like Ruby's Shellwords.escape.
func posixEscape(s string) string {
	if s == "" {
		return "''"
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n':
			b.WriteString("'\n'")
		case r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			strings.ContainsRune("_-.,:+/@", r)):
			b.WriteRune(r)
		default:
			b.WriteByte('\\')
			b.WriteRune(r)
		}
	}
	return b.String()
}
