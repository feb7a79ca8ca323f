package runner

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// matchGlob reports whether the slash-separated relative name matches
// pattern, where "**" matches any number of path segments (also none) and
// other segments follow path.Match.
func matchGlob(pattern, name string) bool {
	return matchSegments(strings.Split(pattern, "/"), strings.Split(name, "/"))
}

func matchSegments(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for len(pat) > 1 && pat[1] == "**" {
				pat = pat[1:]
			}
			if len(pat) == 1 {
				return true
			}
			for i := 0; i <= len(name); i++ {
				if matchSegments(pat[1:], name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, err := path.Match(pat[0], name[0]); err != nil || !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}

// cleanPattern makes an artifacts pattern relative to the project dir; ok is
// false for patterns that would leave it.
func cleanPattern(p string) (string, bool) {
	p = strings.TrimPrefix(strings.TrimSpace(p), "./")
	if p == "" {
		return "", false
	}
	c := path.Clean(p)
	if c == "." {
		return "**", true
	}
	if !filepath.IsLocal(filepath.FromSlash(c)) {
		return "", false
	}
	return c, true
}

// collectFiles returns the sorted slash paths, relative to dir, that an
// artifacts entry selects: matches of paths (directories with everything
// below), git's untracked files (ignored ones included), minus excludes.
// Symlinks are never followed, so nothing outside dir is selected. Patterns
// that match nothing produce a warning in the job log.
func (j *job) collectFiles(ctx context.Context, dir string, a jobArtifact) ([]string, error) {
	var pats []string
	for _, p := range a.Paths {
		c, ok := cleanPattern(j.relPattern(dir, p))
		if !ok {
			j.warnf("%s: not within the project directory, skipped", p)
			continue
		}
		pats = append(pats, c)
	}
	var excl []string
	for _, p := range a.Exclude {
		if c, ok := cleanPattern(j.relPattern(dir, p)); ok {
			excl = append(excl, c)
		}
	}
	selected := map[string]bool{}
	hits := make([]int, len(pats))
	if len(pats) > 0 {
		err := filepath.WalkDir(dir, func(full string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(dir, full)
			if rel == "." {
				return nil
			}
			rel = filepath.ToSlash(rel)
			if rel == ".git" && d.IsDir() {
				return fs.SkipDir
			}
			if parent := path.Dir(rel); parent != "." && selected[parent] {
				selected[rel] = true
				return nil
			}
			for i, p := range pats {
				if matchGlob(p, rel) {
					hits[i]++
					selected[rel] = true
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	for i, p := range pats {
		if hits[i] == 0 {
			j.warnf("%s: no matching files. Ensure that the artifact path is relative to the working directory (%s)", p, dir)
		}
	}
	if a.Untracked {
		if err := j.addUntracked(ctx, dir, selected); err != nil {
			j.warnf("listing untracked files: %v", err)
		}
	}
	var out []string
	for rel := range selected {
		if !excluded(rel, excl) {
			out = append(out, rel)
		}
	}
	sort.Strings(out)
	return out, nil
}

// relPattern expands $VAR references in an artifacts pattern, as the shell
// does for gitlab-runner, and makes absolute patterns inside dir relative.
func (j *job) relPattern(dir, p string) string {
	p = expand(p, j.vars)
	if filepath.IsAbs(p) {
		if rel, err := filepath.Rel(dir, p); err == nil {
			return filepath.ToSlash(rel)
		}
	}
	return p
}

// excluded reports whether rel or one of its parents matches an exclude pattern.
func excluded(rel string, excl []string) bool {
	for p := rel; p != "." && p != "/"; p = path.Dir(p) {
		for _, e := range excl {
			if matchGlob(e, p) {
				return true
			}
		}
	}
	return false
}

// addUntracked adds `git ls-files -o` (untracked, ignored files included) and their parents.
func (j *job) addUntracked(ctx context.Context, dir string, selected map[string]bool) error {
	cmd := exec.CommandContext(ctx, "git", "ls-files", "-o", "-z")
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, io.Discard
	if err := cmd.Run(); err != nil {
		return err
	}
	for _, f := range strings.Split(out.String(), "\x00") {
		if f == "" || !filepath.IsLocal(filepath.FromSlash(f)) {
			continue
		}
		selected[strings.TrimSuffix(f, "/")] = true
	}
	return nil
}
