package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/runner"
)

// runServer is `baton server` and, with builtinRunner, `baton up`.
func runServer(ctx context.Context, args []string, stdout, stderr io.Writer, builtinRunner bool) error {
	name := "server"
	if builtinRunner {
		name = "up"
	}
	fs := flag.NewFlagSet("baton "+name, flag.ContinueOnError)
	var m Main
	m.Config.bind(fs)
	concurrency := 2
	if builtinRunner {
		bindRunnerConcurrency(fs, &concurrency)
	}
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	m.Config.GenerateKey = builtinRunner // `baton up` makes one in DATA_DIR if none is given
	if err := m.Open(ctx); err != nil {
		return err
	}
	defer m.Close()
	if err := m.Serve(ctx, nil); err != nil {
		return err
	}
	if m.GeneratedKeyFile != "" {
		fmt.Fprintf(stdout, "Generated the key that encrypts CI/CD variables: %s (keep it, back it up with the database; pass it to other replicas with --secrets-key-file).\n\n", m.GeneratedKeyFile)
	}
	if m.AdminToken != "" {
		fmt.Fprintf(stdout, "Created the administrator \"root\". Its personal access token (shown once, keep it):\n\n    %s\n\n", m.AdminToken)
	}
	if builtinRunner {
		token, err := builtinRunnerToken(ctx, &m)
		if err != nil {
			return err
		}
		r, err := runner.New(runner.Config{URL: m.Config.ExternalURL, Token: token, Name: "baton-builtin",
			BuildsDir: filepath.Join(m.Config.DataDir, "builds"), CacheDir: filepath.Join(m.Config.DataDir, "cache"), Concurrency: concurrency, Logger: m.Logger.With("component", "runner")})
		if err != nil {
			return err
		}
		// The runner has a context of its own: at shutdown it must finish
		// (cancel its jobs, send their final updates) while the server still
		// answers, or it would retry against a closed port for minutes.
		runnerCtx, stopRunner := context.WithCancel(context.Background())
		runnerDone := make(chan struct{})
		go func() {
			defer close(runnerDone)
			if err := r.Run(runnerCtx); err != nil && runnerCtx.Err() == nil {
				m.Logger.Error("built-in runner stopped", "err", err)
			}
		}()
		defer func() {
			stopRunner()
			select {
			case <-runnerDone:
			case <-time.After(30 * time.Second):
				m.Logger.Warn("the built-in runner did not stop within 30 s; shutting down anyway")
			}
		}()
		printWelcome(stdout, &m)
	}
	<-ctx.Done()
	m.Logger.Info("shutting down")
	return nil
}

// bindRunnerConcurrency registers `baton up`'s --runner-concurrency.
func bindRunnerConcurrency(fs *flag.FlagSet, p *int) {
	fs.IntVar(p, "runner-concurrency", int(envInt("BATON_RUNNER_CONCURRENCY", int64(*p))), "jobs the built-in runner runs at once ($BATON_RUNNER_CONCURRENCY)")
}

// builtinRunnerToken returns the built-in runner's token, registering an
// instance runner on first start and keeping its secret in the data
// directory (mode 0600) as gitlab-runner keeps it in config.toml.
func builtinRunnerToken(ctx context.Context, m *Main) (string, error) {
	path := filepath.Join(m.Config.DataDir, "builtin-runner.token")
	if b, err := os.ReadFile(path); err == nil {
		token := strings.TrimSpace(string(b))
		if _, err := m.Store.RunnerByTokenHash(ctx, auth.Hash(token)); err == nil {
			return token, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	secret, hash := auth.NewToken(auth.PrefixRunner)
	r := &ci.Runner{Description: "built-in runner (baton up)", TokenHash: hash, RunnerType: ci.RunnerInstance,
		RunUntagged: true, AccessLevel: "not_protected", Executor: "shell"}
	if err := m.Store.CreateRunner(ctx, r); err != nil {
		return "", fmt.Errorf("registering the built-in runner: %w", err)
	}
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("saving the built-in runner's token: %w", err)
	}
	return secret, nil
}

func printWelcome(w io.Writer, m *Main) {
	token := m.AdminToken
	if token == "" {
		token = "<your token: baton admin token create --data-dir " + m.Config.DataDir + ">"
	}
	fmt.Fprintf(w, `Baton is up at %[1]s with a built-in runner.

Try it:

    export BATON=%[1]s TOKEN=%[2]s
    curl -s -H "PRIVATE-TOKEN: $TOKEN" -X POST "$BATON/api/v4/projects?name=demo"
    git clone "http://root:$TOKEN@${BATON#http://}/root/demo.git" && cd demo
    # add a .gitlab-ci.yml (see README.md), then:
    git add . && git commit -m "first pipeline" && git push origin HEAD

Then fetch an artifact of the running pipeline by job name:

    curl -H "PRIVATE-TOKEN: $TOKEN" -o build.zip \
      "$BATON/api/v4/projects/root%%2Fdemo/pipelines/<pipeline id>/artifacts?job=build"

`, m.Config.ExternalURL, token)
}
