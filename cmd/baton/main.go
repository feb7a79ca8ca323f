// Command baton is Baton, a self-hosted CI coordinator: git hosting,
// .gitlab-ci.yml pipelines, the GitLab runner protocol, a GitLab-compatible
// API, and artifacts addressable by pipeline, commit, ref or job.
//
//	baton up                      server + built-in runner, embedded defaults
//	baton server                  the coordinator only
//	baton runner --url --token    a runner for any GitLab-compatible coordinator
//	baton admin token create      print a new admin personal access token
//	baton login | artifacts | pipeline | ci   the CLI for humans (internal/cli)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/batonci/baton/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr), os.Stderr))
}

// exit prints err and returns the process exit code: the CLI's codes
// (internal/cli), 0 for -h, 1 for any other error.
func exit(err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintln(stderr, "baton:", err)
	return cli.Code(err)
}

const usage = `Usage: baton <command> [flags]

Commands:
  up                    start the server with a built-in runner (single machine)
  server                start the server
  runner                run jobs for a GitLab-compatible coordinator
  admin token create    print a new personal access token for an administrator
  login                 keep a server URL and token for the commands below
  artifacts             get, cat, ls, wait for and publish artifacts
  pipeline              status and watch of a pipeline's jobs (and a job's log)
  ci lint FILE          check a .gitlab-ci.yml
  version               print the version

Run "baton <command> -h" for the command's flags.
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("no command given")
	}
	switch args[0] {
	case "server":
		return runServer(ctx, args[1:], stdout, stderr, false)
	case "up":
		return runServer(ctx, args[1:], stdout, stderr, true)
	case "runner":
		return runRunner(ctx, args[1:], stderr)
	case "admin":
		return runAdmin(ctx, args[1:], stdout, stderr)
	case "login", "logout", "artifacts", "pipeline", "ci":
		env := cli.OSEnv()
		env.Stdout, env.Stderr = stdout, stderr
		return cli.Main(ctx, args, env)
	case "version", "--version":
		fmt.Fprintln(stdout, "baton", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

func parse(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	return nil
}
