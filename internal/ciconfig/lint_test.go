package ciconfig

import (
	"strings"
	"testing"
)

func TestLint(t *testing.T) {
	files := map[string]string{"ci/base.yml": ".base:\n  image: alpine\n  script: [echo base]\n"}
	y := `include: ci/base.yml
workflow:
  rules:
    - if: $CI_COMMIT_TAG
build:
  extends: .base
  rules:
    - if: $CI_COMMIT_BRANCH
`
	tests := []struct {
		name    string
		yaml    string
		dryRun  bool
		valid   bool
		jobs    []string
		errs    []string
		merged  []string
		include int
	}{
		{"static lint lists jobs whatever workflow says", y, false, true, []string{"build"}, []string{},
			[]string{".base:\n  image: alpine\n", "build:\n  image: alpine\n  script:\n    - echo base\n  rules:\n"}, 1},
		{"dry run for a branch push is filtered by workflow", y, true, false, nil,
			[]string{"Pipeline filtered out by workflow rules."}, []string{"build:"}, 1},
		{"invalid", "build:\n  script: x\n  when: sometimes\n", false, false, nil,
			[]string{"jobs:build:when config should be one of: on_success, on_failure, always, manual, delayed, never"}, nil, 0},
		{"dry run runs the jobs a push would", "a:\n  script: a\nb:\n  script: b\n  rules:\n    - if: $CI_COMMIT_TAG\n", true, true, []string{"a"}, []string{}, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := Lint(Input{Content: []byte(tt.yaml), Variables: branchPush(), ReadFile: repoFiles(files)}, tt.dryRun)
			if res.Valid != tt.valid {
				t.Errorf("valid = %v, want %v (errors %q)", res.Valid, tt.valid, res.Errors)
			}
			var names []string
			for _, j := range res.Jobs {
				names = append(names, j.Name)
			}
			assertEqual(t, names, tt.jobs)
			assertEqual(t, res.Errors, tt.errs)
			for _, m := range tt.merged {
				if !strings.Contains(res.MergedYAML, m) {
					t.Errorf("merged_yaml %q does not contain %q", res.MergedYAML, m)
				}
			}
			if len(res.Includes) != tt.include {
				t.Errorf("includes = %+v, want %d", res.Includes, tt.include)
			}
		})
	}
}
