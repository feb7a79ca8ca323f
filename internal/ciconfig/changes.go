package ciconfig

import (
	"errors"
	"fmt"
	"strings"

	"github.com/batonci/baton/internal/ci"
)

// maxRulePaths is GitLab's limit on the entries of one rules:changes or
// rules:exists ("has too many entries (maximum 50)").
const maxRulePaths = 50

// MaxExistsChecks is GitLab's bound on the glob comparisons one
// rules:exists makes: after the 10,000th, a rule with glob patterns
// matches. A listing of MaxExistsChecks+1 paths is all it ever needs.
const MaxExistsChecks = 10_000

// changesClause is a rules:changes (or only/except:changes).
type changesClause struct {
	paths     []string
	compareTo string // "" compares with the pipeline's own diff
}

// existsClause is a rules:exists.
type existsClause struct {
	paths   []string
	project string // another project's full path ("" the pipeline's)
	ref     string // its ref ("" its default branch)
}

// parseChanges reads changes: as an array of paths or a hash with paths
// and compare_to; kw names it in problems.
func parseChanges(n *node, kw string, probs *problems) *changesClause {
	c := &changesClause{}
	pathsNode := n
	if n.kind == kindMap {
		if bad := unknownKeys(n, map[string]bool{"paths": true, "compare_to": true}); bad != "" {
			probs.add("%s:changes config contains unknown keys: %s", kw, bad)
			return c
		}
		pathsNode = n.get("paths")
		if pathsNode == nil {
			probs.add("%s:changes config missing required keys: paths", kw)
			return c
		}
		if ct := n.get("compare_to"); ct != nil {
			s, ok := scalarString(ct)
			if !ok {
				probs.add("%s:changes compare_to should be a string", kw)
			}
			c.compareTo = s
		}
	}
	c.paths = rulePaths(pathsNode, kw, "changes", probs)
	return c
}

// rulePaths reads the paths of a changes: or exists: clause (what names
// it in problems), at most maxRulePaths of them.
func rulePaths(n *node, kw, what string, probs *problems) []string {
	list, ok := stringList(n, 1)
	switch {
	case !ok:
		probs.add("%s %s should be an array of strings", kw, what)
	case len(list) > maxRulePaths:
		probs.add("%s %s has too many entries (maximum %d)", kw, what, maxRulePaths)
	}
	return list
}

// parseExists reads exists: as an array of paths or a hash with paths,
// and project and ref to look in another project.
func parseExists(n *node, kw string, probs *problems) *existsClause {
	e := &existsClause{}
	if n.kind == kindMap {
		if bad := unknownKeys(n, map[string]bool{"paths": true, "project": true, "ref": true}); bad != "" {
			probs.add("%s:exists config contains unknown keys: %s", kw, bad)
			return nil
		}
		for _, f := range []stringField{{"project", &e.project}, {"ref", &e.ref}} { // in order: problems are listed as found
			if v := n.get(f.key); v != nil {
				s, ok := scalarString(v)
				if !ok {
					probs.add("%s:exists %s should be a string", kw, f.key)
				}
				*f.dst = s
			}
		}
		if e.ref != "" && e.project == "" {
			probs.add("%s:exists ref requires project", kw)
		}
		n = n.get("paths")
		if n == nil {
			probs.add("%s:exists config missing required keys: paths", kw)
			return nil
		}
	}
	e.paths = rulePaths(n, kw, "exists", probs)
	return e
}

// changed reports whether the pipeline changed a path c names, as GitLab
// decides it: the paths (variables expanded) are globs matched against the
// pipeline's diff; a pipeline without one (Input.Changes says so) matches.
func (p *planner) changed(c *changesClause, env map[string]string) (bool, error) {
	if p.in.Changes == nil {
		return true, nil
	}
	compareTo := ci.ExpandExisting(c.compareTo, env)
	paths, err := p.changedPaths(compareTo)
	if err != nil {
		return false, err
	}
	if paths == nil {
		return true, nil
	}
	globs := make([]glob, len(c.paths))
	for i, g := range c.paths {
		globs[i] = compileGlob(ci.ExpandExisting(g, env))
	}
	for _, path := range paths {
		for _, g := range globs {
			if g.match(path) {
				return true, nil
			}
		}
	}
	return false, nil
}

// changedPaths asks Input.Changes once per compare_to; nil paths mean the
// pipeline has no diff.
func (p *planner) changedPaths(compareTo string) ([]string, error) {
	if got, ok := p.changes[compareTo]; ok {
		return got, nil
	}
	paths, ok, err := p.in.Changes(compareTo)
	if compareTo != "" && (ci.IsNotFound(err) || ci.KindOf(err) == ci.KindInvalid) {
		return nil, &ConfigError{Errors: []string{"rules:changes:compare_to is not a valid ref"}}
	}
	if err != nil {
		return nil, fmt.Errorf("listing the changed files: %w", err)
	}
	if !ok {
		paths = nil
	} else if paths == nil {
		paths = []string{}
	}
	if p.changes == nil {
		p.changes = map[string][]string{}
	}
	p.changes[compareTo] = paths
	return paths, nil
}

// exists reports whether the repository has a file e names, as GitLab's
// rules:exists decides: a path without glob characters must be a file;
// glob patterns are matched against the file listing, and after
// MaxExistsChecks comparisons (over all patterns) the rule matches.
func (p *planner) exists(e *existsClause, env map[string]string) (bool, error) {
	if e.project != "" {
		return p.existsIn(ci.ExpandExisting(e.project, env), ci.ExpandExisting(e.ref, env), e.paths, env)
	}
	var globs []string
	for _, raw := range e.paths {
		path := strings.TrimPrefix(ci.ExpandExisting(raw, env), "/")
		if isGlob(path) {
			globs = append(globs, path)
			continue
		}
		if p.in.FileExists == nil {
			return true, nil
		}
		ok, err := p.fileExists(path)
		if err != nil || ok {
			return ok, err
		}
	}
	if len(globs) == 0 {
		return false, nil
	}
	if p.in.ListFiles == nil {
		// Without a listing the patterns cannot be checked: GitLab's
		// answer past its bound is "matches".
		return true, nil
	}
	if p.files == nil {
		files, err := p.in.ListFiles(MaxExistsChecks + 1)
		if err != nil {
			return false, fmt.Errorf("listing the repository's files: %w", err)
		}
		p.files = append([]string{}, files...)
	}
	return globsMatch(globs, p.files), nil
}

// fileExists asks Input.FileExists once per path.
func (p *planner) fileExists(path string) (bool, error) {
	return p.existsOnce(path, func() (bool, error) {
		ok, err := p.in.FileExists(path)
		if err != nil {
			return false, fmt.Errorf("looking up %s: %w", path, err)
		}
		return ok, nil
	})
}

// existsOnce answers ask once per key; errors are not kept.
func (p *planner) existsOnce(key string, ask func() (bool, error)) (bool, error) {
	if ok, asked := p.exist[key]; asked {
		return ok, nil
	}
	ok, err := ask()
	if err != nil {
		return false, err
	}
	if p.exist == nil {
		p.exist = map[string]bool{}
	}
	p.exist[key] = ok
	return ok, nil
}

// existsIn is exists for another project's files at ref, read as the
// pipeline's user (Sources): a project the user may not read is an error,
// like a missing one, and so is an unknown ref.
func (p *planner) existsIn(project, ref string, paths []string, env map[string]string) (bool, error) {
	src := p.in.Sources
	if src.ProjectFile == nil || src.ProjectPaths == nil {
		return false, &ConfigError{Errors: []string{"rules:exists:project is not available here"}}
	}
	fail := func(err error) error {
		if errors.Is(err, ErrProjectNotFound) {
			return &ConfigError{Errors: []string{fmt.Sprintf("rules:exists:project `%s` not found or access denied", clip(project))}}
		}
		return &ConfigError{Errors: []string{fmt.Sprintf("rules:exists:ref `%s` is not a valid ref in project `%s`", clip(ref), clip(project))}}
	}
	// The listing is read first, once per project and ref: it is also
	// what tells an unknown ref.
	key := project + "\x00" + ref
	files, ok := p.projectFiles[key]
	if !ok {
		list, err := src.ProjectPaths(project, ref, MaxExistsChecks+1)
		if err != nil {
			return false, fail(err)
		}
		files = append([]string{}, list...)
		if p.projectFiles == nil {
			p.projectFiles = map[string][]string{}
		}
		p.projectFiles[key] = files
	}
	var globs []string
	for _, raw := range paths {
		path := strings.TrimPrefix(ci.ExpandExisting(raw, env), "/")
		if isGlob(path) {
			globs = append(globs, path)
			continue
		}
		ok, err := p.existsOnce(key+"\x00"+path, func() (bool, error) { return src.ProjectFileExists(project, ref, path) })
		if err != nil {
			return false, fail(err)
		}
		if ok {
			return true, nil
		}
	}
	return globsMatch(globs, files), nil
}

// globsMatch reports whether one of globs matches one of files, as
// GitLab's rules:exists: after MaxExistsChecks comparisons (over all
// globs) it matches.
func globsMatch(globs, files []string) bool {
	checks := 0
	for _, pattern := range globs {
		g := compileGlob(pattern)
		for _, f := range files {
			checks++
			if checks > MaxExistsChecks || g.match(f) {
				return true
			}
		}
	}
	return false
}
