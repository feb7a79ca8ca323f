package ciconfig

import (
	"strconv"
	"strings"

	"github.com/batonci/baton/internal/ci"
)

// scalarString returns a scalar's text; booleans are normalized to
// "true"/"false" so that `FOO: yes`-style values read the same everywhere.
func scalarString(n *node) (string, bool) {
	if n == nil || n.kind != kindScalar {
		return "", false
	}
	if n.tag == "!!bool" {
		return strconv.FormatBool(strings.EqualFold(n.val, "true")), true
	}
	return n.val, true
}

// stringList reads a string or an array of strings; arrays nested up to
// nest levels (from anchors or !reference) are flattened.
func stringList(n *node, nest int) ([]string, bool) {
	if s, ok := scalarString(n); ok {
		return []string{s}, true
	}
	if n == nil || n.kind != kindSeq {
		return nil, false
	}
	out := make([]string, 0, len(n.items))
	for _, it := range n.items {
		if s, ok := scalarString(it); ok {
			out = append(out, s)
			continue
		}
		if it.kind != kindSeq || nest <= 0 {
			return nil, false
		}
		sub, ok := stringList(it, nest-1)
		if !ok {
			return nil, false
		}
		out = append(out, sub...)
	}
	return out, true
}

// stringField is an optional string key of a hash and where it goes.
type stringField struct {
	key string
	dst *string
}

// stringFields reads the optional string keys of hash n into their
// destinations, in order: an absent or null key leaves its destination as
// it is; any other value that is not a scalar is the problem
// "<where>:<key> config should be a string". It reports whether all were
// strings.
func stringFields(n *node, where string, probs *problems, fields ...stringField) bool {
	ok := true
	for _, f := range fields {
		v := n.get(f.key)
		if v == nil || v.kind == kindNull {
			continue
		}
		s, isString := scalarString(v)
		if !isString {
			probs.add("%s:%s config should be a string", where, f.key)
			ok = false
			continue
		}
		*f.dst = s
	}
	return ok
}

func boolValueOf(n *node) (bool, bool) {
	if n == nil || n.kind != kindScalar || n.tag != "!!bool" {
		return false, false
	}
	return strings.EqualFold(n.val, "true"), true
}

func intValueOf(n *node) (int, bool) {
	if n == nil || n.kind != kindScalar || n.tag != "!!int" {
		return 0, false
	}
	v, err := strconv.ParseInt(n.val, 0, 32)
	if err != nil {
		return 0, false
	}
	return int(v), true
}

// intList reads an integer or an array of integers.
func intList(n *node) ([]int, bool) {
	if v, ok := intValueOf(n); ok {
		return []int{v}, true
	}
	if n == nil || n.kind != kindSeq || len(n.items) == 0 {
		return nil, false
	}
	out := make([]int, 0, len(n.items))
	for _, it := range n.items {
		v, ok := intValueOf(it)
		if !ok {
			return nil, false
		}
		out = append(out, v)
	}
	return out, true
}

var variableHashKeys = map[string]bool{"value": true, "description": true, "expand": true, "options": true}

// parseVariables reads a variables: hash. Values are strings, numbers or
// booleans (converted to strings) or {value:, description:, expand:, options:}.
func parseVariables(n *node, where string, probs *problems) []ci.Variable {
	if n.kind == kindNull {
		return nil
	}
	if n.kind != kindMap {
		probs.add("%s config should be a hash of key value pairs", where)
		return nil
	}
	out := make([]ci.Variable, 0, len(n.keys))
	for i, k := range n.keys {
		v := n.vals[i]
		if s, ok := scalarString(v); ok {
			out = append(out, ci.Variable{Key: k, Value: s})
			continue
		}
		if v.kind == kindNull { // `VAR:` is an empty string, as in GitLab
			out = append(out, ci.Variable{Key: k})
			continue
		}
		if v.kind != kindMap {
			probs.add("%s config should be a hash of key value pairs, value can be a hash (%s is %s)", where, k, v.describe())
			continue
		}
		if bad := unknownKeys(v, variableHashKeys); bad != "" {
			probs.add("%s:%s config contains unknown keys: %s", where, k, bad)
			continue
		}
		val := ""
		if vn := v.get("value"); vn != nil && vn.kind != kindNull {
			s, ok := scalarString(vn)
			if !ok {
				probs.add("%s:%s:value should be a string", where, k)
				continue
			}
			val = s
		}
		raw := false
		if en := v.get("expand"); en != nil {
			b, ok := boolValueOf(en)
			if !ok {
				probs.add("%s:%s:expand should be a boolean value", where, k)
				continue
			}
			raw = !b
		}
		out = append(out, ci.Variable{Key: k, Value: val, Raw: raw})
	}
	return out
}

// mergeVariables returns base overlaid with over: a key already present
// keeps its position and takes the new value, new keys are appended.
func mergeVariables(base []ci.Variable, over ...[]ci.Variable) []ci.Variable {
	out := append([]ci.Variable(nil), base...)
	pos := make(map[string]int, len(out))
	for i, v := range out {
		pos[v.Key] = i
	}
	for _, vs := range over {
		for _, v := range vs {
			if i, ok := pos[v.Key]; ok {
				out[i] = v
				continue
			}
			pos[v.Key] = len(out)
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
