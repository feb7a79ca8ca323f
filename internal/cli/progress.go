package cli

import (
	"time"

	"github.com/schollz/progressbar/v3"
)

// showProgress decides whether a transfer draws a progress bar: only when
// standard error is a terminal and the output is not JSON for a script.
func showProgress(env Env, jsonOut bool) bool {
	return !jsonOut && env.IsTerminal(env.Stderr)
}

// progress is a transfer's progress bar on standard error, or nothing.
type progress struct {
	bar *progressbar.ProgressBar
}

// newProgress starts a bar for total bytes (-1: unknown) of which done are
// already there (a resume).
func newProgress(env Env, jsonOut bool, total, done int64, what string) *progress {
	if !showProgress(env, jsonOut) {
		return &progress{}
	}
	bar := progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(env.Stderr),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionOnCompletion(func() { _, _ = env.Stderr.Write([]byte("\n")) }),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionFullWidth(),
		progressbar.OptionUseANSICodes(true),
	)
	if done > 0 {
		_ = bar.Set64(done)
	}
	return &progress{bar: bar}
}

func (p *progress) add(n int) {
	if p.bar != nil {
		_ = p.bar.Add(n)
	}
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}
