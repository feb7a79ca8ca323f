package ciconfig

import (
	"testing"

	"github.com/batonci/baton/internal/ci"
)

func TestCache(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []ci.CacheSpec
	}{
		{"key with variables, paths, policy", `
build:
  script: make
  cache:
    key: deps-$CI_COMMIT_REF_SLUG
    paths: [vendor/, .npm/]
    policy: pull
    when: always
    fallback_keys: [deps-main, deps-default]
`, []ci.CacheSpec{{Key: "deps-$CI_COMMIT_REF_SLUG", Paths: []string{"vendor/", ".npm/"}, Policy: "pull", When: "always", FallbackKeys: []string{"deps-main", "deps-default"}}}},
		{"no key is default", "build:\n  script: make\n  cache: {paths: [x], untracked: true}\n",
			[]ci.CacheSpec{{Key: "default", Paths: []string{"x"}, Untracked: true}}},
		{"key files with prefix", "build:\n  script: make\n  cache:\n    key: {files: [Gemfile.lock, package.json], prefix: $CI_JOB_NAME}\n    paths: [vendor]\n",
			[]ci.CacheSpec{{KeyFiles: []string{"Gemfile.lock", "package.json"}, KeyPrefix: "$CI_JOB_NAME", Paths: []string{"vendor"}}}},
		{"several caches", "build:\n  script: make\n  cache:\n    - {key: a, paths: [a]}\n    - {key: b, paths: [b], unprotect: true, policy: $POLICY}\n",
			[]ci.CacheSpec{{Key: "a", Paths: []string{"a"}}, {Key: "b", Paths: []string{"b"}, Unprotect: true, Policy: "$POLICY"}}},
		{"inherited from default", "default:\n  cache: {key: d, paths: [d]}\nbuild:\n  script: make\n",
			[]ci.CacheSpec{{Key: "d", Paths: []string{"d"}}}},
		{"legacy top-level cache", "cache: {key: top, paths: [t]}\nbuild:\n  script: make\n",
			[]ci.CacheSpec{{Key: "top", Paths: []string{"t"}}}},
		{"job overrides default", "default:\n  cache: {key: d, paths: [d]}\nbuild:\n  script: make\n  cache: {key: own, paths: [o]}\n",
			[]ci.CacheSpec{{Key: "own", Paths: []string{"o"}}}},
		{"inherit default false", "default:\n  cache: {key: d, paths: [d]}\nbuild:\n  script: make\n  inherit: {default: false}\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertEqual(t, job(t, mustPlan(t, tt.yaml, nil), "build").Cache, tt.want)
		})
	}
}

func TestCacheErrors(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"scalar", "j:\n  cache: vendor\n  script: t\n", "jobs:j:cache config should be a hash or an array of hashes"},
		{"unknown key", "j:\n  cache: {keyy: a}\n  script: t\n", "jobs:j:cache config contains unknown keys: keyy"},
		{"too many caches", "j:\n  cache: [{key: a}, {key: b}, {key: c}, {key: d}, {key: e}]\n  script: t\n", "jobs:j:cache config no more than 4 caches can be created"},
		{"slash in key", "j:\n  cache: {key: a/b}\n  script: t\n", `jobs:j:cache:key config cannot contain the "/" character`},
		{"encoded slash", "j:\n  cache: {key: a%2Fb}\n  script: t\n", `cannot contain the "/" character`},
		{"dots", "j:\n  cache: {key: ..}\n  script: t\n", `jobs:j:cache:key config cannot be "." or ".."`},
		{"policy", "j:\n  cache: {policy: pull-only}\n  script: t\n", "jobs:j:cache:policy config should be one of: pull-push, push, pull"},
		{"when", "j:\n  cache: {when: never}\n  script: t\n", "jobs:j:cache:when config should be one of: on_success, on_failure, always"},
		{"three files", "j:\n  cache: {key: {files: [a, b, c]}}\n  script: t\n", "jobs:j:cache:key:files config has too many items (maximum is 2)"},
		{"files missing", "j:\n  cache: {key: {prefix: p}}\n  script: t\n", "jobs:j:cache:key:files config should be an array of strings"},
		{"six fallback keys", "j:\n  cache: {fallback_keys: [a, b, c, d, e, f]}\n  script: t\n", "jobs:j:cache:fallback_keys config must be an array of up to 5 strings"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Plan(Input{Content: []byte(tt.yaml), Variables: branchPush()})
			assertInvalid(t, err, tt.want)
		})
	}
}
