package archive

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/batonci/baton/internal/ci"
)

// TestBuildMatchesReference builds random trees, whose names are chosen to
// sort awkwardly ("a" < "a!" < "a-" < "a.b" < "a/" < "a0"), with duplicates,
// explicit and implied directories and file/directory clashes, under memory
// budgets small enough to spill every sort and spool to disk and to merge in
// several levels, and checks each index against the reference model.
func TestBuildMatchesReference(t *testing.T) {
	segs := []string{"a", "a!", "a-", "a.b", "a0", "b", "é", "z"}
	for _, tc := range []struct {
		seed   uint64
		n      int
		memory int
	}{
		{1, 20, 0}, {2, 200, 0}, {3, 300, 1 << 10}, {4, 3000, 4 << 10}, {5, 3000, 64 << 10}, {6, 8000, 2 << 10},
	} {
		t.Run(fmt.Sprintf("seed=%d/n=%d/memory=%d", tc.seed, tc.n, tc.memory), func(t *testing.T) {
			accepted, rejected := 0, 0
			for round := range 8 {
				rng := rand.New(rand.NewPCG(tc.seed, uint64(round)))
				var files []zipFile
				for range tc.n {
					var p []string
					for range 1 + rng.IntN(5) {
						p = append(p, segs[rng.IntN(len(segs))])
					}
					name := strings.Join(p, "/")
					f := zipFile{name: name, body: strings.Repeat("x", rng.IntN(3))}
					switch rng.IntN(10) {
					case 0:
						f = zipFile{name: name + "/", mode: fs.ModeDir | 0o700}
					case 1:
						f.name = "./" + name
					}
					files = append(files, f)
				}
				if round%2 == 0 { // half the rounds without clashes: no directory is named *.txt
					for i := range files {
						if !strings.HasSuffix(files[i].name, "/") {
							files[i].name += ".txt"
						}
					}
				}
				z := mustZip(t, files...)
				ref, refErr := referenceBuild(z)
				x, err := BuildLimited(bytes.NewReader(z), int64(len(z)), Limits{TempDir: t.TempDir(), memory: tc.memory})
				// With several clashes the two may name different ones.
				class := func(err error) string { m, _, _ := strings.Cut(ci.MessageOf(err), "'"); return m }
				if (err == nil) != (refErr == nil) || class(err) != class(refErr) {
					t.Fatalf("round %d: Build error %v; reference error %v", round, err, refErr)
				}
				if err != nil {
					rejected++
					continue
				}
				accepted++
				compareWithReference(t, x, ref)
				x.Close()
			}
			if accepted == 0 {
				t.Fatalf("no round built: the test checks nothing (%d rejected)", rejected)
			}
		})
	}
}

// TestHashSectionWraps checks lookups when many paths share the last home
// slots of the hash table, so that the probe runs wrap around to slot 0.
func TestHashSectionWraps(t *testing.T) {
	const n = 300
	slots := uint64(slotsFor(n))
	var files []zipFile
	for i := 0; len(files) < n; i++ {
		name := fmt.Sprintf("f%d", i)
		if fnv1a(name)&(slots-1) >= slots-4 {
			files = append(files, zipFile{name: name, body: name, method: zip.Store})
		}
	}
	z := mustZip(t, files...)
	x, err := BuildLimited(bytes.NewReader(z), int64(len(z)), Limits{memory: 2 << 10, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	ref, err := referenceBuild(z)
	if err != nil {
		t.Fatal(err)
	}
	compareWithReference(t, x, ref)
	r, _ := mustPersist(t, x)
	for _, f := range files {
		if e, err := r.Lookup(f.name); err != nil || e.Size != int64(len(f.body)) {
			t.Fatalf("Lookup(%s) = %+v, %v", f.name, e, err)
		}
	}
	if _, err := r.Lookup("missing"); ci.KindOf(err) != ci.KindNotFound {
		t.Fatalf("Lookup(missing) = %v; want not found", err)
	}
}
