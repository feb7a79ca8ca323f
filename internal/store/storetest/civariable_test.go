package storetest

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/store"
)

func TestCIVariables(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		top := MustGroup(t, db, 0, ci.VisibilityPrivate)
		sub := MustGroup(t, db, top.ID, ci.VisibilityPrivate)
		other := MustGroup(t, db, 0, ci.VisibilityPrivate)
		proj := MustProject(t, db, sub.ID, ci.VisibilityPrivate)
		proj2 := MustProject(t, db, sub.ID, ci.VisibilityPrivate)
		mk := func(scope ci.VariableScope, owner int64, key, env string, sealed string) *ci.SealedVariable {
			t.Helper()
			v := &ci.SealedVariable{CIVariable: ci.CIVariable{Scope: scope, OwnerID: owner, Key: key, Environment: env,
				Protected: true, Masked: true, File: key == "FILE", Description: "d " + key}, Sealed: []byte(sealed)}
			if err := db.CreateVariable(ctx, v); err != nil {
				t.Fatalf("CreateVariable(%s %d %s %s): %v", scope, owner, key, env, err)
			}
			return v
		}
		mk(ci.ScopeInstance, 0, "A", "*", "i")
		mk(ci.ScopeGroup, top.ID, "A", "*", "top")
		mk(ci.ScopeGroup, sub.ID, "A", "*", "sub")
		mk(ci.ScopeGroup, other.ID, "A", "*", "other")
		pv := mk(ci.ScopeProject, proj.ID, "A", "*", "p")
		mk(ci.ScopeProject, proj.ID, "A", "production", "p-prod")
		mk(ci.ScopeProject, proj2.ID, "FILE", "*", "p2")

		// The same key and scope in the same place is a conflict; elsewhere not.
		dup := &ci.SealedVariable{CIVariable: ci.CIVariable{Scope: ci.ScopeProject, OwnerID: proj.ID, Key: "A", Environment: "*"}, Sealed: []byte("x")}
		WantKind(t, db.CreateVariable(ctx, dup), ci.KindConflict)
		idup := &ci.SealedVariable{CIVariable: ci.CIVariable{Scope: ci.ScopeInstance, Key: "A", Environment: "*"}, Sealed: []byte("x")}
		WantKind(t, db.CreateVariable(ctx, idup), ci.KindConflict)

		list, err := db.ListVariables(ctx, ci.ScopeProject, proj.ID)
		if err != nil || len(list) != 2 || list[0].Environment != "*" || list[1].Environment != "production" {
			t.Fatalf("ListVariables(project) = %v, %v", list, err)
		}
		got := list[0]
		if string(got.Sealed) != "p" || !got.Protected || !got.Masked || got.File || got.Description != "d A" || got.OwnerID != proj.ID ||
			got.Scope != ci.ScopeProject || got.CreatedAt.IsZero() {
			t.Errorf("stored variable = %+v", got)
		}
		if n, err := db.CountVariables(ctx, ci.ScopeGroup, sub.ID); err != nil || n != 1 {
			t.Errorf("CountVariables(sub) = %d, %v", n, err)
		}
		if n, err := db.CountVariables(ctx, ci.ScopeInstance, 0); err != nil || n != 1 {
			t.Errorf("CountVariables(instance) = %d, %v", n, err)
		}

		all, err := db.VariablesFor(ctx, proj.ID, []int64{sub.ID, top.ID})
		if err != nil {
			t.Fatal(err)
		}
		var seen []string
		for _, v := range all {
			seen = append(seen, string(v.Sealed))
		}
		if strings.Join(seen, ",") != "i,p,p-prod,sub,top" && !sameSet(seen, []string{"i", "top", "sub", "p", "p-prod"}) {
			t.Errorf("VariablesFor = %v, want the instance's, top's, sub's and the project's", seen)
		}

		pv.Key, pv.Sealed, pv.Masked, pv.File, pv.Environment = "B", []byte("p2"), false, true, "review/*"
		if err := db.UpdateVariable(ctx, pv); err != nil {
			t.Fatal(err)
		}
		list, _ = db.ListVariables(ctx, ci.ScopeProject, proj.ID)
		if len(list) != 2 || list[1].Key != "B" || string(list[1].Sealed) != "p2" || list[1].Masked || !list[1].File || list[1].Environment != "review/*" {
			t.Errorf("after update: %+v", list)
		}
		clash := *list[1]
		clash.Key, clash.Environment = "A", "production"
		WantKind(t, db.UpdateVariable(ctx, &clash), ci.KindConflict)
		if err := db.DeleteVariable(ctx, pv.ID); err != nil {
			t.Fatal(err)
		}
		WantKind(t, db.DeleteVariable(ctx, pv.ID), ci.KindNotFound)
		WantKind(t, db.UpdateVariable(ctx, pv), ci.KindNotFound)
		if v, err := db.AnyVariable(ctx); err != nil || v == nil {
			t.Errorf("AnyVariable = %v, %v", v, err)
		}

		// Deleting a project or group deletes its variables.
		if err := db.DeleteProject(ctx, proj2.ID); err != nil {
			t.Fatal(err)
		}
		if n, _ := db.CountVariables(ctx, ci.ScopeProject, proj2.ID); n != 0 {
			t.Errorf("variables of a deleted project: %d", n)
		}
	})
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, s := range a {
		m[s]++
	}
	for _, s := range b {
		m[s]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}

func TestProtectedRefs(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		g := MustGroup(t, db, 0, ci.VisibilityPrivate)
		proj := MustProject(t, db, g.ID, ci.VisibilityPrivate)
		b := &ci.ProtectedRef{ProjectID: proj.ID, Name: "release/*", PushLevel: ci.AccessMaintainer, MergeLevel: ci.AccessDeveloper}
		tag := &ci.ProtectedRef{ProjectID: proj.ID, Tag: true, Name: "release/*", CreateLevel: ci.AccessAdmin}
		for _, r := range []*ci.ProtectedRef{b, tag} {
			if err := db.CreateProtectedRef(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		WantKind(t, db.CreateProtectedRef(ctx, &ci.ProtectedRef{ProjectID: proj.ID, Name: "release/*"}), ci.KindConflict)
		list, err := db.ListProtectedRefs(ctx, proj.ID)
		if err != nil || len(list) != 2 {
			t.Fatalf("ListProtectedRefs = %v, %v", list, err)
		}
		if r := list[0]; r.Tag || r.Name != "release/*" || r.PushLevel != ci.AccessMaintainer || r.MergeLevel != ci.AccessDeveloper || r.CreatedAt.IsZero() {
			t.Errorf("branch rule = %+v", r)
		}
		if r := list[1]; !r.Tag || r.CreateLevel != ci.AccessAdmin {
			t.Errorf("tag rule = %+v", r)
		}
		b.PushLevel, b.AllowForcePush = ci.AccessNone, true
		if err := db.UpdateProtectedRef(ctx, b); err != nil {
			t.Fatal(err)
		}
		list, _ = db.ListProtectedRefs(ctx, proj.ID)
		if list[0].PushLevel != ci.AccessNone || !list[0].AllowForcePush {
			t.Errorf("after update: %+v", list[0])
		}
		if err := db.DeleteProtectedRef(ctx, tag.ID); err != nil {
			t.Fatal(err)
		}
		WantKind(t, db.DeleteProtectedRef(ctx, tag.ID), ci.KindNotFound)

		// A pipeline records whether its ref was protected.
		pl := &ci.Pipeline{ProjectID: proj.ID, Ref: "release/1", SHA: strings.Repeat("a", 40), Source: ci.SourcePush,
			Status: ci.StatusCreated, Protected: true}
		if err := db.CreatePipeline(ctx, pl, nil); err != nil {
			t.Fatal(err)
		}
		if got, err := db.PipelineByID(ctx, pl.ID); err != nil || !got.Protected {
			t.Errorf("PipelineByID: protected = %v, %v", got != nil && got.Protected, err)
		}
	})
}

// TestMaskedTrace: a masked value is never stored, even split across
// patches; the log keeps its length; a held-back end is stored as '*'
// when the job finishes.
func TestMaskedTrace(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := MustUser(t, db)
		ns, _ := db.NamespaceOfUser(ctx, u.ID)
		proj := MustProject(t, db, ns.ID, ci.VisibilityPrivate)
		_, jobs := MustPipeline(t, db, proj.ID, "main", map[string][]string{"build": nil})
		id := jobs[0].ID
		secret := "s3cr3t-Value-42"
		mask := ci.NewTraceMask([]string{secret})
		patches := []string{"start " + secret[:5], secret[5:9], secret[9:] + " mid s3c", "r3t-Val"}
		var off int64
		for _, p := range patches {
			size, err := db.AppendMaskedTrace(ctx, id, off, []byte(p), mask)
			if err != nil || size != off+int64(len(p)) {
				t.Fatalf("AppendMaskedTrace(%d, %q) = %d, %v", off, p, size, err)
			}
			off = size
			stored, _ := db.ReadTrace(ctx, id, 0, 0)
			if bytes.Contains(stored, []byte(secret)) || bytes.Contains(stored, []byte("s3c")) {
				t.Fatalf("stored trace after %q holds (the start of) the secret: %q", p, stored)
			}
		}
		j, _ := db.JobByID(ctx, id)
		from := j.Status
		j.Status = ci.StatusSuccess
		if err := db.UpdateJob(ctx, j, from); err != nil {
			t.Fatal(err)
		}
		stored, _ := db.ReadTrace(ctx, id, 0, 0)
		// The log ended with "s3cr3t-Val", the start of the secret.
		want := "start [MASKED]******* mid " + strings.Repeat("*", len("s3cr3t-Val"))
		if string(stored) != want || int64(len(stored)) != j.TraceSize {
			t.Errorf("final trace = %q (size %d), want %q (size %d)", stored, len(stored), want, j.TraceSize)
		}
	})
}
