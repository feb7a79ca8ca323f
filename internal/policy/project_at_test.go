package policy_test

import (
	"context"
	"testing"

	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/policy"
	"github.com/batonci/baton/internal/store"
	"github.com/batonci/baton/internal/store/storetest"
	"github.com/batonci/baton/internal/testpg"
)

func TestMain(m *testing.M) { testpg.Main(m) }

// TestProjectAtIsProject: deciding with the membership level read together
// with the project (ProjectWithLevel, ProjectAt) answers exactly as
// deciding with the level the policy reads itself, for every project
// ability, kind of caller and visibility.
func TestProjectAtIsProject(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		pol := policy.New(db)
		g := storetest.MustGroup(t, db, 0, ci.VisibilityPrivate)
		var projects []*ci.Project
		for _, vis := range []ci.Visibility{ci.VisibilityPrivate, ci.VisibilityInternal, ci.VisibilityPublic} {
			projects = append(projects, storetest.MustProject(t, db, g.ID, vis))
		}
		var who []*auth.Principal
		for _, lvl := range []ci.AccessLevel{ci.AccessNone, ci.AccessGuest, ci.AccessReporter, ci.AccessDeveloper, ci.AccessMaintainer, ci.AccessOwner} {
			u := storetest.MustUser(t, db)
			if lvl != ci.AccessNone {
				if err := db.SetMember(ctx, &ci.Member{UserID: u.ID, NamespaceID: g.ID, AccessLevel: lvl}); err != nil {
					t.Fatal(err)
				}
			}
			who = append(who, &auth.Principal{User: u},
				&auth.Principal{User: u, Token: &ci.PersonalToken{Scopes: []string{ci.ScopeReadAPI}}})
		}
		checked := 0
		for _, proj := range projects {
			for _, p := range who {
				if !policy.NeedsMemberLevel(p) {
					t.Fatalf("a signed-in non-administrator needs no member level")
				}
				got, lvl, err := db.ProjectWithLevel(ctx, proj.ID, "", p.User.ID)
				if err != nil {
					t.Fatal(err)
				}
				for a := policy.ReadProject; a <= policy.PushCode; a++ {
					want := pol.Project(ctx, p, a, proj)
					have := pol.ProjectAt(ctx, p, a, got, lvl)
					if ci.KindOf(want) != ci.KindOf(have) || ci.MessageOf(want) != ci.MessageOf(have) || (want == nil) != (have == nil) {
						t.Errorf("%s on %s project for %+v: ProjectAt = %v, Project = %v", a, proj.Visibility, p, have, want)
					}
					checked++
				}
			}
		}
		if checked == 0 {
			t.Fatal("nothing checked")
		}
		for _, p := range []*auth.Principal{nil, {User: &ci.User{ID: 1, Admin: true}}, {Job: &ci.Job{ProjectID: 1}}} {
			if policy.NeedsMemberLevel(p) {
				t.Errorf("NeedsMemberLevel(%+v) = true: the policy reads no member level for it", p)
			}
		}
	})
}
