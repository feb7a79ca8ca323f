package variables_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/store"
	"github.com/batonci/baton/internal/store/storetest"
	"github.com/batonci/baton/internal/testpg"
	"github.com/batonci/baton/internal/variables"
)

func TestMain(m *testing.M) { testpg.Main(m) }

func mustSealer(t *testing.T, fill byte) *variables.Sealer {
	t.Helper()
	s, err := variables.NewSealer(bytes.Repeat([]byte{fill}, variables.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestEncryptedAtRest: the database row holds no trace of the value; the
// same key reads it back, another key or none refuses to start.
func TestEncryptedAtRest(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := variables.New(db, mustSealer(t, 1), variables.Limits{})
		if err := svc.CheckKey(ctx); err != nil {
			t.Fatalf("CheckKey on an empty database: %v", err)
		}
		if err := variables.New(db, nil, variables.Limits{}).CheckKey(ctx); err != nil {
			t.Fatalf("CheckKey without key on an empty database: %v", err)
		}
		g := storetest.MustGroup(t, db, 0, ci.VisibilityPrivate)
		proj := storetest.MustProject(t, db, g.ID, ci.VisibilityPrivate)
		secret := "hunter2-very-secret-value"
		v := &ci.CIVariable{Scope: ci.ScopeProject, OwnerID: proj.ID, Key: "DEPLOY_TOKEN", Value: secret, Masked: true}
		if err := svc.Create(ctx, v); err != nil {
			t.Fatal(err)
		}
		var raw []byte
		if err := db.SQL().QueryRowContext(ctx, `SELECT value FROM ci_variables WHERE key = 'DEPLOY_TOKEN'`).Scan(&raw); err != nil {
			t.Fatal(err)
		}
		if len(raw) == 0 || bytes.Contains(raw, []byte(secret)) || bytes.Contains(raw, []byte("hunter2")) {
			t.Fatalf("stored value %q holds the secret", raw)
		}
		got, err := svc.Get(ctx, ci.ScopeProject, proj.ID, "DEPLOY_TOKEN", "")
		if err != nil || got.Value != secret || !got.Masked || got.Environment != "*" {
			t.Fatalf("Get = %+v, %v", got, err)
		}
		if err := svc.CheckKey(ctx); err != nil {
			t.Errorf("CheckKey with the right key: %v", err)
		}
		if err := variables.New(db, mustSealer(t, 2), variables.Limits{}).CheckKey(ctx); err == nil || !strings.Contains(err.Error(), "not the key") {
			t.Errorf("CheckKey with another key = %v", err)
		}
		if err := variables.New(db, nil, variables.Limits{}).CheckKey(ctx); err == nil || !strings.Contains(err.Error(), "no secrets key") {
			t.Errorf("CheckKey without a key = %v", err)
		}
		if err := variables.New(db, nil, variables.Limits{}).Create(ctx, &ci.CIVariable{Scope: ci.ScopeProject, OwnerID: proj.ID, Key: "X", Value: "y"}); ci.KindOf(err) != ci.KindUnavailable {
			t.Errorf("Create without a key = %v, want KindUnavailable", err)
		}
		// A sealed value moved to another row does not open.
		other := &ci.CIVariable{Scope: ci.ScopeProject, OwnerID: proj.ID, Key: "OTHER", Value: "public"}
		if err := svc.Create(ctx, other); err != nil {
			t.Fatal(err)
		}
		q := `UPDATE ci_variables SET value = ? WHERE key = 'OTHER'`
		if db.Dialect() == "postgres" {
			q = strings.Replace(q, "?", "$1", 1)
		}
		if _, err := db.SQL().ExecContext(ctx, q, raw); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Get(ctx, ci.ScopeProject, proj.ID, "OTHER", ""); err == nil {
			t.Errorf("a sealed value copied to another key opened")
		}
	})
}

// TestInheritance: a project's pipelines get the instance's variables,
// every ancestor group's (farthest first, so the closest wins) and the
// project's; another group's never.
func TestInheritance(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := variables.New(db, mustSealer(t, 3), variables.Limits{})
		top := storetest.MustGroup(t, db, 0, ci.VisibilityPrivate)
		mid := storetest.MustGroup(t, db, top.ID, ci.VisibilityPrivate)
		leaf := storetest.MustGroup(t, db, mid.ID, ci.VisibilityPrivate)
		stranger := storetest.MustGroup(t, db, 0, ci.VisibilityPrivate)
		proj := storetest.MustProject(t, db, leaf.ID, ci.VisibilityPrivate)
		for _, v := range []*ci.CIVariable{
			{Scope: ci.ScopeInstance, Key: "WHO", Value: "instance"},
			{Scope: ci.ScopeGroup, OwnerID: top.ID, Key: "WHO", Value: "top"},
			{Scope: ci.ScopeGroup, OwnerID: top.ID, Key: "TOP_ONLY", Value: "t"},
			{Scope: ci.ScopeGroup, OwnerID: leaf.ID, Key: "WHO", Value: "leaf"},
			{Scope: ci.ScopeGroup, OwnerID: stranger.ID, Key: "WHO", Value: "stranger"},
			{Scope: ci.ScopeGroup, OwnerID: stranger.ID, Key: "STRANGER", Value: "s"},
		} {
			if err := svc.Create(ctx, v); err != nil {
				t.Fatalf("Create(%+v): %v", v, err)
			}
		}
		sv, err := svc.ForProject(ctx, proj)
		if err != nil {
			t.Fatal(err)
		}
		inst, groups, own := sv.ForJob(false, "")
		vars := ci.JobVariables(ci.VariableLayers{Instance: inst, Groups: groups, Project: own})
		if got, _ := ci.Lookup(vars, "WHO"); got != "leaf" {
			t.Errorf("WHO = %q, want the closest group's (leaf)", got)
		}
		if got, _ := ci.Lookup(vars, "TOP_ONLY"); got != "t" {
			t.Errorf("TOP_ONLY = %q, want top's", got)
		}
		if _, ok := ci.Lookup(vars, "STRANGER"); ok {
			t.Errorf("a variable of an unrelated group reached the project")
		}
		if err := svc.Create(ctx, &ci.CIVariable{Scope: ci.ScopeProject, OwnerID: proj.ID, Key: "WHO", Value: "project"}); err != nil {
			t.Fatal(err)
		}
		sv, _ = svc.ForProject(ctx, proj)
		inst, groups, own = sv.ForJob(false, "")
		if got, _ := ci.Lookup(ci.JobVariables(ci.VariableLayers{Instance: inst, Groups: groups, Project: own}), "WHO"); got != "project" {
			t.Errorf("WHO = %q, want the project's", got)
		}
	})
}

// TestServiceRules: validation, environment filters, duplicates and the
// per-place limit, as the API answers them.
func TestServiceRules(t *testing.T) {
	db := storetest.OpenSQLite(t)
	ctx := context.Background()
	svc := variables.New(db, mustSealer(t, 4), variables.Limits{MaxPerScope: 3})
	g := storetest.MustGroup(t, db, 0, ci.VisibilityPrivate)
	proj := storetest.MustProject(t, db, g.ID, ci.VisibilityPrivate)
	mk := func(key, value, env string, masked, raw bool) error {
		return svc.Create(ctx, &ci.CIVariable{Scope: ci.ScopeProject, OwnerID: proj.ID, Key: key, Value: value, Environment: env, Masked: masked, Raw: raw})
	}
	for _, tc := range []struct {
		name, key, value string
		masked, raw      bool
		want             ci.Kind
		msg              string
	}{
		{"short masked", "A", "short", true, false, ci.KindInvalid, "cannot be masked"},
		{"multi-line masked", "A", "line-one\nline-two", true, false, ci.KindInvalid, "cannot be masked"},
		{"space masked", "A", "has a space in it", true, false, ci.KindInvalid, "cannot be masked"},
		{"dollar masked", "A", "abc$defgh1", true, false, ci.KindInvalid, "cannot be masked"},
		{"dollar masked raw", "A", "abc$defgh1", true, true, "", ""},
		{"reserved", "CI_JOB_TOKEN", "x", false, false, ci.KindInvalid, "predefined"},
		{"bad key", "A-B", "x", false, false, ci.KindInvalid, "key"},
		{"too long", "LONG", strings.Repeat("x", ci.MaxCIVariableValueChars+1), false, false, ci.KindInvalid, "too long"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := mk(tc.key, tc.value, "", tc.masked, tc.raw)
			if ci.KindOf(err) != tc.want || !strings.Contains(ci.MessageOf(err), tc.msg) {
				t.Errorf("Create = %v, want kind %q saying %q", err, tc.want, tc.msg)
			}
		})
	}
	if err := mk("A", "one", "production", false, false); err != nil {
		t.Fatal(err)
	}
	if err := mk("A", "two", "production", false, false); ci.KindOf(err) != ci.KindInvalid || !strings.Contains(ci.MessageOf(err), "already been taken") {
		t.Errorf("duplicate = %v", err)
	}
	if _, err := svc.Get(ctx, ci.ScopeProject, proj.ID, "A", ""); ci.KindOf(err) != ci.KindConflict {
		t.Errorf("Get without filter on two scopes = %v, want KindConflict", err)
	}
	if v, err := svc.Get(ctx, ci.ScopeProject, proj.ID, "A", "production"); err != nil || v.Value != "one" {
		t.Errorf("Get(production) = %+v, %v", v, err)
	}
	if _, err := svc.Get(ctx, ci.ScopeProject, proj.ID, "A", "staging"); !ci.IsNotFound(err) {
		t.Errorf("Get(staging) = %v, want not found", err)
	}
	if err := mk("FULL", "x", "", false, false); err != nil {
		t.Fatal(err)
	}
	if err := mk("FULL2", "x", "", false, false); ci.KindOf(err) != ci.KindInvalid || !strings.Contains(ci.MessageOf(err), "--max-ci-variables") {
		t.Errorf("over the limit = %v", err)
	}
	v, err := svc.Update(ctx, ci.ScopeProject, proj.ID, "A", "production", func(v *ci.CIVariable) error { v.Masked = true; return nil })
	if ci.KindOf(err) != ci.KindInvalid {
		t.Errorf("masking a value that cannot be masked = %+v, %v", v, err)
	}
	v, err = svc.Update(ctx, ci.ScopeProject, proj.ID, "A", "production", func(v *ci.CIVariable) error { v.Value, v.Masked = "now-long-enough", true; return nil })
	if err != nil || v.Value != "now-long-enough" || !v.Masked {
		t.Errorf("Update = %+v, %v", v, err)
	}
	if err := svc.Delete(ctx, ci.ScopeProject, proj.ID, "A", ""); ci.KindOf(err) != ci.KindConflict {
		t.Errorf("Delete without filter = %v", err)
	}
	if err := svc.Delete(ctx, ci.ScopeProject, proj.ID, "A", "production"); err != nil {
		t.Errorf("Delete = %v", err)
	}
	if err := svc.Delete(ctx, ci.ScopeProject, proj.ID, "A", "production"); !ci.IsNotFound(err) {
		t.Errorf("Delete again = %v", err)
	}
}

func TestKeys(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/secrets.key"
	k1, created, err := variables.GenerateKeyFile(path)
	if err != nil || !created || len(k1) != variables.KeySize {
		t.Fatalf("GenerateKeyFile = %x, %v, %v", k1, created, err)
	}
	k2, created, err := variables.GenerateKeyFile(path)
	if err != nil || created || !bytes.Equal(k1, k2) {
		t.Fatalf("GenerateKeyFile again = %x, %v, %v; want the same key", k2, created, err)
	}
	k3, err := variables.KeySource{File: path}.Load()
	if err != nil || !bytes.Equal(k1, k3) {
		t.Fatalf("Load(file) = %x, %v", k3, err)
	}
	for _, bad := range []string{"short", strings.Repeat("z", 64)} {
		if _, err := variables.ParseKey(bad); err == nil {
			t.Errorf("ParseKey(%q) accepted", bad)
		}
	}
	if k, err := variables.ParseKey(strings.Repeat("ab", 32)); err != nil || k[0] != 0xab {
		t.Errorf("ParseKey(hex) = %x, %v", k, err)
	}
}
