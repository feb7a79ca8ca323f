// Package archtest checks the shape of the house: which package may import
// which, that only the policy compares access levels, and that the import
// graph in docs/ARCHITECTURE.md is the one the code has.
package archtest

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/batonci/baton/"

var update = flag.Bool("update", false, "rewrite the import graph in docs/ARCHITECTURE.md")

type pkg struct {
	ImportPath string
	Dir        string
	Imports    []string
	GoFiles    []string
}

// packages lists the module's packages (tests excluded) with their imports
// of the module's own packages.
func packages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", "./...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var ps []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		var own []string
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, module) {
				own = append(own, strings.TrimPrefix(imp, module))
			}
		}
		p.ImportPath = strings.TrimPrefix(p.ImportPath, module)
		p.Imports = own
		ps = append(ps, p)
	}
	return ps
}

// graph is the import graph as text, one package a line.
func graph(ps []pkg) string {
	var b strings.Builder
	for _, p := range ps {
		if strings.HasPrefix(p.ImportPath, "bench/") || strings.HasPrefix(p.ImportPath, "tools") || strings.HasPrefix(p.ImportPath, "internal/archtest") {
			continue
		}
		imps := append([]string(nil), p.Imports...)
		sort.Strings(imps)
		b.WriteString(p.ImportPath + " → " + strings.Join(imps, ", ") + "\n")
	}
	return b.String()
}

func TestImportRules(t *testing.T) {
	for _, p := range packages(t) {
		for _, imp := range p.Imports {
			switch {
			case p.ImportPath == "internal/ci":
				t.Errorf("the domain imports %s; it must import nothing of ours", imp)
			case imp == "internal/api" && p.ImportPath != "cmd/baton":
				t.Errorf("%s imports internal/api; surfaces are siblings (share internal/httpx, internal/artifacts)", p.ImportPath)
			case imp == "internal/web" || imp == "internal/runnerapi" || imp == "internal/gitserve":
				if p.ImportPath != "cmd/baton" && !strings.HasPrefix(p.ImportPath, "bench/") {
					t.Errorf("%s imports the surface %s", p.ImportPath, imp)
				}
			case p.ImportPath == "internal/runner" && imp != "":
				t.Errorf("Baton's runner imports %s; it speaks only the runner protocol", imp)
			case p.ImportPath == "internal/cli" && imp != "":
				t.Errorf("the CLI imports %s; it talks to the REST API over HTTP only", imp)
			}
		}
	}
}

// levelCompare finds code that decides by comparing access levels.
var levelCompare = regexp.MustCompile(`(?:[<>]=?|==|!=)\s*ci\.Access[A-Z]\w*|ci\.Access[A-Z]\w*\s*(?:[<>]=?)|\.AccessLevel\s*[<>]=?|\blvl\s*(?:[<>]=?|==)`)

// TestOnlyThePolicyComparesLevels: every decision by access level is the
// policy's; the store computes levels and the domain defines them.
func TestOnlyThePolicyComparesLevels(t *testing.T) {
	for _, p := range packages(t) {
		switch p.ImportPath {
		case "internal/policy", "internal/ci", "internal/store":
			continue
		}
		for _, f := range p.GoFiles {
			src, err := os.ReadFile(filepath.Join(p.Dir, f))
			if err != nil {
				t.Fatal(err)
			}
			for i, line := range strings.Split(string(src), "\n") {
				if levelCompare.MatchString(line) {
					t.Errorf("%s/%s:%d compares access levels; ask internal/policy: %s", p.ImportPath, f, i+1, strings.TrimSpace(line))
				}
			}
		}
	}
}

const graphStart, graphEnd = "<!-- import graph: go test ./internal/archtest -update -->\n```\n", "```\n"

// TestDocumentedGraph: docs/ARCHITECTURE.md shows the import graph the code
// has (refresh it with go test ./internal/archtest -update).
func TestDocumentedGraph(t *testing.T) {
	path := "../../docs/ARCHITECTURE.md"
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	i := strings.Index(s, graphStart)
	if i < 0 {
		t.Fatalf("%s has no import graph block", path)
	}
	j := strings.Index(s[i+len(graphStart):], graphEnd)
	if j < 0 {
		t.Fatalf("%s: the import graph block is not closed", path)
	}
	have := s[i+len(graphStart) : i+len(graphStart)+j]
	want := graph(packages(t))
	if have == want {
		return
	}
	if *update {
		s = s[:i+len(graphStart)] + want + s[i+len(graphStart)+j:]
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("docs/ARCHITECTURE.md's import graph is stale; run go test ./internal/archtest -update\nwant:\n%s", want)
}
