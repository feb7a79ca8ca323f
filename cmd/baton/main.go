// Command baton is Baton, a self-hosted CI coordinator: git hosting,
// .gitlab-ci.yml pipelines, the GitLab runner protocol, a GitLab-compatible
// API, and artifacts addressable by pipeline, commit, ref or job.
//
//	baton up                      server + built-in runner, embedded defaults
//	baton server                  the coordinator only
//	baton runner --url --token    a runner for any GitLab-compatible coordinator
//	baton admin token create      print a new admin personal access token
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "baton:", err)
		os.Exit(1)
	}
}

const usage = `Usage: baton <command> [flags]

Commands:
  up                    start the server with a built-in runner (single machine)
  server                start the server
  runner                run jobs for a GitLab-compatible coordinator
  admin token create    print a new personal access token for an administrator
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
