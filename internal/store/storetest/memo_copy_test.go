package storetest

import (
	"context"
	"fmt"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/store"
)

// TestRememberedReadsShareNothing: every remembered read (token with its
// user, project by id, by path and with a level, job with its archives)
// gives each caller a value equal to what the database holds and sharing
// no pointer, slice or map with what any other caller got, so that no
// caller's change reaches another request. Every pointer and slice the
// reads fill is set, so that a field the copy forgets is found.
func TestRememberedReadsShareNothing(t *testing.T) {
	db := OpenSQLite(t)
	ctx := context.Background()
	if err := db.Claim(); err != nil {
		t.Fatal(err)
	}
	if !db.RememberReads(100) {
		t.Fatal("SQLite does not remember reads")
	}
	u := MustUser(t, db)
	soon, used := time.Now().Add(time.Hour), time.Now().Add(-time.Minute)
	tok := &ci.PersonalToken{UserID: u.ID, Name: "copies", Scopes: []string{ci.ScopeAPI, ci.ScopeReadRepo},
		TokenHash: fmt.Sprintf("copies-%d", u.ID), ExpiresAt: &soon, LastUsedAt: &used}
	must(t, db.CreatePersonalToken(ctx, tok))
	ns, err := db.NamespaceOfUser(ctx, u.ID)
	must(t, err)
	proj := MustProject(t, db, ns.ID, ci.VisibilityPrivate)
	_, jobs := MustPipeline(t, db, proj.ID, "main", map[string][]string{"build": nil})
	j := jobs[0]
	finished := time.Now()
	j.Status, j.FinishedAt = ci.StatusSuccess, &finished
	must(t, db.UpdateJob(ctx, j, ci.StatusPending))
	for _, a := range []*ci.Artifact{
		{JobID: j.ID, FileType: ci.FileTypeArchive, FileFormat: ci.FormatZip, Filename: "artifacts.zip", BlobKey: "a", ExpireAt: &soon},
		{JobID: j.ID, FileType: ci.FileTypeJUnit, FileFormat: ci.FormatGzip, Filename: "junit.xml.gz", BlobKey: "b", ExpireAt: &soon},
	} {
		must(t, db.CreateArtifact(ctx, a))
	}

	reads := []struct {
		name string
		read func(ctx context.Context) (any, error)
	}{
		{"PersonalTokenWithUser", func(ctx context.Context) (any, error) {
			t, u, err := db.PersonalTokenWithUser(ctx, tok.TokenHash)
			return []any{t, u}, err
		}},
		{"ProjectByID", func(ctx context.Context) (any, error) { return db.ProjectByID(ctx, proj.ID) }},
		{"ProjectByFullPath", func(ctx context.Context) (any, error) { return db.ProjectByFullPath(ctx, proj.FullPath) }},
		{"ProjectWithLevel", func(ctx context.Context) (any, error) {
			p, l, err := db.ProjectWithLevel(ctx, proj.ID, "", u.ID)
			return []any{p, l}, err
		}},
		{"JobWithArtifacts", func(ctx context.Context) (any, error) {
			j, as, err := db.JobWithArtifacts(ctx, j.ID)
			return []any{j, as}, err
		}},
	}
	for _, r := range reads {
		var got []any
		for i := range 3 { // read from the database, then twice remembered
			var n atomic.Int64
			v, err := r.read(store.WithStatementCount(ctx, &n))
			if err != nil {
				t.Fatalf("%s: %v", r.name, err)
			}
			if i > 0 && n.Load() != 0 {
				t.Fatalf("%s: read %d ran %d statements: not remembered, nothing to check", r.name, i+1, n.Load())
			}
			got = append(got, v)
		}
		if nils := nilFields(reflect.ValueOf(got[0]), r.name); len(nils) > 0 {
			t.Fatalf("the test leaves %v unset: set them so that their copies are checked", nils)
		}
		for _, pair := range [][2]int{{0, 1}, {1, 2}} {
			a, b := got[pair[0]], got[pair[1]]
			if !reflect.DeepEqual(a, b) {
				t.Errorf("%s: read %d differs from read %d:\n%#v\n%#v", r.name, pair[1]+1, pair[0]+1, b, a)
			}
			if s := shared(reflect.ValueOf(a), reflect.ValueOf(b), r.name); len(s) > 0 {
				t.Errorf("reads %d and %d share %v", pair[0]+1, pair[1]+1, s)
			}
		}
	}
}

var timeType = reflect.TypeFor[time.Time]()

// shared lists the paths at which a and b hold one pointer, one slice's
// elements or one map (times, immutable, aside).
func shared(a, b reflect.Value, path string) []string {
	if a.Type() != b.Type() || a.Type() == timeType {
		return nil
	}
	var out []string
	switch a.Kind() {
	case reflect.Interface:
		if !a.IsNil() && !b.IsNil() {
			out = append(out, shared(a.Elem(), b.Elem(), path)...)
		}
	case reflect.Pointer, reflect.Map:
		if a.IsNil() || b.IsNil() {
			return nil
		}
		if a.Pointer() == b.Pointer() {
			return []string{path}
		}
		if a.Kind() == reflect.Pointer {
			out = append(out, shared(a.Elem(), b.Elem(), path)...)
		}
	case reflect.Slice:
		if a.Cap() > 0 && b.Cap() > 0 && a.Pointer() == b.Pointer() {
			return []string{path}
		}
		for i := 0; i < min(a.Len(), b.Len()); i++ {
			out = append(out, shared(a.Index(i), b.Index(i), fmt.Sprintf("%s[%d]", path, i))...)
		}
	case reflect.Array:
		for i := 0; i < a.Len(); i++ {
			out = append(out, shared(a.Index(i), b.Index(i), fmt.Sprintf("%s[%d]", path, i))...)
		}
	case reflect.Struct:
		for i := 0; i < a.NumField(); i++ {
			out = append(out, shared(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name)...)
		}
	}
	return out
}

// nilFields lists the nil pointers and slices among the fields of the
// structs v holds, but for those a partial job (ci.Job.PartialSpec) never
// sets.
func nilFields(v reflect.Value, path string) []string {
	switch v.Kind() {
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			return []string{path}
		}
		return nilFields(v.Elem(), path)
	case reflect.Slice:
		if v.IsNil() {
			return []string{path}
		}
		var out []string
		for i := 0; i < v.Len(); i++ {
			out = append(out, nilFields(v.Index(i), fmt.Sprintf("%s[%d]", path, i))...)
		}
		return out
	case reflect.Struct:
		if v.Type() == timeType {
			return nil
		}
		var out []string
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			if v.Type() == reflect.TypeFor[ci.Job]() && !partialJobFields[f.Name] {
				continue
			}
			out = append(out, nilFields(v.Field(i), path+"."+f.Name)...)
		}
		return out
	}
	return nil
}

// partialJobFields are the fields JobWithArtifacts sets.
var partialJobFields = map[string]bool{"ID": true, "ProjectID": true, "PipelineID": true, "Name": true, "Stage": true,
	"Status": true, "UserID": true, "FinishedAt": true, "PartialSpec": true}
