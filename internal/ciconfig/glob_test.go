package ciconfig

import (
	"fmt"
	"strings"
	"testing"
)

// TestGlobMatch checks globMatch against Ruby's documented File.fnmatch
// behaviour with FNM_PATHNAME|FNM_DOTMATCH|FNM_EXTGLOB, the flags GitLab's
// rules:changes and rules:exists use.
func TestGlobMatch(t *testing.T) {
	tests := []struct {
		pattern, path string
		want          bool
	}{
		// ** matches zero or more directories only as "**/".
		{"src/**/*", "src/a/b.go", true},
		{"src/**/*", "src/x.go", true},
		{"src/**/*", "docs/index.md", false},
		{"src/**/*", "src", false},
		{"**/foo", "a/b/c/foo", true},
		{"**/foo", "foo", true},
		{"**/foo", "a/b/c/foox", false},
		{"**/*.rb", "lib/song.rb", true},
		{"**/*.rb", "song.rb", true},
		{"**.rb", "main.rb", true},
		{"**.rb", "lib/song.rb", false}, // "**" not before "/" is "*"
		{"src/**", "src/a/b.go", false},
		{"src/**", "src/x.go", true},
		{"a/**/b/**/c", "a/x/b/y/z/c", true},
		{"a/**/**/b", "a/b", true},
		// * and ? never match "/".
		{"*", "dave/.profile", false},
		{"*.go", "cmd/main.go", false},
		{"*/*", "dave/.profile", true},
		{"?", "/", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		// FNM_DOTMATCH: dot files and dot directories need no explicit dot.
		{"*", ".profile", true},
		{"**/foo", ".a/foo", true},
		{".gitlab/**/*", ".gitlab/ci/build.yml", true},
		// FNM_EXTGLOB braces, nested, and an unclosed one matching nothing.
		{"c{at,ub}s", "cats", true},
		{"c{at,ub}s", "cubs", true},
		{"c{at,ub}s", "cas", false},
		{"{src,lib}/**/*.{c,h}", "lib/x/y.h", true},
		{"{src,lib}/**/*.{c,h}", "lib/x/y.go", false},
		{"a{b,{c,d}}e", "ade", true},
		{"{a,b", "a", false},
		{"{a,b", "{a,b", false},
		{"a}", "a}", true},
		{"{}", "", true},
		// Brackets: sets, ranges, negation, never "/".
		{"[a-c]at", "bat", true},
		{"[a-c]at", "dat", false},
		{"[!a]", "a", false},
		{"[^a]", "b", true},
		{"x[/]y", "x/y", false},
		{"[abc", "a", false},
		{"[z-a]", "z", true}, // Ruby compares each end too
		// Backslash escapes.
		{`\*`, "*", true},
		{`\*`, "a", false},
		{`a\{b,c\}`, "a{b,c}", true},
		// Exact paths.
		{"Dockerfile", "Dockerfile", true},
		{"Dockerfile", "docker/Dockerfile", false},
		{"docs/", "docs/index.md", false},
		{"ünï/*.md", "ünï/ä.md", true},
		{"?.md", "ä.md", true},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+" "+tt.path, func(t *testing.T) {
			if got := globMatch(tt.pattern, tt.path); got != tt.want {
				t.Errorf("globMatch(%q, %q) = %v, want %v", tt.pattern, tt.path, got, tt.want)
			}
		})
	}
}

// TestGlobBraceBound checks that a pattern expanding to more than
// maxBraceAlternatives alternatives matches nothing instead of being
// expanded, and that one just under the bound still matches.
func TestGlobBraceBound(t *testing.T) {
	big := strings.Repeat("{a,b}", 9) // 512 alternatives
	if globMatch(big, strings.Repeat("b", 9)) {
		t.Errorf("a 512-alternative pattern matched")
	}
	small := strings.Repeat("{a,b}", 7) // 128
	if !globMatch(small, strings.Repeat("b", 7)) {
		t.Errorf("a 128-alternative pattern did not match")
	}
}

// BenchmarkChangesWorstCase plans one job whose rules:changes lists
// maxRulePaths globs none of which matches, against a diff of 10,000
// paths (--max-rules-changed-paths' default): every pair is compared.
func BenchmarkChangesWorstCase(b *testing.B) {
	var globs []string
	for i := range maxRulePaths {
		globs = append(globs, fmt.Sprintf(`"pkg%d/**/*.{go,c,h}"`, i))
	}
	yaml := "job:\n  script: x\n  rules:\n    - changes: [" + strings.Join(globs, ", ") + "]\nother:\n  script: y\n"
	paths := make([]string, 10000)
	for i := range paths {
		paths[i] = fmt.Sprintf("src/module%d/sub/dir/file%d.go", i%97, i)
	}
	changes := func(string) ([]string, bool, error) { return paths, true, nil }
	for b.Loop() {
		plan, err := Plan(Input{Content: []byte(yaml), Variables: branchPush(), Changes: changes})
		if err != nil || len(plan.Jobs) != 1 {
			b.Fatalf("plan: %v", err)
		}
	}
}
