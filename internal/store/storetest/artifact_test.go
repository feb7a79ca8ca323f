package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/store"
	"github.com/batonci/baton/internal/store/sqlite"
)

func TestArtifacts(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := MustUser(t, db)
		ns, _ := db.NamespaceOfUser(ctx, u.ID)
		proj := MustProject(t, db, ns.ID, ci.VisibilityPrivate)
		p, jobs := MustPipeline(t, db, proj.ID, "main", map[string][]string{"build": nil})
		_, jobs2 := MustPipeline(t, db, proj.ID, "main", map[string][]string{"test": nil})
		past, future := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
		a := &ci.Artifact{JobID: jobs[0].ID, FileType: ci.FileTypeArchive, FileFormat: ci.FormatZip, Filename: "artifacts.zip",
			Size: 100, SHA256: "ff", BlobKey: "k1", IndexKey: "i1", ExpireAt: &past}
		must(t, db.CreateArtifact(ctx, a))
		if a.ID == 0 || a.PipelineID != p.ID || a.ProjectID != proj.ID || a.CreatedAt.IsZero() {
			t.Errorf("created %+v", a)
		}
		got, err := db.ArtifactByID(ctx, a.ID)
		if err != nil || got.BlobKey != "k1" || !got.ExpireAt.Equal(*a.ExpireAt) || *got.ExpireAt != *a.ExpireAt {
			t.Errorf("ArtifactByID = %+v, %v", got, err)
		}
		err = db.CreateArtifact(ctx, &ci.Artifact{JobID: jobs[0].ID, FileType: ci.FileTypeArchive, BlobKey: "k2"})
		WantKind(t, err, ci.KindConflict)
		WantKind(t, db.CreateArtifact(ctx, &ci.Artifact{JobID: 9999, FileType: ci.FileTypeArchive, BlobKey: "k"}), ci.KindNotFound)
		must(t, db.CreateArtifact(ctx, &ci.Artifact{JobID: jobs[0].ID, FileType: ci.FileTypeJUnit, BlobKey: "k3", Size: 5, ExpireAt: &future}))
		must(t, db.CreateArtifact(ctx, &ci.Artifact{JobID: jobs2[0].ID, FileType: ci.FileTypeTrace, BlobKey: "k4", Size: 7, ExpireAt: &past, Locked: true}))

		as, err := db.ArtifactsOfJobs(ctx, []int64{jobs[0].ID, jobs2[0].ID, 9999})
		if err != nil || len(as) != 3 {
			t.Errorf("ArtifactsOfJobs = %d, %v", len(as), err)
		}
		if as, err := db.ArtifactsOfProject(ctx, proj.ID, 0); err != nil || len(as) != 3 || as[0].ID != a.ID {
			t.Errorf("ArtifactsOfProject(all) = %d, %v", len(as), err)
		}
		if as, err := db.ArtifactsOfProject(ctx, proj.ID, p.ID); err != nil || len(as) != 2 || as[0].PipelineID != p.ID || as[1].PipelineID != p.ID {
			t.Errorf("ArtifactsOfProject(pipeline %d) = %+v, %v", p.ID, as, err)
		}
		other := MustProject(t, db, ns.ID, ci.VisibilityPrivate)
		if as, err := db.ArtifactsOfProject(ctx, other.ID, 0); err != nil || len(as) != 0 {
			t.Errorf("ArtifactsOfProject(other project) = %d, %v", len(as), err)
		}
		for _, c := range []struct {
			job  *ci.Job
			want int
		}{{jobs[0], 2}, {jobs2[0], 1}} {
			j, as, err := db.JobWithArtifacts(ctx, c.job.ID)
			if err != nil || j.ID != c.job.ID || j.ProjectID != proj.ID || j.PipelineID != c.job.PipelineID || j.Status != c.job.Status ||
				j.Name != c.job.Name || !j.PartialSpec || len(as) != c.want {
				t.Fatalf("JobWithArtifacts(%d) = %+v, %d artifacts, %v", c.job.ID, j, len(as), err)
			}
			want, _ := db.ArtifactsOfJobs(ctx, []int64{c.job.ID})
			for i := range as {
				got, w := *as[i], *want[i]
				sameExpiry := (got.ExpireAt == nil) == (w.ExpireAt == nil) && (got.ExpireAt == nil || got.ExpireAt.Equal(*w.ExpireAt))
				sameCreated := got.CreatedAt.Equal(w.CreatedAt)
				got.ExpireAt, w.ExpireAt, got.CreatedAt, w.CreatedAt = nil, nil, time.Time{}, time.Time{}
				if got != w || !sameExpiry || !sameCreated {
					t.Errorf("JobWithArtifacts(%d)[%d] = %+v, want %+v", c.job.ID, i, as[i], want[i])
				}
			}
		}
		_, jobs3 := MustPipeline(t, db, proj.ID, "main", map[string][]string{"lint": nil})
		if j, as, err := db.JobWithArtifacts(ctx, jobs3[0].ID); err != nil || j.ID != jobs3[0].ID || len(as) != 0 {
			t.Errorf("JobWithArtifacts(no artifacts) = %+v, %v, %v", j, as, err)
		}
		_, _, err = db.JobWithArtifacts(ctx, 99999)
		WantKind(t, err, ci.KindNotFound)
		if as, err := db.ArtifactsOfJobs(ctx, nil); err != nil || len(as) != 0 {
			t.Errorf("ArtifactsOfJobs(nil) = %v, %v", as, err)
		}
		if n, err := db.ProjectArtifactsSize(ctx, proj.ID); err != nil || n != 112 {
			t.Errorf("ProjectArtifactsSize = %d, %v", n, err)
		}
		exp, err := db.ListExpiredArtifacts(ctx, time.Now(), 10)
		if err != nil || len(exp) != 1 || exp[0].ID != a.ID {
			t.Errorf("ListExpiredArtifacts = %v, %v", exp, err)
		}
		a.Locked = true
		must(t, db.UpdateArtifact(ctx, a))
		if exp, _ := db.ListExpiredArtifacts(ctx, time.Now(), 10); len(exp) != 0 {
			t.Errorf("locked artifact listed as expired")
		}
		a.Locked, a.ExpireAt = false, nil
		must(t, db.UpdateArtifact(ctx, a))
		if got, _ := db.ArtifactByID(ctx, a.ID); got.ExpireAt != nil || got.Locked {
			t.Errorf("after update %+v", got)
		}
		WantKind(t, db.UpdateArtifact(ctx, &ci.Artifact{ID: 9999}), ci.KindNotFound)
		must(t, db.DeleteArtifact(ctx, a.ID))
		WantKind(t, db.DeleteArtifact(ctx, a.ID), ci.KindNotFound)
		_, err = db.ArtifactByID(ctx, a.ID)
		WantKind(t, err, ci.KindNotFound)
	})
}

// TestPublishedArtifacts: a job has one published artifact per name (next
// to its archive), ReplaceArtifact swaps one in a transaction and returns
// the replaced row, and another job may reuse a name.
func TestPublishedArtifacts(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := MustUser(t, db)
		ns, _ := db.NamespaceOfUser(ctx, u.ID)
		proj := MustProject(t, db, ns.ID, ci.VisibilityPrivate)
		_, jobs := MustPipeline(t, db, proj.ID, "main", map[string][]string{"build": nil, "test": nil})
		pub := func(job int64, name, key string) *ci.Artifact {
			return &ci.Artifact{JobID: job, FileType: ci.FileTypePublished, Name: name, FileFormat: ci.FormatZip, BlobKey: key}
		}
		must(t, db.CreateArtifact(ctx, &ci.Artifact{JobID: jobs[0].ID, FileType: ci.FileTypeArchive, BlobKey: "archive"}))
		first := pub(jobs[0].ID, "app", "k1")
		must(t, db.CreateArtifact(ctx, first))
		must(t, db.CreateArtifact(ctx, pub(jobs[0].ID, "docs", "k2")))
		must(t, db.CreateArtifact(ctx, pub(jobs[1].ID, "app", "k3")))
		WantKind(t, db.CreateArtifact(ctx, pub(jobs[0].ID, "app", "k4")), ci.KindConflict)
		got, err := db.ArtifactByID(ctx, first.ID)
		if err != nil || got.Name != "app" || got.FileType != ci.FileTypePublished {
			t.Fatalf("ArtifactByID = %+v, %v", got, err)
		}

		repl := pub(jobs[0].ID, "app", "k5")
		repl.PipelineID, repl.ProjectID = first.PipelineID, first.ProjectID
		old, err := db.ReplaceArtifact(ctx, repl)
		if err != nil || old == nil || old.BlobKey != "k1" || repl.ID == 0 {
			t.Fatalf("ReplaceArtifact = %+v, %v (new %+v)", old, err, repl)
		}
		fresh := pub(jobs[0].ID, "new", "k6")
		fresh.PipelineID, fresh.ProjectID = first.PipelineID, first.ProjectID
		if old, err := db.ReplaceArtifact(ctx, fresh); err != nil || old != nil {
			t.Fatalf("ReplaceArtifact of a new name = %+v, %v", old, err)
		}
		as, err := db.ArtifactsOfJobs(ctx, []int64{jobs[0].ID})
		keys := map[string]string{}
		for _, a := range as {
			keys[a.FileType+"/"+a.Name] = a.BlobKey
		}
		if err != nil || len(as) != 4 || keys["published/app"] != "k5" || keys["published/docs"] != "k2" || keys["published/new"] != "k6" || keys["archive/"] != "archive" {
			t.Fatalf("artifacts of the job: %v, %v", keys, err)
		}
	})
}

func TestRunners(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := MustUser(t, db)
		ns, _ := db.NamespaceOfUser(ctx, u.ID)
		proj, other := MustProject(t, db, ns.ID, ci.VisibilityPrivate), MustProject(t, db, ns.ID, ci.VisibilityPrivate)
		g := MustGroup(t, db, 0, ci.VisibilityPrivate)
		inst := &ci.Runner{Description: "shared", TokenHash: "r1", RunnerType: ci.RunnerInstance, Tags: []string{"linux"},
			RunUntagged: true, AccessLevel: "not_protected", MaximumTimeout: 3600}
		projR := &ci.Runner{TokenHash: "r2", RunnerType: ci.RunnerProject, ProjectID: proj.ID, Paused: true}
		otherR := &ci.Runner{TokenHash: "r3", RunnerType: ci.RunnerProject, ProjectID: other.ID}
		groupR := &ci.Runner{TokenHash: "r4", RunnerType: ci.RunnerGroup, NamespaceID: g.ID}
		for _, r := range []*ci.Runner{inst, projR, otherR, groupR} {
			must(t, db.CreateRunner(ctx, r))
		}
		WantKind(t, db.CreateRunner(ctx, &ci.Runner{TokenHash: "r1", RunnerType: ci.RunnerInstance}), ci.KindConflict)
		WantKind(t, db.CreateRunner(ctx, &ci.Runner{TokenHash: "r9", RunnerType: ci.RunnerProject, ProjectID: 9999}), ci.KindInvalid)
		got, err := db.RunnerByTokenHash(ctx, "r1")
		if err != nil || got.ID != inst.ID || got.Tags[0] != "linux" || !got.RunUntagged || got.MaximumTimeout != 3600 ||
			!got.CreatedAt.Equal(inst.CreatedAt) {
			t.Errorf("RunnerByTokenHash = %+v, %v", got, err)
		}
		if got, err := db.RunnerByID(ctx, groupR.ID); err != nil || got.NamespaceID != g.ID || got.Tags == nil {
			t.Errorf("RunnerByID = %+v, %v", got, err)
		}
		yes := true
		for _, tc := range []struct {
			name string
			f    ci.RunnerFilter
			want []int64
		}{
			{"all", ci.RunnerFilter{}, []int64{inst.ID, projR.ID, otherR.ID, groupR.ID}},
			{"project", ci.RunnerFilter{ProjectID: proj.ID}, []int64{inst.ID, projR.ID}},
			{"type", ci.RunnerFilter{Type: ci.RunnerGroup}, []int64{groupR.ID}},
			{"paused", ci.RunnerFilter{Paused: &yes}, []int64{projR.ID}},
			{"page", ci.RunnerFilter{Page: ci.Page{Page: 2, PerPage: 3}}, []int64{groupR.ID}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				rs, total, err := db.ListRunners(ctx, tc.f)
				var ids []int64
				for _, r := range rs {
					ids = append(ids, r.ID)
				}
				wantTotal := len(tc.want)
				if tc.f.PerPage > 0 {
					wantTotal = 4
				}
				if err != nil || total != wantTotal || !equal(ids, tc.want) {
					t.Errorf("ListRunners = %v (total %d), %v; want %v", ids, total, err, tc.want)
				}
			})
		}
		inst.Description, inst.Tags, inst.Paused = "renamed", []string{"a", "b"}, true
		must(t, db.UpdateRunner(ctx, inst))
		if got, _ := db.RunnerByID(ctx, inst.ID); got.Description != "renamed" || len(got.Tags) != 2 || !got.Paused {
			t.Errorf("after update %+v", got)
		}
		WantKind(t, db.UpdateRunner(ctx, &ci.Runner{ID: 9999, TokenHash: "zz"}), ci.KindNotFound)
		WantKind(t, db.UpdateRunner(ctx, &ci.Runner{ID: projR.ID, TokenHash: "r1"}), ci.KindConflict)
		at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
		touch := &ci.Runner{ID: inst.ID, Version: "17.0", Platform: "linux", Architecture: "amd64", Executor: "shell",
			IPAddress: "10.0.0.1", ContactedAt: &at}
		must(t, db.TouchRunner(ctx, touch))
		if got, _ := db.RunnerByID(ctx, inst.ID); got.Version != "17.0" || got.IPAddress != "10.0.0.1" || !got.ContactedAt.Equal(at) ||
			got.Description != "renamed" {
			t.Errorf("after touch %+v", got)
		}
		WantKind(t, db.TouchRunner(ctx, &ci.Runner{ID: 9999}), ci.KindNotFound)
		must(t, db.DeleteRunner(ctx, otherR.ID))
		WantKind(t, db.DeleteRunner(ctx, otherR.ID), ci.KindNotFound)
		_, err = db.RunnerByTokenHash(ctx, "r3")
		WantKind(t, err, ci.KindNotFound)
	})
}

// TestArtifactFiles: an archive's files are recorded with its row and found
// by digest with their provenance, only in their project, page by page;
// they go with the archive, and a refused archive leaves none.
func TestArtifactFiles(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := MustUser(t, db)
		ns, _ := db.NamespaceOfUser(ctx, u.ID)
		proj := MustProject(t, db, ns.ID, ci.VisibilityPrivate)
		other := MustProject(t, db, ns.ID, ci.VisibilityPrivate)
		r := &ci.Runner{Description: "builder-7", TokenHash: "th-files", RunnerType: ci.RunnerInstance}
		must(t, db.CreateRunner(ctx, r))
		p1, j1 := MustPipeline(t, db, proj.ID, "main", map[string][]string{"test 1/2": nil})
		p2, j2 := MustPipeline(t, db, proj.ID, "dev", map[string][]string{"test 2/2": nil})
		j1[0].RunnerID = r.ID
		must(t, db.UpdateJob(ctx, j1[0], j1[0].Status))
		const n = 2*200 + 37 // more than two INSERT batches
		shared, unique := strings.Repeat("a", 64), strings.Repeat("b", 64)
		files := func(extra ci.ArtifactFile) func(yield func(ci.ArtifactFile) bool) {
			return func(yield func(ci.ArtifactFile) bool) {
				for i := range n {
					if !yield(ci.ArtifactFile{Path: fmt.Sprintf("f%04d", i), SHA256: fmt.Sprintf("%064x", i)}) {
						return
					}
				}
				if !yield(ci.ArtifactFile{Path: "no-digest"}) {
					return
				}
				yield(extra)
			}
		}
		a1 := &ci.Artifact{JobID: j1[0].ID, FileType: ci.FileTypeArchive, FileFormat: ci.FormatZip, BlobKey: "f1"}
		must(t, db.CreateArchive(ctx, a1, files(ci.ArtifactFile{Path: "out/lib.so", SHA256: shared})))
		a2 := &ci.Artifact{JobID: j2[0].ID, FileType: ci.FileTypeArchive, FileFormat: ci.FormatZip, BlobKey: "f2"}
		must(t, db.CreateArchive(ctx, a2, files(ci.ArtifactFile{Path: "dist/lib.so", SHA256: shared})))
		if a1.ID == 0 || a1.ProjectID != proj.ID || a1.CreatedAt.IsZero() {
			t.Fatalf("created %+v", a1)
		}

		got, total, err := db.FilesByDigest(ctx, proj.ID, shared, ci.Page{Page: 1, PerPage: 20})
		if err != nil || total != 2 || len(got) != 2 {
			t.Fatalf("FilesByDigest = %+v, %d, %v", got, total, err)
		}
		want := []ci.FileProvenance{
			{ArtifactID: a2.ID, PipelineID: p2.ID, JobID: j2[0].ID, JobName: "test 2/2", CommitSHA: p2.SHA, Ref: "dev", Path: "dist/lib.so", CreatedAt: a2.CreatedAt},
			{ArtifactID: a1.ID, PipelineID: p1.ID, JobID: j1[0].ID, JobName: "test 1/2", CommitSHA: p1.SHA, Ref: "main", RunnerID: r.ID,
				RunnerDescription: "builder-7", Path: "out/lib.so", CreatedAt: a1.CreatedAt},
		}
		for i := range want {
			if *got[i] != want[i] {
				t.Errorf("FilesByDigest[%d] = %+v; want %+v", i, *got[i], want[i])
			}
		}
		// Every file of both archives with a digest was recorded: the last
		// of the first batch, of the partial one.
		for _, i := range []int{0, 199, 200, n - 1} {
			got, total, err := db.FilesByDigest(ctx, proj.ID, fmt.Sprintf("%064x", i), ci.Page{Page: 1, PerPage: 1})
			if err != nil || total != 2 || len(got) != 1 || got[0].Path != fmt.Sprintf("f%04d", i) || got[0].ArtifactID != a2.ID {
				t.Fatalf("FilesByDigest(file %d) = %+v, %d, %v", i, got, total, err)
			}
		}
		if got, total, err := db.FilesByDigest(ctx, proj.ID, "", ci.Page{}); err != nil || total != 0 || len(got) != 0 {
			t.Fatalf("FilesByDigest(empty digest) = %+v, %d, %v; files without digest are not recorded", got, total, err)
		}
		if got, total, err := db.FilesByDigest(ctx, other.ID, shared, ci.Page{}); err != nil || total != 0 || len(got) != 0 {
			t.Fatalf("FilesByDigest(other project) = %+v, %d, %v", got, total, err)
		}
		if got, _, err := db.FilesByDigest(ctx, proj.ID, unique, ci.Page{}); err != nil || len(got) != 0 {
			t.Fatalf("FilesByDigest(unknown) = %+v, %v", got, err)
		}

		// A second archive for a job is refused, and none of its files stay.
		dup := &ci.Artifact{JobID: j1[0].ID, FileType: ci.FileTypeArchive, BlobKey: "f3"}
		WantKind(t, db.CreateArchive(ctx, dup, files(ci.ArtifactFile{Path: "dup", SHA256: unique})), ci.KindConflict)
		if got, _, err := db.FilesByDigest(ctx, proj.ID, unique, ci.Page{}); err != nil || len(got) != 0 {
			t.Fatalf("files of a refused archive: %+v, %v", got, err)
		}

		// Deleting an archive deletes its files.
		must(t, db.DeleteArtifact(ctx, a2.ID))
		got, total, err = db.FilesByDigest(ctx, proj.ID, shared, ci.Page{})
		if err != nil || total != 1 || len(got) != 1 || got[0].ArtifactID != a1.ID {
			t.Fatalf("after deleting archive %d: %+v, %d, %v", a2.ID, got, total, err)
		}
	})
}

// TestPublishedMigrationKeepsRows: migration 0007 rebuilds SQLite's
// artifacts table; every artifact (same id) and every artifact_files row
// survive it, and the table then takes a published artifact per name.
func TestPublishedMigrationKeepsRows(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "b.db")
	sdb, err := sql.Open("sqlite", sqlite.DSN(path))
	must(t, err)
	defer sdb.Close()
	db := store.New(sdb, store.Engine{Name: "sqlite"})
	ms, err := sqlite.Migrations()
	must(t, err)
	var before []store.Migration
	for _, m := range ms {
		if m.Version < 7 {
			before = append(before, m)
		}
	}
	must(t, db.Migrate(ctx, before))
	u := MustUser(t, db)
	ns, _ := db.NamespaceOfUser(ctx, u.ID)
	proj := MustProject(t, db, ns.ID, ci.VisibilityPrivate)
	// The pipeline and job rows as the schema before 0007 takes them (the
	// store's own statements write columns later migrations add).
	p, jobs := &ci.Pipeline{}, []*ci.Job{{}}
	must(t, sdb.QueryRow(`INSERT INTO pipelines (project_id, iid, ref, sha, source, status, created_at, updated_at)
		VALUES (?, 1, 'main', ?, 'push', 'pending', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z') RETURNING id`,
		proj.ID, strings.Repeat("a", 40)).Scan(&p.ID))
	must(t, sdb.QueryRow(`INSERT INTO jobs (project_id, pipeline_id, name, status, created_at, updated_at)
		VALUES (?, ?, 'build', 'pending', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z') RETURNING id`,
		proj.ID, p.ID).Scan(&jobs[0].ID))
	for i, typ := range []string{ci.FileTypeArchive, ci.FileTypeJUnit} {
		_, err := sdb.Exec(`INSERT INTO artifacts (id, job_id, pipeline_id, project_id, file_type, blob_key, created_at) VALUES (?, ?, ?, ?, ?, ?, '2026-01-01T00:00:00Z')`,
			40+i, jobs[0].ID, p.ID, proj.ID, typ, fmt.Sprint("k", i))
		must(t, err)
	}
	_, err = sdb.Exec(`INSERT INTO artifact_files (artifact_id, project_id, sha256, path) VALUES (40, ?, 'aa', 'a.txt'), (40, ?, 'bb', 'b.txt')`, proj.ID, proj.ID)
	must(t, err)

	// Opened as the server opens it: the rest of the migrations apply.
	db, err = sqlite.Open(ctx, path)
	must(t, err)
	defer db.Close()
	as, err := db.ArtifactsOfJobs(ctx, []int64{jobs[0].ID})
	if err != nil || len(as) != 2 || as[0].ID != 40 || as[1].ID != 41 || as[0].BlobKey != "k0" || as[0].Name != "" {
		t.Fatalf("artifacts after the migration: %+v, %v", as, err)
	}
	var files int
	must(t, db.SQL().QueryRow(`SELECT COUNT(*) FROM artifact_files WHERE artifact_id = 40`).Scan(&files))
	if files != 2 {
		t.Fatalf("%d artifact_files rows after the migration, want 2", files)
	}
	must(t, db.CreateArtifact(ctx, &ci.Artifact{JobID: jobs[0].ID, FileType: ci.FileTypePublished, Name: "a", BlobKey: "p1"}))
	must(t, db.CreateArtifact(ctx, &ci.Artifact{JobID: jobs[0].ID, FileType: ci.FileTypePublished, Name: "b", BlobKey: "p2"}))
	WantKind(t, db.CreateArtifact(ctx, &ci.Artifact{JobID: jobs[0].ID, FileType: ci.FileTypeArchive, BlobKey: "k9"}), ci.KindConflict)
}
