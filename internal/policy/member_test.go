package policy

import (
	"testing"

	"github.com/batonci/baton/internal/ci"
)

func TestChangeMember(t *testing.T) {
	const (
		g = ci.AccessGuest
		d = ci.AccessDeveloper
		m = ci.AccessMaintainer
		o = ci.AccessOwner
	)
	for _, c := range []struct {
		name   string
		change Membership
		owners int
		ok     bool
	}{
		{"maintainer adds a developer", Membership{CallerLevel: m, To: d}, 1, true},
		{"maintainer adds a maintainer", Membership{CallerLevel: m, To: m}, 1, true},
		{"maintainer makes someone owner", Membership{CallerLevel: m, To: o}, 1, false},
		{"maintainer makes themselves owner", Membership{CallerLevel: m, From: m, To: o}, 1, false},
		{"maintainer demotes an owner", Membership{CallerLevel: m, From: o, To: d}, 2, false},
		{"maintainer removes an owner", Membership{CallerLevel: m, From: o}, 2, false},
		{"maintainer removes a guest", Membership{CallerLevel: m, From: g}, 1, true},
		{"developer grants above their level", Membership{CallerLevel: d, To: m}, 1, false},
		{"owner grants owner", Membership{CallerLevel: o, To: o}, 1, true},
		{"owner removes another owner", Membership{CallerLevel: o, From: o}, 2, true},
		{"owner removes the last owner", Membership{CallerLevel: o, From: o}, 1, false},
		{"owner demotes the last owner", Membership{CallerLevel: o, From: o, To: m}, 1, false},
		{"admin grants owner", Membership{Admin: true, CallerLevel: o, To: o}, 1, true},
		{"admin removes the last owner", Membership{Admin: true, CallerLevel: o, From: o}, 1, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := ChangeMember(c.change, c.owners)
			if (err == nil) != c.ok {
				t.Fatalf("ChangeMember(%+v, %d) = %v, want allowed=%v", c.change, c.owners, err, c.ok)
			}
			if err != nil && ci.KindOf(err) != ci.KindForbidden {
				t.Fatalf("refusal of kind %v, want Forbidden", ci.KindOf(err))
			}
		})
	}
}

// TestRuleTable keeps the permission table whole: every ability names a
// rule on exactly one kind of resource, and write abilities need api.
func TestRuleTable(t *testing.T) {
	seen := map[Ability]string{}
	for a, r := range projectRules {
		seen[a] = "project"
		if r.write != (r.scope == scopeWrite || r.scope == scopeGitWrite) {
			t.Errorf("%v: write=%v but scope %v", a, r.write, r.scope)
		}
		if r.level == 0 {
			t.Errorf("%v: no level", a)
		}
	}
	for a := range namespaceRules {
		if k, dup := seen[a]; dup {
			t.Errorf("%v is a group and a %s ability", a, k)
		}
		seen[a] = "group"
	}
	for a := range instanceRules {
		if k, dup := seen[a]; dup {
			t.Errorf("%v is an instance and a %s ability", a, k)
		}
		seen[a] = "instance"
	}
	for a := range runnerScopes {
		if k, dup := seen[a]; dup {
			t.Errorf("%v is a runner and a %s ability", a, k)
		}
		seen[a] = "runner"
	}
	for a := range seen {
		if a.String() == "unknown ability" {
			t.Errorf("ability %d has no name", int(a))
		}
	}
}

func TestEffectiveMembers(t *testing.T) {
	direct := []*ci.Member{{UserID: 2, ProjectID: 1, AccessLevel: ci.AccessDeveloper}, {UserID: 3, ProjectID: 1, AccessLevel: ci.AccessMaintainer}}
	group := []*ci.Member{{UserID: 2, NamespaceID: 5, AccessLevel: ci.AccessOwner}, {UserID: 3, NamespaceID: 5, AccessLevel: ci.AccessReporter}, {UserID: 4, NamespaceID: 5, AccessLevel: ci.AccessGuest}}
	got := EffectiveMembers(direct, group)
	want := []struct {
		user  int64
		level ci.AccessLevel
	}{{2, ci.AccessOwner}, {3, ci.AccessMaintainer}, {4, ci.AccessGuest}}
	if len(got) != len(want) {
		t.Fatalf("EffectiveMembers = %d members, want %d", len(got), len(want))
	}
	for i, w := range want {
		if got[i].UserID != w.user || got[i].AccessLevel != w.level {
			t.Errorf("member %d = user %d level %d, want user %d level %d", i, got[i].UserID, got[i].AccessLevel, w.user, w.level)
		}
	}
}
