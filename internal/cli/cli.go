// Package cli is the `baton` command line for humans and scripts: login,
// artifacts (get, cat, ls, wait, publish), pipeline status and watch, and
// ci lint. It talks to a Baton (or GitLab-compatible) server over HTTP only,
// through the routes of the REST API, like any other client.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/term"
)

// Exit codes of every command; documented in the README ("The baton CLI").
const (
	ExitOK       = 0 // success
	ExitUsage    = 1 // bad flags or arguments, or an error none of the others names
	ExitNotFound = 2 // 404: no such project, pipeline, job, artifact or file (or not visible)
	ExitAuth     = 3 // 401/403, or no credentials at all
	ExitVerify   = 4 // the bytes' SHA-256 differs from the server's digest
	ExitTimeout  = 5 // --wait passed without the artifact appearing
	ExitConflict = 6 // 409: a published name exists (use --replace), or merged shards differ
	ExitServer   = 7 // the network failed or the server answered 5xx
	ExitFailed   = 8 // ci lint: the configuration is invalid; pipeline watch: it did not succeed
)

// ExitError is an error with the process exit code it calls for.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// exitf makes an ExitError with a formatted message.
func exitf(code int, format string, args ...any) error {
	return &ExitError{Code: code, Err: fmt.Errorf(format, args...)}
}

// Code is the exit code for err: its ExitError's, ExitOK for nil, else
// ExitUsage.
func Code(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return ExitUsage
}

// Env is what a command sees of its process: standard streams, environment
// and terminal detection, injected so that tests can drive every command.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// IsTerminal reports whether w is a terminal (progress bars, colours).
	IsTerminal func(w io.Writer) bool
	// HTTP is the client for every request; nil means a default one.
	HTTP *http.Client
	// ConfigDir overrides os.UserConfigDir() (tests).
	ConfigDir string
	// PollInterval is how often watch and --log poll; 0 means 2s.
	PollInterval time.Duration
}

// OSEnv is the Env of the running process.
func OSEnv() Env {
	return Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, IsTerminal: isTerminal}
}

// isTerminal reports whether w is an *os.File on a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func (e *Env) fill() {
	if e.Stdin == nil {
		e.Stdin = strings.NewReader("")
	}
	if e.Stdout == nil {
		e.Stdout = io.Discard
	}
	if e.Stderr == nil {
		e.Stderr = io.Discard
	}
	if e.Getenv == nil {
		e.Getenv = func(string) string { return "" }
	}
	if e.IsTerminal == nil {
		e.IsTerminal = func(io.Writer) bool { return false }
	}
	if e.PollInterval <= 0 {
		e.PollInterval = 2 * time.Second
	}
	if e.HTTP == nil {
		e.HTTP = &http.Client{Transport: defaultTransport(), CheckRedirect: checkRedirect}
	}
}

// Commands lists the commands this package serves, for the binary's dispatch.
var Commands = []string{"login", "logout", "artifacts", "pipeline", "ci"}

const usage = `Commands of the baton CLI:
  login                 check a server URL and token and keep them (0600, in your config dir)
  logout                forget the stored login
  artifacts get [PATH]  download an archive, or one file of it (resumable, SHA-256 verified)
  artifacts cat PATH    print one file of an archive
  artifacts ls          list an archive's files with size and SHA-256
  artifacts wait        wait until an artifact exists
  artifacts publish NAME FILE   publish FILE as NAME from inside a running job
  pipeline status       the jobs of a pipeline by stage, with statuses
  pipeline watch        the same, refreshed until the pipeline finishes (--log JOB follows a log)
  ci lint FILE          check a .gitlab-ci.yml

Every command takes --url and --token (or BATON_URL, BATON_TOKEN), --json, -h.
Exit codes: 0 ok, 1 usage, 2 not found, 3 auth, 4 digest mismatch, 5 timeout,
6 conflict, 7 network or server error, 8 lint invalid / pipeline not successful.
`

// Main runs the CLI command args[0] with args[1:].
func Main(ctx context.Context, args []string, env Env) error {
	env.fill()
	if len(args) == 0 {
		fmt.Fprint(env.Stderr, usage)
		return exitf(ExitUsage, "no command given")
	}
	sub := func(name string, cmds map[string]func(context.Context, []string, Env) error) error {
		if len(args) < 2 || args[1] == "-h" || args[1] == "--help" || args[1] == "help" {
			fmt.Fprint(env.Stderr, usage)
			if len(args) < 2 {
				return exitf(ExitUsage, "%s: name a subcommand", name)
			}
			return nil
		}
		f, ok := cmds[args[1]]
		if !ok {
			fmt.Fprint(env.Stderr, usage)
			return exitf(ExitUsage, "%s: unknown subcommand %q", name, args[1])
		}
		return f(ctx, args[2:], env)
	}
	switch args[0] {
	case "login":
		return login(ctx, args[1:], env)
	case "logout":
		return logout(ctx, args[1:], env)
	case "artifacts":
		return sub("artifacts", map[string]func(context.Context, []string, Env) error{
			"get": artifactsGet, "cat": artifactsCat, "ls": artifactsLs, "wait": artifactsWait, "publish": artifactsPublish,
		})
	case "pipeline":
		return sub("pipeline", map[string]func(context.Context, []string, Env) error{
			"status": pipelineStatus, "watch": pipelineWatch,
		})
	case "ci":
		return sub("ci", map[string]func(context.Context, []string, Env) error{"lint": ciLint})
	}
	fmt.Fprint(env.Stderr, usage)
	return exitf(ExitUsage, "unknown command %q", args[0])
}

// common are the flags every command takes.
type common struct {
	url, token string
	json       bool
}

func (c *common) bind(fs *flag.FlagSet) {
	fs.StringVar(&c.url, "url", "", "server URL (default: BATON_URL, the job's CI_API_V4_URL, or the stored login)")
	fs.StringVar(&c.token, "token", "", "personal or job token (default: BATON_TOKEN, the job's CI_JOB_TOKEN, or the stored login)")
	fs.BoolVar(&c.json, "json", false, "print JSON for scripts")
}

// parseArgs parses flags that may come before, between or after the
// positional arguments, and checks their count is within [min, max].
func parseArgs(fs *flag.FlagSet, args []string, env Env, min, max int) ([]string, error) {
	fs.SetOutput(env.Stderr)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, &ExitError{Code: ExitOK, Err: err}
			}
			return nil, &ExitError{Code: ExitUsage, Err: err}
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		if args[0] == "--" {
			pos = append(pos, args[1:]...)
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if len(pos) < min || len(pos) > max {
		fs.Usage()
		return nil, exitf(ExitUsage, "%s: want %s, got %d", fs.Name(), argCount(min, max), len(pos))
	}
	return pos, nil
}

func argCount(min, max int) string {
	switch {
	case min == max && min == 0:
		return "no arguments"
	case min == max:
		return fmt.Sprintf("%d argument(s)", min)
	}
	return fmt.Sprintf("%d to %d arguments", min, max)
}
