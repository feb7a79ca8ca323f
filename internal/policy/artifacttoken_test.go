package policy_test

import (
	"context"
	"testing"
	"time"

	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/policy"
	"github.com/batonci/baton/internal/store"
	"github.com/batonci/baton/internal/store/storetest"
)

// TestArtifactTokenAbilities: listing and revoking artifact tokens is
// Maintainers' (and administrators'), on private and public projects; a
// job token never, a read_api token lists but does not revoke; a caller
// who cannot see the project gets its 404.
func TestArtifactTokenAbilities(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		pol := policy.New(db)
		g := storetest.MustGroup(t, db, 0, ci.VisibilityPrivate)
		priv := storetest.MustProject(t, db, g.ID, ci.VisibilityPrivate)
		pub := storetest.MustProject(t, db, g.ID, ci.VisibilityPublic)
		member := func(lvl ci.AccessLevel) *ci.User {
			u := storetest.MustUser(t, db)
			if lvl != ci.AccessNone {
				if err := db.SetMember(ctx, &ci.Member{UserID: u.ID, NamespaceID: g.ID, AccessLevel: lvl}); err != nil {
					t.Fatal(err)
				}
			}
			return u
		}
		maint := member(ci.AccessMaintainer)
		who := map[string]*auth.Principal{
			"anonymous":  nil,
			"outsider":   {User: member(ci.AccessNone)},
			"guest":      {User: member(ci.AccessGuest)},
			"reporter":   {User: member(ci.AccessReporter)},
			"developer":  {User: member(ci.AccessDeveloper)},
			"maintainer": {User: maint},
			"owner":      {User: member(ci.AccessOwner)},
			"admin":      {User: &ci.User{ID: 999999, Admin: true}},
			"read_api":   {User: maint, Token: &ci.PersonalToken{Scopes: []string{ci.ScopeReadAPI}}},
			"job":        {Job: &ci.Job{ProjectID: priv.ID, Status: ci.StatusRunning}},
		}
		const ok, nf, un, fb = ci.Kind(""), ci.KindNotFound, ci.KindUnauthorized, ci.KindForbidden
		for _, c := range []struct {
			who               string
			readPriv, revPriv ci.Kind
			readPub, revPub   ci.Kind
		}{
			{"anonymous", nf, nf, un, un},
			{"outsider", nf, nf, fb, fb},
			{"guest", fb, fb, fb, fb},
			{"reporter", fb, fb, fb, fb},
			{"developer", fb, fb, fb, fb},
			{"maintainer", ok, ok, ok, ok},
			{"owner", ok, ok, ok, ok},
			{"admin", ok, ok, ok, ok},
			{"read_api", ok, fb, ok, fb},
			{"job", fb, fb, fb, fb}, // its own project (Reporter), and a public one it is not allow-listed on
		} {
			p := who[c.who]
			for _, q := range []struct {
				a    policy.Ability
				proj *ci.Project
				want ci.Kind
			}{
				{policy.ReadArtifactTokens, priv, c.readPriv}, {policy.AdminArtifactTokens, priv, c.revPriv},
				{policy.ReadArtifactTokens, pub, c.readPub}, {policy.AdminArtifactTokens, pub, c.revPub},
			} {
				err := pol.Project(ctx, p, q.a, q.proj)
				if ci.KindOf(err) != q.want || (err == nil) != (q.want == ok) {
					t.Errorf("%s: %s on %s project = %v, want %q", c.who, q.a, q.proj.Visibility, err, q.want)
				}
			}
		}
	})
}

// TestMintArtifactToken: only a running job's own token mints, for its own
// project's own pipeline; a caller who cannot see the project gets its 404.
func TestMintArtifactToken(t *testing.T) {
	db := storetest.OpenSQLite(t)
	ctx := context.Background()
	pol := policy.New(db)
	g := storetest.MustGroup(t, db, 0, ci.VisibilityPrivate)
	priv := storetest.MustProject(t, db, g.ID, ci.VisibilityPrivate)
	pub := storetest.MustProject(t, db, g.ID, ci.VisibilityPublic)
	maint := storetest.MustUser(t, db)
	if err := db.SetMember(ctx, &ci.Member{UserID: maint.ID, NamespaceID: g.ID, AccessLevel: ci.AccessMaintainer}); err != nil {
		t.Fatal(err)
	}
	outsider := storetest.MustUser(t, db)
	job := func(project, pipeline int64, st ci.Status) *auth.Principal {
		return &auth.Principal{Job: &ci.Job{ProjectID: project, PipelineID: pipeline, Status: st}, User: maint}
	}
	for _, c := range []struct {
		name string
		who  *auth.Principal
		proj *ci.Project
		want ci.Kind
	}{
		{"own running job", job(priv.ID, 70, ci.StatusRunning), priv, ""},
		{"own canceling job", job(priv.ID, 70, ci.StatusCanceling), priv, ""},
		{"finished job", job(priv.ID, 70, ci.StatusSuccess), priv, ci.KindUnauthorized},
		{"job of another pipeline", job(priv.ID, 71, ci.StatusRunning), priv, ci.KindForbidden},
		{"job of another project", job(pub.ID, 70, ci.StatusRunning), priv, ci.KindNotFound},
		{"anonymous, private project", nil, priv, ci.KindNotFound},
		{"anonymous, public project", nil, pub, ci.KindUnauthorized},
		{"outsider, private project", &auth.Principal{User: outsider}, priv, ci.KindNotFound},
		{"outsider, public project", &auth.Principal{User: outsider}, pub, ci.KindForbidden},
		{"maintainer", &auth.Principal{User: maint}, priv, ci.KindForbidden},
		{"admin", &auth.Principal{User: &ci.User{ID: 999999, Admin: true}}, priv, ci.KindForbidden},
	} {
		err := pol.MintArtifactToken(ctx, c.who, c.proj, 70)
		if ci.KindOf(err) != c.want || (err == nil) != (c.want == "") {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

// TestArtifactTokenReads: a token reads the named jobs of its own pipeline,
// only the named published artifacts when it names some; everything else,
// in any project, is the one absent answer.
func TestArtifactTokenReads(t *testing.T) {
	all := &ci.ArtifactToken{ProjectID: 7, PipelineID: 70, Jobs: []string{"build", "docs"}, ExpiresAt: time.Now().Add(time.Hour)}
	notes := &ci.ArtifactToken{ProjectID: 7, PipelineID: 70, Jobs: []string{"build"}, Artifacts: []string{"notes"}, ExpiresAt: time.Now().Add(time.Hour)}
	job := func(project, pipeline int64, name string) *ci.Job {
		return &ci.Job{ProjectID: project, PipelineID: pipeline, Name: name}
	}
	absent := policy.TokenAbsent()
	for _, c := range []struct {
		name     string
		tok      *ci.ArtifactToken
		job      *ci.Job
		artifact string
		ok       bool
	}{
		{"named job's archive", all, job(7, 70, "build"), "", true},
		{"other named job's published artifact", all, job(7, 70, "docs"), "report", true},
		{"job it does not name", all, job(7, 70, "deploy"), "", false},
		{"named job of another pipeline", all, job(7, 71, "build"), "", false},
		{"named job of another project", all, job(8, 70, "build"), "", false},
		{"named artifact", notes, job(7, 70, "build"), "notes", true},
		{"archive when it names artifacts", notes, job(7, 70, "build"), "", false},
		{"artifact it does not name", notes, job(7, 70, "build"), "other", false},
		{"no job", all, nil, "", false},
		{"no token", nil, job(7, 70, "build"), "", false},
	} {
		err := policy.ArtifactTokenReads(c.tok, c.job, c.artifact)
		if c.ok != (err == nil) || err != nil && (ci.KindOf(err) != ci.KindOf(absent) || ci.MessageOf(err) != ci.MessageOf(absent)) {
			t.Errorf("%s: %v, want ok=%v (or %v)", c.name, err, c.ok, absent)
		}
	}
	for _, c := range []struct {
		proj *ci.Project
		ok   bool
	}{{&ci.Project{ID: 7}, true}, {&ci.Project{ID: 8}, false}, {nil, false}} {
		if err := policy.ArtifactTokenProject(all, c.proj); c.ok != (err == nil) {
			t.Errorf("ArtifactTokenProject(%+v) = %v", c.proj, err)
		}
	}
	if policy.ArtifactTokenJobName(all, "deploy") == nil || policy.ArtifactTokenJobName(all, "docs") != nil || policy.ArtifactTokenJobName(all, "") != nil {
		t.Error("ArtifactTokenJobName does not follow the token's job names")
	}
}
