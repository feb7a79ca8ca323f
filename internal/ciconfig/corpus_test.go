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
// .expected header lines: "# ref: BRANCH" (the default branch, "main" if
// absent), "# project: PATH", "# exists: PATH" (a repository file rules:exists
// and include:local may see; repeatable), "# filtered" (workflow:rules
// create no pipeline), "# nojobs" (no job is selected, so no pipeline),
// "# invalid" (GitLab reports the file as invalid),
// "# skip: REASON" (not planned: a reason outside Baton), "# differs: REASON"
// (Baton refuses what GitLab plans; the jobs listed are GitLab's). Then one "job<TAB>stage" line per
// job.
func TestCorpus(t *testing.T) {
	names, err := filepath.Glob("testdata/corpus/*.yml")
	if err != nil || len(names) == 0 {
		t.Fatalf("no corpus files: %v", err)
	}
	planned, skipped, differs := 0, map[string]string{}, map[string]string{}
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
			}
			plan, err := Plan(Input{Content: content, Variables: vars, ReadFile: repoFiles(repo), Sources: corpusSources()})
			if exp.differs != "" {
				// A known difference: Baton refuses what GitLab plans (the
				// expected jobs are GitLab's). Reported, and checked to
				// still be refused so the entry is revisited when it plans.
				if err == nil {
					t.Fatalf("Baton now plans this file (%v): compare with the expected jobs and drop '# differs'", jobNames(plan))
				}
				differs[name] = exp.differs
				return
			}
			if exp.invalid {
				if err == nil || ci.KindOf(err) != ci.KindInvalid || errors.Is(err, ErrFilteredByWorkflow) || errors.Is(err, ErrNoJobs) {
					t.Fatalf("want an invalid configuration, got %v", err)
				}
				planned++
				return
			}
			if exp.nojobs {
				if err != ErrNoJobs {
					t.Fatalf("want no pipeline (no job selected), got %v", err)
				}
				planned++
				return
			}
			if exp.filtered {
				if err != ErrFilteredByWorkflow {
					t.Fatalf("want no pipeline (workflow:rules), got %v (planned: %v)", err, err == nil)
				}
				planned++
				return
			}
			if err != nil {
				t.Fatalf("Plan: %v", err)
			}
			var got []string
			for _, j := range plan.Jobs {
				got = append(got, j.Name+"\t"+j.Stage)
			}
			sort.Strings(got)
			want := append([]string(nil), exp.jobs...)
			sort.Strings(want)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("jobs differ\n got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			planned++
		})
	}
	t.Logf("%d of %d plan as GitLab would", planned, len(names))
	for name, why := range skipped {
		t.Logf("skipped %s: %s", name, why)
	}
	for name, why := range differs {
		t.Logf("differs from GitLab %s: %s", name, why)
	}
}

type corpusExpected struct {
	ref, project, skip string
	differs            string
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
		case strings.HasPrefix(line, "# differs: "):
			exp.differs = strings.TrimPrefix(line, "# differs: ")
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
			if ref == "" {
				ref = "main"
			}
			dir := filepath.Join("testdata/corpus/stubs", filepath.FromSlash(project))
			if _, err := os.Stat(dir); err != nil {
				return nil, ErrProjectNotFound
			}
			return os.ReadFile(filepath.Join(dir, ref, filepath.FromSlash(path)))
		},
		Remote: func(url string) ([]byte, error) {
			rest := strings.TrimPrefix(strings.TrimPrefix(url, "https://"), "http://")
			return os.ReadFile(filepath.Join("testdata/corpus/stubs/remote", filepath.FromSlash(rest)))
		},
	}
}
