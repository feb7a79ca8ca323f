package policy

import (
	"fmt"
	"strings"
	"testing"

	"github.com/batonci/baton/internal/ci"
)

// TestSetPipelineVariables: each minimum role admits its level and those
// above, no_one_allowed admits nobody, and refusals name the setting.
func TestSetPipelineVariables(t *testing.T) {
	levels := []ci.AccessLevel{ci.AccessNone, ci.AccessGuest, ci.AccessReporter, ci.AccessDeveloper, ci.AccessMaintainer, ci.AccessOwner}
	for _, tc := range []struct {
		role ci.VariablesRole
		want string // per level above: y allowed, n refused
	}{
		{"", "nnnyyy"},
		{ci.VariablesDeveloper, "nnnyyy"},
		{ci.VariablesMaintainer, "nnnnyy"},
		{ci.VariablesOwner, "nnnnny"},
		{ci.VariablesNoOneAllowed, "nnnnnn"},
		{"bogus", "nnnnnn"},
	} {
		t.Run(string(tc.role), func(t *testing.T) {
			var got strings.Builder
			for _, lvl := range levels {
				err := SetPipelineVariables(lvl, tc.role)
				if err == nil {
					got.WriteByte('y')
					continue
				}
				got.WriteByte('n')
				if ci.KindOf(err) != ci.KindForbidden || !strings.Contains(ci.MessageOf(err), "ci_pipeline_variables_minimum_override_role") {
					t.Errorf("level %d: %v, want 403 naming the setting", lvl, err)
				}
			}
			if got.String() != tc.want {
				t.Errorf("allowed per level %v = %s, want %s", fmt.Sprint(levels), got.String(), tc.want)
			}
		})
	}
}
