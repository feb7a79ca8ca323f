package ci

import (
	"bufio"
	"context"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// CoverageStore keeps the coverage jobs report through their coverage:
// regular expression.
type CoverageStore interface {
	// SetJobCoverage records a job's coverage percentage.
	SetJobCoverage(ctx context.Context, jobID int64, coverage float64) error
	// JobCoverage returns the coverage of a pipeline's jobs that have one.
	JobCoverage(ctx context.Context, pipelineID int64) (map[int64]float64, error)
	// PipelineCoverage is the average coverage of the pipeline's latest
	// attempts that have one (GitLab's pipeline coverage); nil if none has.
	PipelineCoverage(ctx context.Context, pipelineID int64) (*float64, error)
}

// CoverageRegexp compiles a job's coverage: value, written as GitLab
// takes it: between slashes (/Coverage: \d+\.\d+%/) or bare. KindInvalid
// if it does not compile.
func CoverageRegexp(pattern string) (*regexp.Regexp, error) {
	p := pattern
	if len(p) >= 2 && strings.HasPrefix(p, "/") && strings.HasSuffix(p, "/") {
		p = p[1 : len(p)-1]
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, Errorf(KindInvalid, "coverage regular expression %q does not compile: %v", pattern, err)
	}
	return re, nil
}

var (
	ansiEscape = regexp.MustCompile(`\x1b\[[0-9;?]*[ -/]*[@-~]`)
	percentage = regexp.MustCompile(`\d+(?:\.\d+)?`)
)

// maxCoverageLine bounds one log line the coverage regexp reads; longer
// lines are cut (GitLab reads logs line by line too).
const maxCoverageLine = 64 << 10

// ScanCoverage applies re to every line of log (ANSI colours removed) and
// returns the first number in the last match, as GitLab does, and whether
// any line matched with a number.
func ScanCoverage(log io.Reader, re *regexp.Regexp) (float64, bool, error) {
	br := bufio.NewReaderSize(log, maxCoverageLine)
	var cov float64
	found := false
	for {
		line, isPrefix, err := br.ReadLine()
		if len(line) > 0 {
			text := ansiEscape.ReplaceAllString(string(line), "")
			if m := re.FindString(text); m != "" {
				if n := percentage.FindString(m); n != "" {
					if f, perr := strconv.ParseFloat(n, 64); perr == nil {
						cov, found = f, true
					}
				}
			}
		}
		for isPrefix && err == nil { // skip the rest of an overlong line
			_, isPrefix, err = br.ReadLine()
		}
		if err == io.EOF {
			return cov, found, nil
		}
		if err != nil {
			return 0, false, err
		}
	}
}
