package runnerapi

import (
	"sort"

	"github.com/batonci/baton/internal/ci"
)

func fromCI(vs []ci.Variable) []jobVariable {
	out := make([]jobVariable, 0, len(vs))
	for _, v := range vs {
		out = append(out, jobVariable{Key: v.Key, Value: v.Value, Public: v.Public, Masked: v.Masked, File: v.File, Raw: v.Raw})
	}
	return out
}

// unreserved drops the variables whose names are reserved for predefined
// ones (ci.Reserved). Planning refuses them already; this keeps pipelines
// stored before that rule, and dotenv reports, from overriding them.
func unreserved(vs []jobVariable) []jobVariable {
	out := vs[:0:0]
	for _, v := range vs {
		if !ci.Reserved(v.Key) {
			out = append(out, v)
		}
	}
	return out
}

// lookupVariable returns the value of the last variable named key.
func lookupVariable(vs []jobVariable, key string) (string, bool) {
	for i := len(vs) - 1; i >= 0; i-- {
		if vs[i].Key == key {
			return vs[i].Value, true
		}
	}
	return "", false
}

func sortedKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
