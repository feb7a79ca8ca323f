package sweeper_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonci/baton/internal/blob"
	"github.com/batonci/baton/internal/blob/blobtest"
	blobfs "github.com/batonci/baton/internal/blob/fs"
	blobs3 "github.com/batonci/baton/internal/blob/s3"
	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/store"
	"github.com/batonci/baton/internal/store/storetest"
	"github.com/batonci/baton/internal/sweeper"
	"github.com/batonci/baton/internal/testpg"
	"github.com/batonci/baton/internal/tests3"
)

func TestMain(m *testing.M) { testpg.Main(m) }

type blobStore struct {
	name string
	open func(t *testing.T) blob.Store
}

var stores = []blobStore{
	{"fs", func(t *testing.T) blob.Store {
		s, err := blobfs.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	}},
	{"s3", func(t *testing.T) blob.Store {
		b := tests3.Server(t)
		s, err := blobs3.New(context.Background(), blobs3.Config{Endpoint: b.Endpoint, UseSSL: b.UseSSL, Bucket: b.Bucket,
			Region: b.Region, AccessKey: b.AccessKey, SecretKey: b.SecretKey, PathStyle: true})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}},
}

// TestPass: on both engines and both stores, orphans older than the
// threshold go (unreferenced files and indexes of long-finished or deleted
// jobs, unfinished uploads, scratch files); young ones, referenced ones,
// those of running or just-finished jobs, and keys Baton does not write
// stay. A second pass by two replicas at once, later, takes the rest that
// has aged, without errors.
func TestPass(t *testing.T) {
	for _, bs := range stores {
		t.Run(bs.name, func(t *testing.T) {
			storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) { testPass(t, db, bs.open(t)) })
		})
	}
}

func testPass(t *testing.T, db *store.DB, blobs blob.Store) {
	ctx := context.Background()
	const olderThan = time.Hour
	u := storetest.MustUser(t, db)
	ns, err := db.NamespaceOfUser(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	proj := storetest.MustProject(t, db, ns.ID, ci.VisibilityPrivate)
	_, jobs := storetest.MustPipeline(t, db, proj.ID, "main", map[string][]string{"done": nil, "running": nil, "recent": nil})
	byName := map[string]*ci.Job{}
	for _, j := range jobs {
		byName[j.Name] = j
	}
	put := func(key string) {
		t.Helper()
		if _, err := blobs.Put(ctx, key, strings.NewReader("bytes of "+key)); err != nil {
			t.Fatalf("Put(%q): %v", key, err)
		}
	}
	key := func(j *ci.Job, typ, name string) string { return ci.ArtifactBlobKey(proj.ID, j.ID, typ, name) }
	scratch := t.TempDir()
	scratchFile := func(name string) {
		if err := os.WriteFile(filepath.Join(scratch, name), []byte("spill"), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	// Old: everything stored before mark.
	referenced := key(byName["done"], ci.FileTypeArchive, "ref")
	put(referenced)
	put(referenced + ci.IndexKeySuffix)
	if err := db.CreateArtifact(ctx, &ci.Artifact{JobID: byName["done"].ID, FileType: ci.FileTypeArchive, FileFormat: ci.FormatZip,
		BlobKey: referenced, IndexKey: referenced + ci.IndexKeySuffix}); err != nil {
		t.Fatal(err)
	}
	orphan := key(byName["done"], ci.FileTypeJUnit, "crashed-before-row")
	put(orphan)
	put(orphan + ci.IndexKeySuffix)
	ofDeletedJob := ci.ArtifactBlobKey(proj.ID, 1<<40, ci.FileTypeArchive, "row-deleted")
	put(ofDeletedJob)
	ofRunningJob := key(byName["running"], ci.FileTypeArchive, "being-committed")
	put(ofRunningJob)
	ofRecentJob := key(byName["recent"], ci.FileTypeArchive, "cancelled-mid-upload")
	put(ofRecentJob)
	foreign := []string{"artifacts/README", "other/thing"}
	for _, k := range foreign {
		put(k)
	}
	oldUpload := startUpload(t, blobs, key(byName["done"], ci.FileTypeArchive, "killed-old"))
	scratchFile("baton-index-old")

	mark := time.Now()
	// Second-granular timestamps (S3's LastModified) of what follows must
	// fall after mark.
	time.Sleep(time.Until(mark.Truncate(time.Second).Add(time.Second + 10*time.Millisecond)))

	young := key(byName["done"], ci.FileTypeDotenv, "young")
	put(young)
	youngUpload := startUpload(t, blobs, key(byName["done"], ci.FileTypeArchive, "killed-young"))
	scratchFile("baton-index-young")

	finish := func(j *ci.Job, st ci.Status, at time.Time) {
		from := j.Status
		j.Status, j.FinishedAt = st, &at
		if st == ci.StatusRunning {
			j.FinishedAt = nil
		}
		if err := db.UpdateJob(ctx, j, from); err != nil {
			t.Fatal(err)
		}
	}
	finish(byName["done"], ci.StatusSuccess, mark.Add(-2*olderThan))
	finish(byName["running"], ci.StatusRunning, time.Time{})
	finish(byName["recent"], ci.StatusCanceled, mark.Add(time.Minute))

	sw := &sweeper.Sweeper{Store: db, Blobs: blobs, TempDirs: []string{scratch}, OlderThan: olderThan,
		Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return mark.Add(olderThan) }}
	res, err := sw.Pass(ctx)
	if err != nil {
		t.Fatalf("Pass: %v", err)
	}
	want := sweeper.Result{Uploads: 1, TempFiles: 1, Blobs: 3, Kept: 2, Foreign: 1,
		Bytes: int64(len("bytes of "+orphan)*2 + len(ci.IndexKeySuffix) + len("bytes of "+ofDeletedJob))}
	if res != want {
		t.Errorf("first pass = %+v, want %+v", res, want)
	}
	stay := []string{referenced, referenced + ci.IndexKeySuffix, ofRunningJob, ofRecentJob, young, "artifacts/README", "other/thing"}
	slices.Sort(stay)
	if got := blobtest.Keys(t, blobs, ""); !slices.Equal(got, stay) {
		t.Errorf("after the first pass: keys %v, want %v", got, stay)
	}
	if err := oldUpload.wait(); err == nil {
		t.Error("the Put of an aborted upload succeeded")
	}
	if ups := blobtest.Uploads(t, blobs); len(ups) != 1 || (ups[0].Key != "" && ups[0].Key != youngUpload.key) {
		t.Errorf("after the first pass: uploads %+v, want only the young one", ups)
	}
	if got := dirNames(t, scratch); !slices.Equal(got, []string{"baton-index-young"}) {
		t.Errorf("after the first pass: scratch files %v", got)
	}

	// Later, two replicas at once.
	later := mark.Add(10 * olderThan)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Go(func() {
			r := *sw
			r.Now = func() time.Time { return later }
			_, errs[i] = r.Pass(ctx)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent passes: %v", err)
	}
	stay = []string{referenced, referenced + ci.IndexKeySuffix, ofRunningJob, "artifacts/README", "other/thing"}
	slices.Sort(stay)
	if got := blobtest.Keys(t, blobs, ""); !slices.Equal(got, stay) {
		t.Errorf("after the later passes: keys %v, want %v", got, stay)
	}
	if err := youngUpload.wait(); err == nil {
		t.Error("the Put of an aborted upload succeeded")
	}
	if ups := blobtest.Uploads(t, blobs); len(ups) != 0 {
		t.Errorf("after the later passes: uploads %+v", ups)
	}
	if got := dirNames(t, scratch); len(got) != 0 {
		t.Errorf("after the later passes: scratch files %v", got)
	}
}

// upload is a Put that stalls mid-body, as one whose process was killed.
type upload struct {
	key  string
	pw   *io.PipeWriter
	done chan error
}

func startUpload(t *testing.T, s blob.Store, key string) *upload {
	t.Helper()
	pr, pw := io.Pipe()
	u := &upload{key: key, pw: pw, done: make(chan error, 1)}
	before := len(blobtest.Uploads(t, s))
	go func() {
		_, err := s.Put(context.Background(), key, pr)
		pr.CloseWithError(err)
		u.done <- err
	}()
	go func() { _, _ = pw.Write([]byte("first bytes")) }()
	t.Cleanup(func() { pw.CloseWithError(errors.New("test over")) })
	for deadline := time.Now().Add(time.Minute); len(blobtest.Uploads(t, s)) == before; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the upload of %q never showed", key)
		}
	}
	return u
}

// wait lets the stalled Put finish its body and returns its result.
func (u *upload) wait() error {
	go func() {
		_, _ = u.pw.Write([]byte("rest"))
		u.pw.Close()
	}()
	select {
	case err := <-u.done:
		return err
	case <-time.After(time.Minute):
		return nil
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}
