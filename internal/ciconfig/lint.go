package ciconfig

import (
	"errors"
	"strings"

	"github.com/batonci/baton/internal/ci"
	"gopkg.in/yaml.v3"
)

// LintResult is what GitLab's CI lint reports about a configuration.
type LintResult struct {
	Valid      bool
	Errors     []string
	Warnings   []string
	MergedYAML string     // the configuration after includes, extends and !reference
	Includes   []Included // the files include merged, in the order read
	// Jobs are the jobs a pipeline with in.Variables would run (dry run),
	// or every job of the file whatever its rules (static lint).
	Jobs []ci.JobSpec
}

// Lint checks in.Content as GitLab's lint does. With dryRun the jobs are
// those Plan selects for in.Variables, and a configuration that would
// create no pipeline is reported as an error; without it every job is
// listed and rules are not evaluated.
func Lint(in Input, dryRun bool) *LintResult {
	p := newPlanner(in)
	plan, err := p.plan()
	res := &LintResult{Errors: []string{}, Warnings: []string{}, Includes: p.included}
	if p.root != nil && p.root.size <= maxNodes {
		res.MergedYAML = mergedYAML(p.root)
	} else if p.root != nil {
		res.Warnings = append(res.Warnings, "merged_yaml is omitted: the merged configuration is too large")
	}
	noPipeline := errors.Is(err, ErrFilteredByWorkflow) || errors.Is(err, ErrNoJobs)
	switch {
	case err == nil && dryRun:
		res.Jobs = plan.Jobs
	case err == nil || (noPipeline && !dryRun):
		for _, j := range p.jobs {
			res.Jobs = append(res.Jobs, j.spec)
		}
	default:
		var ce *ConfigError
		switch {
		case errors.As(err, &ce):
			res.Errors = append(res.Errors, ce.Errors...)
		case noPipeline:
			res.Errors = append(res.Errors, ci.MessageOf(err))
		default: // every other error of plan is a problem of the configuration, as in Plan
			res.Errors = append(res.Errors, err.Error())
		}
		return res
	}
	res.Valid = true
	return res
}

// mergedYAML renders the merged configuration, keys in order.
func mergedYAML(root *node) string {
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(toYAML(root)); err != nil {
		return ""
	}
	_ = enc.Close()
	return b.String()
}

func toYAML(n *node) *yaml.Node {
	switch {
	case n == nil || n.kind == kindNull:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	case n.kind == kindScalar:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: n.tag, Value: n.val}
	case n.kind == kindSeq:
		y := &yaml.Node{Kind: yaml.SequenceNode}
		if n.ref {
			y.Tag = "!reference"
		}
		for _, it := range n.items {
			y.Content = append(y.Content, toYAML(it))
		}
		return y
	}
	y := &yaml.Node{Kind: yaml.MappingNode}
	for i, k := range n.keys {
		y.Content = append(y.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}, toYAML(n.vals[i]))
	}
	return y
}
