package planner

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/batonci/baton/internal/ci"
)

// Limits bound what one pipeline may store. Zero fields take the defaults.
type Limits struct {
	// MaxPlanBytes bounds the stored spec of a planned pipeline: every job's
	// spec plus the pipeline's spec and variables, as encoded in the store.
	MaxPlanBytes int64
	// MaxVariableBytes bounds one YAML variable value.
	MaxVariableBytes int64
	// MaxVariables bounds the variables of one scope: the file's global
	// (and workflow) variables, one job's own, or one request's.
	MaxVariables int64
	// MaxChangedPaths bounds the changed paths read for rules:changes; a
	// larger diff counts as no diff (every changes matches).
	MaxChangedPaths int64
}

// Defaults of Limits.
const (
	DefaultMaxPlanBytes     = 16 << 20
	DefaultMaxVariableBytes = 64 << 10
	DefaultMaxVariables     = 1000
	DefaultMaxChangedPaths  = 10000
	// MaxRequestVariableChars bounds a variable value given through the API
	// or a trigger: GitLab's limit for CI/CD variables created by API.
	MaxRequestVariableChars = 10000
)

func (l Limits) withDefaults() Limits {
	if l.MaxPlanBytes <= 0 {
		l.MaxPlanBytes = DefaultMaxPlanBytes
	}
	if l.MaxVariableBytes <= 0 {
		l.MaxVariableBytes = DefaultMaxVariableBytes
	}
	if l.MaxVariables <= 0 {
		l.MaxVariables = DefaultMaxVariables
	}
	if l.MaxChangedPaths <= 0 {
		l.MaxChangedPaths = DefaultMaxChangedPaths
	}
	return l
}

// checkRequestVariables validates variables a user gave for a new pipeline
// (API, trigger): no reserved name (ci.Reserved), at most MaxVariables of
// them, values of at most MaxRequestVariableChars characters and
// MaxVariableBytes bytes. Errors are KindInvalid and name the variable or
// the limit.
func (l Limits) checkRequestVariables(vars []ci.Variable) error {
	l = l.withDefaults()
	if int64(len(vars)) > l.MaxVariables {
		return ci.Errorf(ci.KindInvalid, "400 Bad request - %d variables given, the limit is %d (--max-variables)", len(vars), l.MaxVariables)
	}
	for _, v := range vars {
		if ci.Reserved(v.Key) {
			return ci.Errorf(ci.KindInvalid, "400 Bad request - variable %s is predefined and may not be set: "+
				"predefined variables that carry URLs, tokens or identity are reserved", v.Key)
		}
		if n := utf8.RuneCountInString(v.Value); n > MaxRequestVariableChars {
			return ci.Errorf(ci.KindInvalid, "400 Bad request - variable %s is %d characters long, the limit is %d characters per value",
				v.Key, n, MaxRequestVariableChars)
		}
		if int64(len(v.Value)) > l.MaxVariableBytes {
			return ci.Errorf(ci.KindInvalid, "400 Bad request - variable %s is %d bytes long, the limit is %d bytes per value (--max-variable-bytes)",
				v.Key, len(v.Value), l.MaxVariableBytes)
		}
	}
	return nil
}

// checkRequestInputs bounds a request's inputs like its variables: at
// most MaxVariables of them, each value's JSON at most MaxVariableBytes.
func (l Limits) checkRequestInputs(inputs map[string]any) error {
	l = l.withDefaults()
	if int64(len(inputs)) > l.MaxVariables {
		return ci.Errorf(ci.KindInvalid, "400 Bad request - %d inputs given, the limit is %d (--max-variables)", len(inputs), l.MaxVariables)
	}
	for k, v := range inputs {
		b, err := json.Marshal(v)
		if err != nil {
			return ci.Errorf(ci.KindInvalid, "400 Bad request - input %s: %v", k, err)
		}
		if int64(len(b)) > l.MaxVariableBytes {
			return ci.Errorf(ci.KindInvalid, "400 Bad request - input %s is %d bytes long, the limit is %d bytes per value (--max-variable-bytes)",
				k, len(b), l.MaxVariableBytes)
		}
	}
	return nil
}

// checkPlan validates a plan against the limits before anything is stored:
// the YAML's variables (no reserved name, count and value size) and the
// bytes the pipeline's specs take. Errors are KindInvalid and name the
// limit; on push they become the failed pipeline's yaml_errors.
func (l Limits) checkPlan(pl *ci.Pipeline, plan *ci.PipelinePlan) error {
	l = l.withDefaults()
	if err := l.checkYAMLVariables("variables", plan.Spec.Variables); err != nil {
		return err
	}
	for i := range plan.Jobs {
		if err := l.checkYAMLVariables("jobs:"+plan.Jobs[i].Name+":variables", plan.Jobs[i].Variables); err != nil {
			return err
		}
	}
	total, err := encodedSize(plan.Spec, pl.Variables)
	if err != nil {
		return err
	}
	for i := range plan.Jobs {
		n, err := encodedSize(&plan.Jobs[i])
		if err != nil {
			return err
		}
		if total += n; total > l.MaxPlanBytes {
			return ci.Errorf(ci.KindInvalid, "the pipeline is too large: its %d jobs take more than the limit of %d bytes of job specs (--max-plan-bytes)",
				len(plan.Jobs), l.MaxPlanBytes)
		}
	}
	return nil
}

func (l Limits) checkYAMLVariables(where string, vars []ci.Variable) error {
	if int64(len(vars)) > l.MaxVariables {
		return ci.Errorf(ci.KindInvalid, "%s config has %d variables, the limit is %d (--max-variables)", where, len(vars), l.MaxVariables)
	}
	for _, v := range vars {
		if ci.Reserved(v.Key) {
			return ci.Errorf(ci.KindInvalid, "%s config may not set %s: predefined variables that carry URLs, tokens or identity are reserved",
				where, v.Key)
		}
		if int64(len(v.Value)) > l.MaxVariableBytes {
			return ci.Errorf(ci.KindInvalid, "%s config: variable %s is %d bytes long, the limit is %d bytes per value (--max-variable-bytes)",
				where, v.Key, len(v.Value), l.MaxVariableBytes)
		}
	}
	return nil
}

// encodedSize is the bytes the store's JSON encoding of vs takes.
func encodedSize(vs ...any) (int64, error) {
	var n int64
	for _, v := range vs {
		b, err := json.Marshal(v)
		if err != nil {
			return 0, fmt.Errorf("measuring plan: %w", err)
		}
		n += int64(len(b))
	}
	return n, nil
}

// clip cuts s to MaxVariableBytes at a character boundary: a commit
// message becomes CI_COMMIT_MESSAGE, stored once per pipeline and given to
// every job as an environment variable.
func (l Limits) clip(s string) string {
	l = l.withDefaults()
	if int64(len(s)) <= l.MaxVariableBytes {
		return s
	}
	n := int(l.MaxVariableBytes)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
