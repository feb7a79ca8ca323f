package main

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/batonci/baton/internal/api"
)

// TestREADMEFlags checks README.md's "Configuration" and "Security" tables
// against the flags `baton server`, `baton up` and `baton runner` define:
// every server flag has a Configuration row; every limit (a --max-* flag,
// and every flag the Configuration table sends to Security) has a Security
// row "| limit | `--flag` (`ENV`[, unit]) | default | what it protects |";
// and every flag either table names exists, with the environment variable
// and the default the code has.
func TestREADMEFlags(t *testing.T) {
	for _, kv := range os.Environ() { // the defaults, not this shell's settings
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "BATON_") {
			t.Setenv(k, "")
		}
	}
	server := flagSetForTest()
	var c Config
	c.bind(server)
	concurrency := 2
	bindRunnerConcurrency(server, &concurrency) // `baton up`'s own
	runnerFS := flagSetForTest()
	(&runnerFlags{}).bind(runnerFS)

	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	configRows := readmeTable(t, string(readme), "Configuration")
	securityRows := readmeTable(t, string(readme), "Security")

	// Security: | limit | `--flag` (`ENV`[, unit]) | default | protects |
	secFlag := regexp.MustCompile("^`--([a-z0-9-]+)` \\(`([A-Z0-9_]+)`(?:, ([^)]*))?\\)")
	inSecurity := map[string]bool{}
	units := map[string]int64{}
	for _, row := range securityRows {
		m := secFlag.FindStringSubmatch(row[1])
		if m == nil {
			continue // a constant or a policy, not a flag
		}
		name, env := m[1], m[2]
		fs := server
		if strings.HasPrefix(env, "BATON_RUNNER_") {
			fs = runnerFS
		}
		f := fs.Lookup(name)
		if f == nil {
			t.Errorf("Security row %q: no flag --%s", row[0], name)
			continue
		}
		inSecurity[name] = true
		switch {
		case strings.Contains(m[3], "KiB"):
			units[name] = 1 << 10
		case strings.Contains(m[3], "MiB"):
			units[name] = 1 << 20
		}
		if got := flagEnv(f); got != env {
			t.Errorf("Security row --%s: README says %s, the flag reads $%s", name, env, got)
		}
		if err := defaultAgrees(row[2], f, units[name]); err != nil {
			t.Errorf("Security row --%s: %v", name, err)
		}
	}

	// Configuration: | `--a` [/ `--b` | , `--b`] | `ENV` [/ `ENV2`] or `BATON_X_*` | default [/ default2] | meaning |
	flagName := regexp.MustCompile("`--([a-z0-9-]+)`")
	inConfig := map[string]bool{}
	for _, row := range configRows {
		var names []string
		for _, m := range flagName.FindAllStringSubmatch(row[0], -1) {
			names = append(names, m[1])
		}
		if len(names) == 0 {
			t.Errorf("Configuration row %q names no flag", row[0])
			continue
		}
		envs := splitAlternatives(row[1])
		defaults := splitAlternatives(row[2])
		toSecurity := strings.Contains(row[2], "(#security)")
		for i, name := range names {
			f := server.Lookup(name)
			if f == nil {
				t.Errorf("Configuration row %q: no flag --%s", row[0], name)
				continue
			}
			inConfig[name] = true
			if toSecurity {
				if !inSecurity[name] {
					t.Errorf("Configuration sends --%s to Security, which has no row for it", name)
				}
				continue
			}
			env := pick(envs, i, len(names))
			if env = strings.Trim(env, "`"); strings.HasSuffix(env, "*") {
				if !strings.HasPrefix(flagEnv(f), strings.TrimSuffix(env, "*")) {
					t.Errorf("Configuration row --%s: README says %s, the flag reads $%s", name, env, flagEnv(f))
				}
			} else if env != flagEnv(f) {
				t.Errorf("Configuration row --%s: README says %s, the flag reads $%s", name, env, flagEnv(f))
			}
			if err := defaultAgrees(pick(defaults, i, len(names)), f, units[name]); err != nil {
				t.Errorf("Configuration row --%s: %v", name, err)
			}
		}
	}

	server.VisitAll(func(f *flag.Flag) {
		if want := "BATON_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_")); flagEnv(f) != want {
			t.Errorf("--%s reads $%s; the README promises $%s (BATON_ and the flag in capitals)", f.Name, flagEnv(f), want)
		}
		if !inConfig[f.Name] {
			t.Errorf("--%s has no row in README's Configuration table", f.Name)
		}
		if strings.HasPrefix(f.Name, "max-") && !inSecurity[f.Name] {
			t.Errorf("limit --%s has no row in README's Security table", f.Name)
		}
	})
	if len(inSecurity) < 40 || len(inConfig) < 40 {
		t.Errorf("read %d Security and %d Configuration flags: is the README's table format still the one this test parses?",
			len(inSecurity), len(inConfig))
	}
}

// readmeTable is the rows (cells trimmed) of the first table in README
// section "## name", without its header.
func readmeTable(t *testing.T, readme, name string) [][]string {
	t.Helper()
	_, section, ok := strings.Cut(readme, "\n## "+name+"\n")
	if !ok {
		t.Fatalf("README.md has no section %q", name)
	}
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	var rows [][]string
	header := true
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "|") {
			if len(rows) > 0 {
				break
			}
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 4 {
			t.Errorf("README %s row has %d cells, want 4: %s", name, len(cells), line)
			continue
		}
		if header || strings.HasPrefix(cells[0], "---") {
			header = false
			continue
		}
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		rows = append(rows, cells)
	}
	if len(rows) == 0 {
		t.Fatalf("README section %q has no table", name)
	}
	return rows
}

// flagEnv is the environment variable a flag's usage names: "... ($ENV)".
func flagEnv(f *flag.Flag) string {
	i := strings.LastIndex(f.Usage, "($")
	if i < 0 || !strings.HasSuffix(f.Usage, ")") {
		return ""
	}
	return f.Usage[i+2 : len(f.Usage)-1]
}

// splitAlternatives splits "a / b" into its parts.
func splitAlternatives(cell string) []string { return strings.Split(cell, " / ") }

// pick is part i of parts when there is one part per flag, else the one
// part that holds for all.
func pick(parts []string, i, flags int) string {
	if len(parts) == flags {
		return strings.TrimSpace(parts[i])
	}
	return strings.TrimSpace(strings.Join(parts, " / "))
}

var leadingNumber = regexp.MustCompile(`^(-?[0-9][0-9,]*)\s*(KiB|MiB|GiB)?`)

// defaultAgrees reports whether the README's default cell starts with the
// flag's default. unit is how many bytes one unit of the flag is (0: the
// flag is a plain number); a number in the README followed by KiB, MiB or
// GiB is in bytes that way, else in the flag's unit.
func defaultAgrees(cell string, f *flag.Flag, unit int64) error {
	text := strings.TrimSpace(strings.ReplaceAll(cell, "`", ""))
	word := text
	if i := strings.IndexAny(word, " ;,("); i >= 0 {
		word = word[:i]
	}
	switch v := f.Value.(flag.Getter).Get().(type) {
	case int64, int:
		want, _ := strconv.ParseInt(f.DefValue, 10, 64)
		m := leadingNumber.FindStringSubmatch(text)
		if m == nil {
			return fmt.Errorf("README default %q is no number; the flag's is %d", cell, want)
		}
		n, _ := strconv.ParseInt(strings.ReplaceAll(m[1], ",", ""), 10, 64)
		if unit == 0 {
			unit = 1
		}
		got, wantBytes := n*unit, want*unit
		switch m[2] {
		case "KiB":
			got = n << 10
		case "MiB":
			got = n << 20
		case "GiB":
			got = n << 30
		}
		if got != wantBytes {
			return fmt.Errorf("README default %q, the flag's is %d", cell, want)
		}
	case time.Duration:
		d, err := time.ParseDuration(word)
		if err != nil || d != v {
			return fmt.Errorf("README default %q, the flag's is %s", cell, v)
		}
	case bool:
		if word != strconv.FormatBool(v) {
			return fmt.Errorf("README default %q, the flag's is %v", cell, v)
		}
	case string:
		if v == "" {
			// Unset, or derived from other flags as the usage says.
			lower := strings.ToLower(text)
			for _, p := range []string{"none", "unset", "empty"} {
				if strings.HasPrefix(lower, p) {
					return nil
				}
			}
			if text != "" && strings.Contains(f.Usage, text) {
				return nil
			}
			return fmt.Errorf("README default %q: the flag has none (say none, unset or empty) and its usage %q does not say %q", cell, f.Usage, text)
		}
		if text != v && !strings.HasPrefix(text, v+" ") {
			return fmt.Errorf("README default %q, the flag's is %q", cell, v)
		}
	default:
		return fmt.Errorf("flag of type %T: teach defaultAgrees to read it", v)
	}
	return nil
}

// TestREADMEAPIRoutes: every route of the REST API (but the 404 catch-all) has a curl example in
// README.md with its method (-X METHOD; -d, -F or --data* without -X:
// POST; -I: HEAD; else GET) and a URL whose path fits the route's pattern.
func TestREADMEAPIRoutes(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	examples := readmeCurls(string(readme))
	if len(examples) < 50 {
		t.Fatalf("read %d curl examples from README.md: is this test still reading them right?", len(examples))
	}
	for _, rt := range (&api.Server{}).Routes() {
		method, path, ok := strings.Cut(rt.Pattern, " ")
		if !ok {
			continue // the catch-all answering 404
		}
		pattern := strings.Split(strings.TrimPrefix(path, "/api/v4/"), "/")
		found := false
		for _, ex := range examples {
			if ex.method == method && routeFits(pattern, ex.path) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("README.md has no curl example of %s", rt.Pattern)
		}
	}
}

// curlExample is one curl command's method and the path segments of one
// of its API URLs (after /api/v4/).
type curlExample struct {
	method string
	path   []string
}

var (
	curlMethod = regexp.MustCompile(`-X\s*([A-Z]+)`)
	curlData   = regexp.MustCompile(`\s(-d|-F|--data\S*|--upload-file|-T)\s`)
	curlHead   = regexp.MustCompile(`\s(-I|-sI|--head)\b`)
	curlURL    = regexp.MustCompile(`(?:/api/v4|\$CI_API_V4_URL)/([^\s"'?#)]*)`)
)

// readmeCurls finds the curl commands of text, joining continued lines.
func readmeCurls(text string) []curlExample {
	var out []curlExample
	for _, line := range strings.Split(strings.ReplaceAll(text, "\\\n", " "), "\n") {
		parts := strings.Split(line, "curl ")
		for _, cmd := range parts[1:] {
			method := "GET"
			switch m := curlMethod.FindStringSubmatch(cmd); {
			case m != nil:
				method = m[1]
			case curlHead.MatchString(" " + cmd):
				method = "HEAD"
			case curlData.MatchString(" " + cmd):
				method = "POST"
			}
			for _, u := range curlURL.FindAllStringSubmatch(cmd, -1) {
				out = append(out, curlExample{method, strings.Split(u[1], "/")})
			}
		}
	}
	return out
}

// routeFits reports whether path fits pattern: {name} takes any one
// segment, {name...} the rest, other segments must be equal.
func routeFits(pattern, path []string) bool {
	for i, p := range pattern {
		if strings.HasSuffix(p, "...}") {
			return len(path) > i
		}
		if i >= len(path) {
			return false
		}
		if !strings.HasPrefix(p, "{") && p != path[i] {
			return false
		}
	}
	return len(path) == len(pattern)
}
