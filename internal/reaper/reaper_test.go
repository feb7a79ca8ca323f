package reaper_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	blobfs "github.com/batonci/baton/internal/blob/fs"
	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/reaper"
	"github.com/batonci/baton/internal/store"
	"github.com/batonci/baton/internal/store/storetest"
	"github.com/batonci/baton/internal/testpg"
)

func TestMain(m *testing.M) { testpg.Main(m) }

func TestPass(t *testing.T) {
	for _, keepLatest := range []bool{true, false} {
		name := map[bool]string{true: "keep latest", false: "reap all"}[keepLatest]
		t.Run(name, func(t *testing.T) {
			storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
				testPass(t, db, keepLatest)
			})
		})
	}
}

func testPass(t *testing.T, db *store.DB, keepLatest bool) {
	ctx := context.Background()
	blobs, err := blobfs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	u := storetest.MustUser(t, db)
	ns, err := db.NamespaceOfUser(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	proj := storetest.MustProject(t, db, ns.ID, ci.VisibilityPrivate)
	now := time.Now().UTC()
	past, future := now.Add(-time.Hour), now.Add(time.Hour)
	pipeline := func(ref string, st ci.Status) *ci.Job {
		pl, jobs := storetest.MustPipeline(t, db, proj.ID, ref, map[string][]string{"build": nil})
		pl.Status = st
		if err := db.UpdatePipeline(ctx, pl); err != nil {
			t.Fatal(err)
		}
		return jobs[0]
	}
	artifact := func(j *ci.Job, fileType string, expire *time.Time) *ci.Artifact {
		key := "artifacts/" + strings.ReplaceAll(t.Name(), "/", "_") + "/" + fileType + "/" + j.Name + "/" + time.Now().Format("150405.000000000")
		info, err := blobs.Put(ctx, key, strings.NewReader("bytes of "+key))
		if err != nil {
			t.Fatal(err)
		}
		a := &ci.Artifact{JobID: j.ID, PipelineID: j.PipelineID, ProjectID: proj.ID, FileType: fileType, FileFormat: ci.FormatZip,
			Filename: "artifacts.zip", Size: info.Size, SHA256: info.SHA256, BlobKey: key, ExpireAt: expire}
		if err := db.CreateArtifact(ctx, a); err != nil {
			t.Fatal(err)
		}
		return a
	}
	earliest := past.Add(-time.Hour) // listed first, so sparing it must not stop the pass
	oldMain := pipeline("main", ci.StatusSuccess)
	latestMain := pipeline("main", ci.StatusSuccess)
	failedFeature := pipeline("feature", ci.StatusFailed)

	reaped := []*ci.Artifact{artifact(oldMain, ci.FileTypeArchive, &past), artifact(failedFeature, ci.FileTypeArchive, &past)}
	kept := []*ci.Artifact{artifact(oldMain, ci.FileTypeJUnit, &future), artifact(failedFeature, ci.FileTypeDotenv, nil)}
	latest := artifact(latestMain, ci.FileTypeArchive, &earliest)
	if keepLatest {
		kept = append(kept, latest)
	} else {
		reaped = append(reaped, latest)
	}

	r := reaper.New(db, blobs, reaper.Options{KeepLatest: keepLatest, Batch: 1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	n, err := r.Pass(ctx)
	if err != nil {
		t.Fatalf("Pass: %v", err)
	}
	if n != len(reaped) {
		t.Errorf("Pass deleted %d artifacts, want %d", n, len(reaped))
	}
	for _, a := range reaped {
		if _, err := db.ArtifactByID(ctx, a.ID); !ci.IsNotFound(err) {
			t.Errorf("expired artifact %d (%s) still has its row: %v", a.ID, a.FileType, err)
		}
		if _, err := blobs.Stat(ctx, a.BlobKey); !ci.IsNotFound(err) {
			t.Errorf("expired artifact %d still has its bytes: %v", a.ID, err)
		}
	}
	for _, a := range kept {
		if _, err := db.ArtifactByID(ctx, a.ID); err != nil {
			t.Errorf("artifact %d (%s) was reaped: %v", a.ID, a.FileType, err)
		}
		if _, err := blobs.Stat(ctx, a.BlobKey); err != nil {
			t.Errorf("artifact %d lost its bytes: %v", a.ID, err)
		}
	}
	// A second pass, as another replica would run, finds nothing and fails nothing.
	if n, err := r.Pass(ctx); err != nil || n != 0 {
		t.Errorf("second pass = %d, %v; want 0, nil", n, err)
	}
}
