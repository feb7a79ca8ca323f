package ciconfig

import (
	"fmt"
	"strings"

	"github.com/batonci/baton/internal/ci"
)

// ErrFilteredByWorkflow is returned by Plan when workflow:rules keep the
// pipeline from being created. It is of kind ci.KindInvalid.
var ErrFilteredByWorkflow = &ci.Error{Kind: ci.KindInvalid, Msg: "Pipeline filtered out by workflow rules."}

// ErrNoJobs is returned by Plan when rules, only or except leave no job in
// the pipeline (or only jobs in .pre and .post). It is of kind ci.KindInvalid.
var ErrNoJobs = &ci.Error{Kind: ci.KindInvalid, Msg: "Pipeline will not run for the selected trigger. " +
	"The rules configuration prevented any jobs from being added to the pipeline."}

// ConfigError lists every problem found in a configuration. It unwraps to a
// *ci.Error of kind ci.KindInvalid whose Msg is the problems joined by "; ".
type ConfigError struct {
	Errors []string // one readable message per problem, e.g. "jobs:build:artifacts config contains unknown keys: pathz"
}

func (e *ConfigError) Error() string { return strings.Join(e.Errors, "; ") }

// Unwrap exposes the client-safe ci.Error so that ci.KindOf and ci.MessageOf work.
func (e *ConfigError) Unwrap() error { return &ci.Error{Kind: ci.KindInvalid, Msg: e.Error()} }

// problems collects configuration errors while planning continues, so that
// one Plan call reports as much as it can.
type problems struct {
	list []string
}

const maxProblems = 50

func (p *problems) add(format string, args ...any) {
	if len(p.list) < maxProblems {
		p.list = append(p.list, fmt.Sprintf(format, args...))
	}
}

func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	return &ConfigError{Errors: p.list}
}
