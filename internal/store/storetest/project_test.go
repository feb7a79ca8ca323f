package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/store"
)

func TestGroups(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		top := &ci.Namespace{Path: "acme", Visibility: ci.VisibilityPrivate}
		if err := db.CreateGroup(ctx, top); err != nil {
			t.Fatal(err)
		}
		sub := &ci.Namespace{Path: "tools", ParentID: top.ID}
		if err := db.CreateGroup(ctx, sub); err != nil {
			t.Fatal(err)
		}
		leaf := &ci.Namespace{Path: "cli", ParentID: sub.ID, Visibility: ci.VisibilityPublic}
		if err := db.CreateGroup(ctx, leaf); err != nil {
			t.Fatal(err)
		}
		if leaf.FullPath != "acme/tools/cli" || leaf.Kind != ci.NamespaceGroup {
			t.Errorf("leaf = %+v", leaf)
		}
		got, err := db.NamespaceByFullPath(ctx, "acme/tools/cli")
		if err != nil || *got != *leaf {
			t.Errorf("NamespaceByFullPath = %+v, %v; want %+v", got, err, leaf)
		}
		anc, err := db.NamespaceAncestors(ctx, leaf.ID)
		if err != nil || len(anc) != 3 || anc[0] != leaf.ID || anc[1] != sub.ID || anc[2] != top.ID {
			t.Errorf("NamespaceAncestors = %v, %v", anc, err)
		}
		_, err = db.NamespaceAncestors(ctx, 9999)
		WantKind(t, err, ci.KindNotFound)
		WantKind(t, db.CreateGroup(ctx, &ci.Namespace{Path: "tools", ParentID: top.ID}), ci.KindConflict)
		WantKind(t, db.CreateGroup(ctx, &ci.Namespace{Path: "x", ParentID: 9999}), ci.KindNotFound)
		u := MustUser(t, db)
		personal, _ := db.NamespaceOfUser(ctx, u.ID)
		WantKind(t, db.CreateGroup(ctx, &ci.Namespace{Path: "x", ParentID: personal.ID}), ci.KindInvalid)
		_, err = db.NamespaceByID(ctx, 9999)
		WantKind(t, err, ci.KindNotFound)

		member := MustUser(t, db)
		if err := db.SetMember(ctx, &ci.Member{UserID: member.ID, NamespaceID: top.ID, AccessLevel: ci.AccessGuest}); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name  string
			user  int64
			admin bool
			want  []string
		}{
			{"anonymous sees public", 0, false, []string{"acme/tools/cli"}},
			{"stranger sees public", u.ID, false, []string{"acme/tools/cli"}},
			{"member sees subgroups", member.ID, false, []string{"acme", "acme/tools", "acme/tools/cli"}},
			{"admin sees all", u.ID, true, []string{"acme", "acme/tools", "acme/tools/cli"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				gs, total, err := db.ListGroups(ctx, tc.user, tc.admin, ci.Page{Page: 1, PerPage: 20})
				if err != nil {
					t.Fatal(err)
				}
				var paths []string
				for _, g := range gs {
					paths = append(paths, g.FullPath)
				}
				if total != len(tc.want) || !equal(paths, tc.want) {
					t.Errorf("ListGroups = %v (total %d), want %v", paths, total, tc.want)
				}
			})
		}
		gs, total, err := db.ListGroups(ctx, 0, true, ci.Page{Page: 2, PerPage: 2})
		if err != nil || total != 3 || len(gs) != 1 || gs[0].FullPath != "acme/tools/cli" {
			t.Errorf("page 2 of 2 = %v, total %d, %v", gs, total, err)
		}
	})
}

func TestProjects(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		owner := MustUser(t, db)
		ns, _ := db.NamespaceOfUser(ctx, owner.ID)
		p := &ci.Project{NamespaceID: ns.ID, Name: "App", Path: "app", CreatorID: owner.ID}
		if err := db.CreateProject(ctx, p); err != nil {
			t.Fatal(err)
		}
		if p.FullPath != owner.Username+"/app" || p.CIConfigPath != ".gitlab-ci.yml" || p.Visibility != ci.VisibilityPrivate ||
			p.BuildTimeout != ci.DefaultBuildTimeout || p.VariablesRole != ci.VariablesDeveloper || p.AutoCancelDisabled {
			t.Errorf("created %+v", p)
		}
		got, err := db.ProjectByFullPath(ctx, p.FullPath)
		if err != nil || *got != *p {
			t.Errorf("ProjectByFullPath = %+v, %v; want %+v", got, err, p)
		}
		err = db.CreateProject(ctx, &ci.Project{NamespaceID: ns.ID, Path: "app"})
		WantKind(t, err, ci.KindConflict)
		WantKind(t, db.CreateProject(ctx, &ci.Project{NamespaceID: 9999, Path: "app"}), ci.KindNotFound)
		_, err = db.ProjectByID(ctx, 9999)
		WantKind(t, err, ci.KindNotFound)
		if ci.MessageOf(err) != "project 9999 not found" {
			t.Errorf("message = %q", ci.MessageOf(err))
		}

		t.Run("update", func(t *testing.T) {
			before := p.UpdatedAt
			time.Sleep(2 * time.Millisecond)
			p.Description, p.DefaultBranch, p.Visibility, p.JobTokenScopeEnabled = "d", "main", ci.VisibilityInternal, true
			p.BuildTimeout, p.AutoCancelDisabled, p.VariablesRole = 900, true, ci.VariablesNoOneAllowed
			if err := db.UpdateProject(ctx, p); err != nil {
				t.Fatal(err)
			}
			got, _ := db.ProjectByID(ctx, p.ID)
			if *got != *p || !got.UpdatedAt.After(before) {
				t.Errorf("after update %+v, want %+v", got, p)
			}
			WantKind(t, db.UpdateProject(ctx, &ci.Project{ID: 9999}), ci.KindNotFound)
		})

		t.Run("access level", func(t *testing.T) {
			g := MustGroup(t, db, 0, ci.VisibilityPrivate)
			sub := MustGroup(t, db, g.ID, ci.VisibilityPrivate)
			gp := MustProject(t, db, sub.ID, ci.VisibilityPrivate)
			dev, guest, stranger := MustUser(t, db), MustUser(t, db), MustUser(t, db)
			must(t, db.SetMember(ctx, &ci.Member{UserID: dev.ID, NamespaceID: g.ID, AccessLevel: ci.AccessReporter}))
			must(t, db.SetMember(ctx, &ci.Member{UserID: dev.ID, NamespaceID: g.ID, AccessLevel: ci.AccessDeveloper}))
			must(t, db.SetMember(ctx, &ci.Member{UserID: guest.ID, ProjectID: gp.ID, AccessLevel: ci.AccessGuest}))
			must(t, db.SetMember(ctx, &ci.Member{UserID: guest.ID, NamespaceID: sub.ID, AccessLevel: ci.AccessMaintainer}))
			WantKind(t, db.SetMember(ctx, &ci.Member{UserID: guest.ID, AccessLevel: ci.AccessGuest}), ci.KindInvalid)
			WantKind(t, db.SetMember(ctx, &ci.Member{UserID: 9999, ProjectID: gp.ID, AccessLevel: ci.AccessGuest}), ci.KindInvalid)
			for _, tc := range []struct {
				name          string
				user, project int64
				want          ci.AccessLevel
			}{
				{"inherited from ancestor group", dev.ID, gp.ID, ci.AccessDeveloper},
				{"highest of project and group", guest.ID, gp.ID, ci.AccessMaintainer},
				{"none", stranger.ID, gp.ID, ci.AccessNone},
				{"personal namespace owner", owner.ID, p.ID, ci.AccessOwner},
				{"other personal namespace", dev.ID, p.ID, ci.AccessNone},
			} {
				t.Run(tc.name, func(t *testing.T) {
					got, err := db.AccessLevel(ctx, tc.user, tc.project)
					if err != nil || got != tc.want {
						t.Errorf("AccessLevel = %d, %v; want %d", got, err, tc.want)
					}
					want, err := db.ProjectByID(ctx, tc.project)
					if err != nil {
						t.Fatal(err)
					}
					for _, path := range []string{"", want.FullPath} {
						proj, lvl, err := db.ProjectWithLevel(ctx, tc.project, path, tc.user)
						if err != nil || lvl != tc.want || *proj != *want {
							t.Errorf("ProjectWithLevel(%d, %q) = %+v, %d, %v; want %+v, %d", tc.project, path, proj, lvl, err, want, tc.want)
						}
					}
				})
			}
			_, err := db.AccessLevel(ctx, dev.ID, 9999)
			WantKind(t, err, ci.KindNotFound)
			_, _, err = db.ProjectWithLevel(ctx, 9999, "", dev.ID)
			WantKind(t, err, ci.KindNotFound)
			if ci.MessageOf(err) != "project 9999 not found" {
				t.Errorf("message = %q", ci.MessageOf(err))
			}
			_, _, err = db.ProjectWithLevel(ctx, 0, "no/such", dev.ID)
			WantKind(t, err, ci.KindNotFound)
			if ci.MessageOf(err) != `project "no/such" not found` {
				t.Errorf("message = %q", ci.MessageOf(err))
			}
			ms, err := db.ListProjectMembers(ctx, gp.ID)
			if err != nil || len(ms) != 1 || ms[0].UserID != guest.ID || ms[0].AccessLevel != ci.AccessGuest || ms[0].CreatedAt.IsZero() {
				t.Errorf("ListProjectMembers = %+v, %v", ms, err)
			}
			must(t, db.RemoveMember(ctx, gp.ID, 0, guest.ID))
			must(t, db.RemoveMember(ctx, 0, sub.ID, guest.ID))
			WantKind(t, db.RemoveMember(ctx, gp.ID, 0, guest.ID), ci.KindNotFound)
			if got, _ := db.AccessLevel(ctx, guest.ID, gp.ID); got != ci.AccessNone {
				t.Errorf("after removal AccessLevel = %d", got)
			}
		})

		t.Run("job token allow-list", func(t *testing.T) {
			other := MustProject(t, db, ns.ID, ci.VisibilityPrivate)
			must(t, db.AllowJobToken(ctx, p.ID, other.ID))
			must(t, db.AllowJobToken(ctx, p.ID, other.ID))
			if ok, err := db.JobTokenAllowed(ctx, p.ID, other.ID); !ok || err != nil {
				t.Errorf("JobTokenAllowed = %v, %v", ok, err)
			}
			if ok, _ := db.JobTokenAllowed(ctx, other.ID, p.ID); ok {
				t.Error("allow-list is not directional")
			}
			if ids, err := db.ListJobTokenAllowlist(ctx, p.ID); err != nil || len(ids) != 1 || ids[0] != other.ID {
				t.Errorf("ListJobTokenAllowlist = %v, %v", ids, err)
			}
			WantKind(t, db.AllowJobToken(ctx, p.ID, 9999), ci.KindInvalid)
			must(t, db.DisallowJobToken(ctx, p.ID, other.ID))
			WantKind(t, db.DisallowJobToken(ctx, p.ID, other.ID), ci.KindNotFound)
		})

		t.Run("triggers", func(t *testing.T) {
			tr := &ci.Trigger{ProjectID: p.ID, OwnerID: owner.ID, Description: "deploy", TokenHash: "h1", TokenTail: "abcd"}
			must(t, db.CreateTrigger(ctx, tr))
			WantKind(t, db.CreateTrigger(ctx, &ci.Trigger{ProjectID: p.ID, TokenHash: "h1"}), ci.KindConflict)
			got, err := db.TriggerByHash(ctx, "h1")
			if err != nil || *got != *tr {
				t.Errorf("TriggerByHash = %+v, %v; want %+v", got, err, tr)
			}
			at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			must(t, db.TouchTrigger(ctx, tr.ID, at))
			ts, err := db.ListTriggers(ctx, p.ID)
			if err != nil || len(ts) != 1 || ts[0].LastUsedAt == nil || !ts[0].LastUsedAt.Equal(at) {
				t.Errorf("ListTriggers = %+v, %v", ts, err)
			}
			WantKind(t, db.DeleteTrigger(ctx, p.ID+1000, tr.ID), ci.KindNotFound)
			must(t, db.DeleteTrigger(ctx, p.ID, tr.ID))
			_, err = db.TriggerByHash(ctx, "h1")
			WantKind(t, err, ci.KindNotFound)
		})

		t.Run("delete cascades", func(t *testing.T) {
			victim := MustProject(t, db, ns.ID, ci.VisibilityPrivate)
			pl, jobs := MustPipeline(t, db, victim.ID, "main", map[string][]string{"build": {"linux"}})
			must(t, db.CreateArtifact(ctx, &ci.Artifact{JobID: jobs[0].ID, FileType: ci.FileTypeArchive, BlobKey: "k"}))
			if _, err := db.AppendTrace(ctx, jobs[0].ID, 0, []byte("log")); err != nil {
				t.Fatal(err)
			}
			must(t, db.CreateTrigger(ctx, &ci.Trigger{ProjectID: victim.ID, TokenHash: "victim"}))
			must(t, db.SetMember(ctx, &ci.Member{UserID: owner.ID, ProjectID: victim.ID, AccessLevel: ci.AccessGuest}))
			must(t, db.DeleteProject(ctx, victim.ID))
			_, err := db.PipelineByID(ctx, pl.ID)
			WantKind(t, err, ci.KindNotFound)
			_, err = db.JobByID(ctx, jobs[0].ID)
			WantKind(t, err, ci.KindNotFound)
			_, err = db.TriggerByHash(ctx, "victim")
			WantKind(t, err, ci.KindNotFound)
			for _, table := range []string{"artifacts", "trace_chunks", "job_tags", "project_members"} {
				var n int
				if err := db.SQL().QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil || n != 0 {
					t.Errorf("%s has %d rows after delete (%v)", table, n, err)
				}
			}
			WantKind(t, db.DeleteProject(ctx, victim.ID), ci.KindNotFound)
		})
	})
}

func TestListProjects(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		alice, bob, carol := MustUser(t, db), MustUser(t, db), MustUser(t, db)
		aliceNS, _ := db.NamespaceOfUser(ctx, alice.ID)
		g := MustGroup(t, db, 0, ci.VisibilityPrivate)
		sub := MustGroup(t, db, g.ID, ci.VisibilityPrivate)
		mk := func(ns int64, path string, vis ci.Visibility) *ci.Project {
			p := &ci.Project{NamespaceID: ns, Path: path, Name: path, Visibility: vis}
			must(t, db.CreateProject(ctx, p))
			return p
		}
		pub := mk(g.ID, "public-site", ci.VisibilityPublic)
		internal := mk(g.ID, "internal_tool", ci.VisibilityInternal)
		deep := mk(sub.ID, "deep-secret", ci.VisibilityPrivate)
		own := mk(aliceNS.ID, "alice-private", ci.VisibilityPrivate)
		direct := mk(g.ID, "direct", ci.VisibilityPrivate)
		must(t, db.SetMember(ctx, &ci.Member{UserID: bob.ID, NamespaceID: g.ID, AccessLevel: ci.AccessGuest}))
		must(t, db.SetMember(ctx, &ci.Member{UserID: carol.ID, ProjectID: direct.ID, AccessLevel: ci.AccessGuest}))
		ids := func(ps []*ci.Project) []int64 {
			var out []int64
			for _, p := range ps {
				out = append(out, p.ID)
			}
			return out
		}
		for _, tc := range []struct {
			name string
			f    ci.ProjectFilter
			want []int64
		}{
			{"anonymous", ci.ProjectFilter{}, []int64{pub.ID}},
			{"all", ci.ProjectFilter{All: true}, []int64{direct.ID, own.ID, deep.ID, internal.ID, pub.ID}},
			{"owner of personal namespace", ci.ProjectFilter{VisibleTo: alice.ID}, []int64{own.ID, internal.ID, pub.ID}},
			{"group member sees subgroup projects", ci.ProjectFilter{VisibleTo: bob.ID}, []int64{direct.ID, deep.ID, internal.ID, pub.ID}},
			{"project member", ci.ProjectFilter{VisibleTo: carol.ID}, []int64{direct.ID, internal.ID, pub.ID}},
			{"search is case-insensitive", ci.ProjectFilter{All: true, Search: "SECRET"}, []int64{deep.ID}},
			{"search escapes wildcards", ci.ProjectFilter{All: true, Search: "l_t"}, []int64{internal.ID}},
			{"order by name asc", ci.ProjectFilter{All: true, OrderBy: "name", Sort: "asc"},
				[]int64{own.ID, deep.ID, direct.ID, internal.ID, pub.ID}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				ps, total, err := db.ListProjects(ctx, tc.f)
				if err != nil {
					t.Fatal(err)
				}
				if got := ids(ps); total != len(tc.want) || !equal(got, tc.want) {
					t.Errorf("ListProjects = %v (total %d), want %v", got, total, tc.want)
				}
			})
		}
		ps, total, err := db.ListProjects(ctx, ci.ProjectFilter{All: true, Page: ci.Page{Page: 2, PerPage: 2}})
		if err != nil || total != 5 || !equal(ids(ps), []int64{deep.ID, internal.ID}) {
			t.Errorf("page 2 = %v, total %d, %v", ids(ps), total, err)
		}
		_, _, err = db.ListProjects(ctx, ci.ProjectFilter{OrderBy: "size"})
		WantKind(t, err, ci.KindInvalid)
		_, _, err = db.ListProjects(ctx, ci.ProjectFilter{Sort: "sideways"})
		WantKind(t, err, ci.KindInvalid)
	})
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
