package ci

import (
	"strings"
	"testing"
)

// TestProjectChangeApply: valid changes land, invalid ones are KindInvalid
// naming the field and leave the project as it was.
func TestProjectChangeApply(t *testing.T) {
	str := func(s string) *string { return &s }
	num := func(n int) *int { return &n }
	role := func(r VariablesRole) *VariablesRole { return &r }
	vis := func(v Visibility) *Visibility { return &v }
	base := Project{Name: "app", Visibility: VisibilityPrivate, DefaultBranch: "main", CIConfigPath: ".gitlab-ci.yml",
		BuildTimeout: DefaultBuildTimeout, VariablesRole: VariablesDeveloper}
	for _, tc := range []struct {
		name    string
		change  ProjectChange
		invalid string // the field an invalid change names, "" when valid
		check   func(p Project) bool
		vis, br bool
	}{
		{"name", ProjectChange{Name: str(" App 2 ")}, "", func(p Project) bool { return p.Name == "App 2" }, false, false},
		{"empty name", ProjectChange{Name: str("  ")}, "name", nil, false, false},
		{"visibility", ProjectChange{Visibility: vis(VisibilityPublic)}, "", func(p Project) bool { return p.Visibility == VisibilityPublic }, true, false},
		{"same visibility", ProjectChange{Visibility: vis(VisibilityPrivate)}, "", func(p Project) bool { return true }, false, false},
		{"bad visibility", ProjectChange{Visibility: vis("secret")}, "visibility", nil, false, false},
		{"branch", ProjectChange{DefaultBranch: str("dev")}, "", func(p Project) bool { return p.DefaultBranch == "dev" }, false, true},
		{"empty branch", ProjectChange{DefaultBranch: str("")}, "default_branch", nil, false, false},
		{"config path", ProjectChange{CIConfigPath: str("ci/./pipeline.yml")}, "", func(p Project) bool { return p.CIConfigPath == "ci/pipeline.yml" }, false, false},
		{"config path default", ProjectChange{CIConfigPath: str("")}, "", func(p Project) bool { return p.CIConfigPath == ".gitlab-ci.yml" }, false, false},
		{"config path dotdot", ProjectChange{CIConfigPath: str("ci/../../etc/passwd")}, "ci_config_path", nil, false, false},
		{"config path absolute", ProjectChange{CIConfigPath: str("/etc/passwd")}, "ci_config_path", nil, false, false},
		{"config path NUL", ProjectChange{CIConfigPath: str("a\x00b.yml")}, "ci_config_path", nil, false, false},
		{"config path too long", ProjectChange{CIConfigPath: str(strings.Repeat("a", MaxCIConfigPath+1))}, "ci_config_path", nil, false, false},
		{"timeout", ProjectChange{BuildTimeout: num(600)}, "", func(p Project) bool { return p.BuildTimeout == 600 }, false, false},
		{"timeout max", ProjectChange{BuildTimeout: num(MaxBuildTimeout)}, "", func(p Project) bool { return p.BuildTimeout == MaxBuildTimeout }, false, false},
		{"timeout too short", ProjectChange{BuildTimeout: num(599)}, "build_timeout", nil, false, false},
		{"timeout too long", ProjectChange{BuildTimeout: num(MaxBuildTimeout + 1)}, "build_timeout", nil, false, false},
		{"role", ProjectChange{VariablesRole: role(VariablesOwner)}, "", func(p Project) bool { return p.VariablesRole == VariablesOwner }, false, false},
		{"bad role", ProjectChange{VariablesRole: role("guest")}, "ci_pipeline_variables_minimum_override_role", nil, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := base
			v, b, err := tc.change.Apply(&p)
			if tc.invalid != "" {
				if KindOf(err) != KindInvalid || !strings.Contains(MessageOf(err), tc.invalid) {
					t.Fatalf("Apply = %v, want KindInvalid naming %s", err, tc.invalid)
				}
				if p != base {
					t.Errorf("an invalid change changed the project: %+v", p)
				}
				return
			}
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if !tc.check(p) || v != tc.vis || b != tc.br {
				t.Errorf("after Apply %+v (visibility changed %v, branch changed %v)", p, v, b)
			}
		})
	}
}
