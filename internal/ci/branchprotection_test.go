package ci

import "testing"

// TestBranchProtection reads each level by name and by GitLab's number and
// checks the rule it gives a new default branch (GitLab's
// BranchProtection#to_hash).
func TestBranchProtection(t *testing.T) {
	for _, tc := range []struct {
		name, num   string
		want        BranchProtection
		push, merge AccessLevel // 0, 0: no rule
	}{
		{"none", "0", ProtectionNone, 0, 0},
		{"partial", "1", ProtectionPartial, AccessDeveloper, AccessMaintainer},
		{"full", "2", ProtectionFull, AccessMaintainer, AccessMaintainer},
		{"protected_against_pushes", "3", ProtectionAgainstPushes, AccessMaintainer, AccessDeveloper},
		{"full_after_initial_push", "4", ProtectionFullAfterInitialPush, AccessMaintainer, AccessMaintainer},
	} {
		for _, s := range []string{tc.name, tc.num} {
			got, err := ParseBranchProtection(s)
			if err != nil || got != tc.want || got.String() != tc.name {
				t.Errorf("ParseBranchProtection(%q) = %v (%s), %v; want %v", s, got, got, err, tc.want)
			}
		}
		r := tc.want.Rule(7, "trunk")
		if tc.push == 0 {
			if r != nil {
				t.Errorf("%s: rule %+v, want none", tc.name, r)
			}
			continue
		}
		if r == nil || r.ProjectID != 7 || r.Name != "trunk" || r.Tag || r.PushLevel != tc.push || r.MergeLevel != tc.merge || r.AllowForcePush {
			t.Errorf("%s: rule %+v, want push %d merge %d, no force push", tc.name, r, tc.push, tc.merge)
		}
	}
	for _, bad := range []string{"", "5", "fully", "-1"} {
		if _, err := ParseBranchProtection(bad); KindOf(err) != KindInvalid {
			t.Errorf("ParseBranchProtection(%q): %v, want KindInvalid", bad, err)
		}
	}
}
