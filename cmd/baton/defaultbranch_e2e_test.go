package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// withDefaultBranchProtection sets --default-branch-protection.
func withDefaultBranchProtection(level string) option {
	return func(c *Config) { c.DefaultBranchProtection = level }
}

// protectedCI runs "protected" only on protected refs, "always" anywhere.
const protectedCI = "protected:\n  script: [echo p]\n  rules:\n    - if: $CI_COMMIT_REF_PROTECTED == \"true\"\nalways:\n  script: [echo a]\n"

// TestDefaultBranchProtection: as GitLab (default "full"), the first push
// of a new project protects its default branch before that push's
// pipeline is planned, so the pipeline sees CI_COMMIT_REF_PROTECTED=true,
// and a Developer's later push to it is refused; a Developer may not make
// the first push either. With --default-branch-protection none nothing of
// this happens; with partial Developers push.
func TestDefaultBranchProtection(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		for _, tc := range []struct {
			level      string // "" : the default
			protected  bool   // the first push protects main
			devPushes  bool   // a Developer may push to main afterwards
			devFirstOK bool   // a Developer may make a project's first push
			pushLevel  int
			mergeLevel int
		}{
			{"", true, false, false, 40, 40},
			{"none", false, true, true, 0, 0},
			{"partial", true, true, true, 30, 40},
			{"full_after_initial_push", true, false, true, 40, 40},
		} {
			name := tc.level
			if name == "" {
				name = "default"
			}
			t.Run(name, func(t *testing.T) {
				var opts []option
				if tc.level != "" {
					opts = append(opts, withDefaultBranchProtection(tc.level))
				}
				in := startBaton(t, e, opts...)
				id, r := in.project("app", map[string]string{".gitlab-ci.yml": protectedCI})
				P := fmt.Sprintf("/api/v4/projects/%d", id)
				pl := in.latestPipeline(id)
				jobs := in.jobs(id, pl.ID, false)
				if _, ok := jobs["always"]; !ok {
					t.Fatalf("the first push's pipeline has jobs %v, want always", jobs)
				}
				if _, ok := jobs["protected"]; ok != tc.protected {
					t.Errorf("the first push's pipeline runs the protected-only job: %v, want %v", ok, tc.protected)
				}
				var branches []struct {
					Name             string `json:"name"`
					AllowForcePush   bool   `json:"allow_force_push"`
					PushAccessLevels []struct {
						AccessLevel int `json:"access_level"`
					} `json:"push_access_levels"`
					MergeAccessLevels []struct {
						AccessLevel int `json:"access_level"`
					} `json:"merge_access_levels"`
				}
				in.api("GET", P+"/protected_branches", nil, http.StatusOK, &branches)
				switch {
				case !tc.protected && len(branches) != 0:
					t.Errorf("protected branches %+v, want none", branches)
				case tc.protected && (len(branches) != 1 || branches[0].Name != "main" || branches[0].AllowForcePush ||
					len(branches[0].PushAccessLevels) != 1 || branches[0].PushAccessLevels[0].AccessLevel != tc.pushLevel ||
					len(branches[0].MergeAccessLevels) != 1 || branches[0].MergeAccessLevels[0].AccessLevel != tc.mergeLevel):
					t.Errorf("protected branches %+v, want main: push %d, merge %d, no force push", branches, tc.pushLevel, tc.mergeLevel)
				}

				devID, devTok := in.user("dev")
				devURL := func(path string) string {
					return strings.Replace(in.pushURL(path), "root:"+in.token, "dev:"+devTok, 1)
				}
				in.api("POST", P+"/members", url.Values{"user_id": {fmt.Sprint(devID)}, "access_level": {"30"}}, http.StatusCreated, nil)
				r.commit("two", map[string]string{"README": "two\n"})
				out, err := r.gitErr("push", devURL("root/app"), "main")
				if tc.devPushes && err != nil {
					t.Errorf("a Developer's push to main: %v\n%s", err, out)
				}
				if !tc.devPushes && (err == nil || !strings.Contains(out, "You are not allowed to push code to protected branches on this project.")) {
					t.Errorf("a Developer's push to protected main: %v\n%s", err, out)
				}
				if out, err := r.gitErr("push", in.pushURL("root/app"), "main"); err != nil {
					t.Errorf("root's push to main: %v\n%s", err, out)
				}

				// A Developer's first push to a project with no branch yet.
				var second apiProject
				in.api("POST", "/api/v4/projects", url.Values{"name": {"second"}}, http.StatusCreated, &second)
				in.api("POST", fmt.Sprintf("/api/v4/projects/%d/members", second.ID), url.Values{"user_id": {fmt.Sprint(devID)}, "access_level": {"30"}}, http.StatusCreated, nil)
				out, err = r.gitErr("push", devURL("root/second"), "main")
				if tc.devFirstOK && err != nil {
					t.Errorf("a Developer's first push: %v\n%s", err, out)
				}
				if !tc.devFirstOK && (err == nil || !strings.Contains(out, "A default branch (e.g. main) does not yet exist for root/second")) {
					t.Errorf("a Developer's first push to a project without branches: %v\n%s", err, out)
				}
				if !tc.devFirstOK {
					if out, err := r.gitErr("push", in.pushURL("root/second"), "main"); err != nil {
						t.Errorf("root's first push: %v\n%s", err, out)
					}
				}
				// The push's pipeline is planned after git answered: wait for it.
				in.latestPipeline(second.ID)
				in.api("GET", fmt.Sprintf("/api/v4/projects/%d/protected_branches", second.ID), nil, http.StatusOK, &branches)
				if (len(branches) == 1) != tc.protected {
					t.Errorf("after the first push, protected branches of the second project: %+v, want protected %v", branches, tc.protected)
				}
			})
		}
	})
}
