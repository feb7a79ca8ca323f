package ciconfig

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/batonci/baton/internal/ci"
)

// TestCorpus plans real .gitlab-ci.yml files of public projects
// (testdata/corpus/<name>.yml, each naming its source) for a push to the
// project's default branch and compares the jobs and stages with
// <name>.expected, written by reading each file as GitLab would (never
// generated from Baton's output). Includes that point outside the file's
// repository are served from testdata/corpus/stubs/<project>/<ref>/<path>,
// files fetched from the included project; a file that cannot be planned
// for a reason outside Baton is listed with that reason in its .expected
// ("# skip: ...") and reported, never silently passed.
//
// <name>.files/ holds the repository's own files at the commit the .yml
// names (local includes), each listed by "# exists:".
//
// .expected header lines: "# ref: BRANCH" (the default branch, "main" if
// absent), "# project: PATH", "# exists: PATH" (a repository file rules:exists
// and include:local may see; repeatable), "# filtered" (workflow:rules
// create no pipeline), "# nojobs" (no job is selected, so no pipeline),
// "# invalid" (GitLab reports the file as invalid),
// "# skip: REASON" (not planned: the file needs a project or server whose
// files are not in stubs/), "# gap: REASON" (a known gap: Baton refuses or
// plans otherwise what GitLab plans; the jobs listed are GitLab's, and the
// test fails once Baton plans them, so the entry is dropped). Then one
// "job<TAB>stage" line per job.
//
// The push is the default branch's, protected as GitLab protects a new
// project's default branch, seen without a diff (rules:changes hold), with
// no project or instance CI/CD variables. Files that read nothing from
// another project or server (stubs/) are counted apart: "self-contained".
func TestCorpus(t *testing.T) {
	names, err := filepath.Glob("testdata/corpus/*.yml")
	if err != nil || len(names) == 0 {
		t.Fatalf("no corpus files: %v", err)
	}
	planned, skipped, gaps := 0, map[string]string{}, map[string]string{}
	selfContained, selfPlanned := 0, 0
	for _, file := range names {
		name := strings.TrimSuffix(filepath.Base(file), ".yml")
		t.Run(name, func(t *testing.T) {
			exp := readExpected(t, strings.TrimSuffix(file, ".yml")+".expected")
			if exp.skip != "" {
				skipped[name] = exp.skip
				t.Skipf("skipped: %s", exp.skip)
			}
			content, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			repo := map[string]string{}
			for _, p := range exp.exists {
				data, err := os.ReadFile(filepath.Join("testdata/corpus", name+".files", p))
				if err != nil {
					data = []byte("present\n") // a file rules:exists looks for; its content is not read
				}
				repo[p] = string(data)
			}
			vars := map[string]string{
				"CI_COMMIT_BRANCH": exp.ref, "CI_COMMIT_REF_NAME": exp.ref, "CI_DEFAULT_BRANCH": exp.ref,
				"CI_PIPELINE_SOURCE": "push", "CI_PROJECT_PATH": exp.project, "CI_PROJECT_NAME": filepath.Base(exp.project),
				"CI_PROJECT_NAMESPACE": filepath.Dir(exp.project), "CI_COMMIT_SHA": "0123456789abcdef0123456789abcdef01234567",
				"CI_COMMIT_SHORT_SHA": "01234567", "CI_COMMIT_REF_SLUG": exp.ref, "CI_SERVER_HOST": "gitlab.example.com",
				"CI_COMMIT_TITLE": "Update", "CI_COMMIT_MESSAGE": "Update\n",
				// GitLab protects a new project's default branch.
				"CI_COMMIT_REF_PROTECTED": "true",
			}
			src, usedStubs := corpusSources(), false
			projectFile, remote := src.ProjectFile, src.Remote
			src.ProjectFile = func(project, ref, path string) ([]byte, error) {
				usedStubs = true
				return projectFile(project, ref, path)
			}
			src.Remote = func(url string) ([]byte, error) {
				usedStubs = true
				return remote(url)
			}
			plan, err := Plan(Input{Content: content, Variables: vars, ReadFile: repoFiles(repo), Sources: src})
			if !usedStubs {
				selfContained++
			}
			ok := func() {
				planned++
				if !usedStubs {
					selfPlanned++
				}
			}
			if exp.gap != "" {
				// A known gap: the expected jobs are GitLab's and Baton
				// does not plan them. Reported, and checked to still
				// differ so the entry is revisited once Baton plans them.
				if err == nil && sameJobs(plan, exp.jobs) {
					t.Fatalf("gap closed: Baton now plans this file as GitLab would; drop '# gap: %s'", exp.gap)
				}
				gaps[name] = exp.gap
				return
			}
			if exp.invalid {
				if err == nil || ci.KindOf(err) != ci.KindInvalid || errors.Is(err, ErrFilteredByWorkflow) || errors.Is(err, ErrNoJobs) {
					t.Fatalf("want an invalid configuration, got %v", err)
				}
				ok()
				return
			}
			if exp.nojobs {
				if err != ErrNoJobs {
					t.Fatalf("want no pipeline (no job selected), got %v", err)
				}
				ok()
				return
			}
			if exp.filtered {
				if err != ErrFilteredByWorkflow {
					t.Fatalf("want no pipeline (workflow:rules), got %v (planned: %v)", err, err == nil)
				}
				ok()
				return
			}
			if err != nil {
				t.Fatalf("Plan: %v", err)
			}
			if !sameJobs(plan, exp.jobs) {
				t.Fatalf("jobs differ\n got:\n%s\nwant:\n%s", strings.Join(sortedJobs(plan), "\n"), strings.Join(sortedLines(exp.jobs), "\n"))
			}
			ok()
		})
	}
	t.Logf("%d of %d plan as GitLab would; of the %d self-contained files (no other project or server), %d",
		planned, len(names), selfContained, selfPlanned)
	for _, name := range sortedKeys(skipped) {
		t.Logf("skipped %s: %s", name, skipped[name])
	}
	for _, name := range sortedKeys(gaps) {
		t.Logf("known gap %s: %s", name, gaps[name])
	}
}

func sortedJobs(plan *ci.PipelinePlan) []string {
	var got []string
	for _, j := range plan.Jobs {
		got = append(got, j.Name+"\t"+j.Stage)
	}
	return sortedLines(got)
}

func sortedLines(lines []string) []string {
	out := append([]string(nil), lines...)
	sort.Strings(out)
	return out
}

func sameJobs(plan *ci.PipelinePlan, want []string) bool {
	return strings.Join(sortedJobs(plan), "\n") == strings.Join(sortedLines(want), "\n")
}

func sortedKeys(m map[string]string) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

type corpusExpected struct {
	ref, project, skip string
	gap                string
	exists             []string
	filtered, invalid  bool
	nojobs             bool
	jobs               []string
}

func readExpected(t *testing.T, path string) corpusExpected {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("every corpus file needs its expectation: %v", err)
	}
	defer f.Close()
	exp := corpusExpected{ref: "main", project: "group/project"}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "# ref: "):
			exp.ref = strings.TrimPrefix(line, "# ref: ")
		case strings.HasPrefix(line, "# project: "):
			exp.project = strings.TrimPrefix(line, "# project: ")
		case strings.HasPrefix(line, "# exists: "):
			exp.exists = append(exp.exists, strings.TrimPrefix(line, "# exists: "))
		case strings.HasPrefix(line, "# gap: "):
			exp.gap = strings.TrimPrefix(line, "# gap: ")
		case strings.HasPrefix(line, "# differs: "): // the older name of "# gap:"
			exp.gap = strings.TrimPrefix(line, "# differs: ")
		case strings.HasPrefix(line, "# skip: "):
			exp.skip = strings.TrimPrefix(line, "# skip: ")
		case line == "# filtered":
			exp.filtered = true
		case line == "# nojobs":
			exp.nojobs = true
		case line == "# invalid":
			exp.invalid = true
		case strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "":
		default:
			if !strings.Contains(line, "\t") {
				t.Fatalf("%s: %q is not job<TAB>stage", path, line)
			}
			exp.jobs = append(exp.jobs, line)
		}
	}
	return exp
}

// corpusSources serves includes of other projects from
// testdata/corpus/stubs/<project>/<ref>/<path> and remote includes from
// testdata/corpus/stubs/remote/<host>/<path>.
func corpusSources() Sources {
	return Sources{
		ServerFQDN: "gitlab.gnome.org",
		ProjectFile: func(project, ref, path string) ([]byte, error) {
			// GitLab's project paths are case-insensitive (gnome/citemplates
			// is GNOME/citemplates).
			dir, ok := stubProjectDir(project)
			if !ok {
				return nil, ErrProjectNotFound
			}
			if ref == "" {
				// The project's default branch: stubs/<project>/HEAD, else main.
				ref = "main"
				if head, err := os.ReadFile(filepath.Join(dir, "HEAD")); err == nil {
					ref = strings.TrimSpace(string(head))
				}
			}
			return os.ReadFile(filepath.Join(dir, ref, filepath.FromSlash(path)))
		},
		Remote: func(url string) ([]byte, error) {
			rest := strings.TrimPrefix(strings.TrimPrefix(url, "https://"), "http://")
			return os.ReadFile(filepath.Join("testdata/corpus/stubs/remote", filepath.FromSlash(rest)))
		},
	}
}

// stubProjectDir finds testdata/corpus/stubs/<project>, matching each path
// segment without regard to case as GitLab does.
func stubProjectDir(project string) (string, bool) {
	dir := "testdata/corpus/stubs"
	for _, seg := range strings.Split(project, "/") {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return "", false
		}
		found := ""
		for _, e := range entries {
			if e.IsDir() && strings.EqualFold(e.Name(), seg) {
				found = e.Name()
				break
			}
		}
		if found == "" || seg == "remote" && dir == "testdata/corpus/stubs" {
			return "", false
		}
		dir = filepath.Join(dir, found)
	}
	return dir, true
}
