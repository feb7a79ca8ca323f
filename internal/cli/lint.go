package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
)

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// ciLint is `baton ci lint FILE`: POST /projects/:id/ci/lint with the
// file's content; the exit code is ExitFailed when it is invalid.
func ciLint(ctx context.Context, args []string, env Env) error {
	fl := flag.NewFlagSet("ci lint", flag.ContinueOnError)
	var cm common
	cm.bind(fl)
	project := fl.String("project", "", "project whose context (includes, variables) lints it (default: CI_PROJECT_ID)")
	ref := fl.String("ref", "", "ref to lint it as if pushed to (default: the default branch)")
	fl.Usage = func() {
		fmt.Fprintln(env.Stderr, "Usage: baton ci lint FILE --project P   (FILE - reads standard input)")
		fl.PrintDefaults()
	}
	pos, err := parseArgs(fl, args, env, 1, 1)
	if err != nil {
		return err
	}
	if *project == "" {
		*project = env.Getenv("CI_PROJECT_ID")
	}
	if *project == "" {
		return exitf(ExitUsage, "name the project: --project group/app (or its id)")
	}
	var content []byte
	if pos[0] == "-" {
		content, err = io.ReadAll(env.Stdin)
	} else {
		content, err = os.ReadFile(pos[0])
	}
	if err != nil {
		return exitf(ExitUsage, "%v", err)
	}
	c, err := clientFor(cm, env)
	if err != nil {
		return err
	}
	in := map[string]any{"content": string(content)}
	if *ref != "" {
		in["ref"] = *ref
	}
	body, _ := json.Marshal(in)
	req, err := c.request(ctx, http.MethodPost, "/api/v4/projects/"+projectRef(*project)+"/ci/lint", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var out struct {
		Valid    bool     `json:"valid"`
		Errors   []string `json:"errors"`
		Warnings []string `json:"warnings"`
	}
	raw, err := io.ReadAll(resp.Body)
	if err == nil {
		err = json.Unmarshal(raw, &out)
	}
	if err != nil {
		return exitf(ExitServer, "reading the answer: %v", err)
	}
	if cm.json {
		var v any
		_ = json.Unmarshal(raw, &v)
		if err := writeJSON(env.Stdout, v); err != nil {
			return err
		}
	} else {
		for _, e := range out.Errors {
			fmt.Fprintf(env.Stdout, "error: %s\n", e)
		}
		for _, w := range out.Warnings {
			fmt.Fprintf(env.Stdout, "warning: %s\n", w)
		}
		if out.Valid {
			fmt.Fprintf(env.Stdout, "%s is valid\n", pos[0])
		}
	}
	if !out.Valid {
		return exitf(ExitFailed, "%s is invalid: %d error(s)", pos[0], len(out.Errors))
	}
	return nil
}
