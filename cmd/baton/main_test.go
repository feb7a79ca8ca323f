package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/batonci/baton/internal/testpg"
)

// childArgsEnv, when set, makes the test binary run `baton` with these
// arguments (a JSON array) instead of the tests: a server a test can kill.
const childArgsEnv = "BATON_TEST_CHILD_ARGS"

// TestMain stops the throwaway PostgreSQL cluster the tests started.
func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == "baton" {
		// Run as `baton` from a job's PATH (the runner links the running
		// executable, this test binary, there): be the CLI.
		os.Exit(exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr), os.Stderr))
	}
	if raw := os.Getenv(childArgsEnv); raw != "" {
		var args []string
		if err := json.Unmarshal([]byte(raw), &args); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(2)
		}
		if err := run(context.Background(), args, os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	testpg.Main(m)
}
