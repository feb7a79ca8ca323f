package policy_test

import (
	"context"
	"strings"
	"testing"

	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/policy"
	"github.com/batonci/baton/internal/store/storetest"
)

// TestPushToProtectedRef is the table of who may push what to protected
// branches and tags.
func TestPushToProtectedRef(t *testing.T) {
	ctx := context.Background()
	db := storetest.OpenSQLite(t)
	pol := policy.New(db)
	g := storetest.MustGroup(t, db, 0, ci.VisibilityPrivate)
	proj := storetest.MustProject(t, db, g.ID, ci.VisibilityPrivate)
	users := map[string]*auth.Principal{}
	for name, lvl := range map[string]ci.AccessLevel{"developer": ci.AccessDeveloper, "maintainer": ci.AccessMaintainer} {
		u := storetest.MustUser(t, db)
		if err := db.SetMember(ctx, &ci.Member{UserID: u.ID, NamespaceID: g.ID, AccessLevel: lvl}); err != nil {
			t.Fatal(err)
		}
		users[name] = &auth.Principal{User: u}
	}
	admin := storetest.MustUser(t, db)
	admin.Admin = true
	users["admin"] = &auth.Principal{User: admin}
	users["job"] = &auth.Principal{Job: &ci.Job{ProjectID: proj.ID}, User: admin}

	rules := []*ci.ProtectedRef{
		{Name: "main", PushLevel: ci.AccessMaintainer},
		{Name: "release/*", PushLevel: ci.AccessDeveloper, AllowForcePush: true},
		{Name: "frozen", PushLevel: ci.AccessNone},
		{Name: "admins", PushLevel: ci.AccessAdmin},
		{Tag: true, Name: "v*", CreateLevel: ci.AccessMaintainer},
	}
	for _, tc := range []struct {
		who    string
		change policy.RefChange
		ok     bool
		msg    string
	}{
		{"developer", policy.RefChange{Name: "feature"}, true, ""},
		{"developer", policy.RefChange{Name: "feature", Deleted: true}, true, ""},
		{"developer", policy.RefChange{Name: "main"}, false, "push code to protected branches"},
		{"maintainer", policy.RefChange{Name: "main"}, true, ""},
		{"maintainer", policy.RefChange{Name: "main", Created: true}, true, ""},
		{"maintainer", policy.RefChange{Name: "main", Forced: true}, false, "force push"},
		{"maintainer", policy.RefChange{Name: "main", Deleted: true}, false, "delete protected branches"},
		{"developer", policy.RefChange{Name: "release/1.0"}, true, ""},
		{"developer", policy.RefChange{Name: "release/1.0", Forced: true}, true, ""},
		{"developer", policy.RefChange{Name: "release/1.0", Deleted: true}, true, ""},
		{"maintainer", policy.RefChange{Name: "frozen"}, false, "push code to protected branches"},
		{"admin", policy.RefChange{Name: "frozen"}, false, "push code to protected branches"},
		{"maintainer", policy.RefChange{Name: "admins"}, false, "push code"},
		{"admin", policy.RefChange{Name: "admins"}, true, ""},
		{"job", policy.RefChange{Name: "release/1.0"}, false, "push code"},
		{"developer", policy.RefChange{Name: "v1", Tag: true, Created: true}, false, "create this tag"},
		{"maintainer", policy.RefChange{Name: "v1", Tag: true, Created: true}, true, ""},
		{"maintainer", policy.RefChange{Name: "v1", Tag: true}, false, "change existing tags"},
		{"maintainer", policy.RefChange{Name: "v1", Tag: true, Deleted: true}, false, "change existing tags"},
		{"developer", policy.RefChange{Name: "other", Tag: true, Created: true}, true, ""},
		{"developer", policy.RefChange{Name: "main", Tag: true, Created: true}, true, ""}, // a tag named like a protected branch
	} {
		err := pol.PushToProtectedRef(ctx, users[tc.who], proj, rules, tc.change)
		if (err == nil) != tc.ok || err != nil && (ci.KindOf(err) != ci.KindForbidden || !strings.Contains(ci.MessageOf(err), tc.msg)) {
			t.Errorf("%s %+v = %v, want ok %v (%q)", tc.who, tc.change, err, tc.ok, tc.msg)
		}
	}
}

// TestPushToEmptyProject is the table of who may create the first branch
// of a project under each default branch protection level.
func TestPushToEmptyProject(t *testing.T) {
	ctx := context.Background()
	db := storetest.OpenSQLite(t)
	pol := policy.New(db)
	g := storetest.MustGroup(t, db, 0, ci.VisibilityPrivate)
	proj := storetest.MustProject(t, db, g.ID, ci.VisibilityPrivate)
	users := map[string]*auth.Principal{}
	for name, lvl := range map[string]ci.AccessLevel{"developer": ci.AccessDeveloper, "maintainer": ci.AccessMaintainer, "owner": ci.AccessOwner} {
		u := storetest.MustUser(t, db)
		if err := db.SetMember(ctx, &ci.Member{UserID: u.ID, NamespaceID: g.ID, AccessLevel: lvl}); err != nil {
			t.Fatal(err)
		}
		users[name] = &auth.Principal{User: u}
	}
	admin := storetest.MustUser(t, db)
	admin.Admin = true
	users["admin"] = &auth.Principal{User: admin}
	users["job"] = &auth.Principal{Job: &ci.Job{ProjectID: proj.ID}, User: admin}

	// Which of developer, maintainer, owner, admin, job may push, per level.
	for _, tc := range []struct {
		prot ci.BranchProtection
		may  map[string]bool
	}{
		{ci.ProtectionNone, map[string]bool{"developer": true, "maintainer": true, "owner": true, "admin": true, "job": true}},
		{ci.ProtectionPartial, map[string]bool{"developer": true, "maintainer": true, "owner": true, "admin": true}},
		{ci.ProtectionFull, map[string]bool{"maintainer": true, "owner": true, "admin": true}},
		{ci.ProtectionAgainstPushes, map[string]bool{"maintainer": true, "owner": true, "admin": true}},
		{ci.ProtectionFullAfterInitialPush, map[string]bool{"developer": true, "maintainer": true, "owner": true, "admin": true}},
	} {
		for _, who := range []string{"developer", "maintainer", "owner", "admin", "job"} {
			err := pol.PushToEmptyProject(ctx, users[who], proj, tc.prot)
			if (err == nil) != tc.may[who] || err != nil && (ci.KindOf(err) != ci.KindForbidden || !strings.Contains(ci.MessageOf(err), "does not yet exist for "+proj.FullPath)) {
				t.Errorf("%s under %s: %v, want allowed %v", who, tc.prot, err, tc.may[who])
			}
		}
	}
}
