package archive

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/batonci/baton/internal/archive/ziptest"
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

// writeZip writes files with ziptest.Write into memory.
func writeZip(t testing.TB, files ...ziptest.File) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := ziptest.Write(&buf, files); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestBuildLimits: archives over a limit, or whose entries share bytes, are
// refused with a message naming the problem; the same archives within the
// limits (or without the overlap) build.
func TestBuildLimits(t *testing.T) {
	body := []byte("some bytes")
	many := func(n int) []byte {
		var buf bytes.Buffer
		if _, err := ziptest.WriteMany(&buf, n, func(i int) string { return fmt.Sprintf("d/f%d", i) }, body); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	tests := []struct {
		name    string
		data    []byte
		limits  Limits
		kind    ci.Kind // "": builds
		message string
	}{
		{name: "entries at the limit", data: many(100), limits: Limits{MaxEntries: 100}},
		{name: "entries over the limit", data: many(101), limits: Limits{MaxEntries: 100}, kind: ci.KindTooLarge,
			message: "artifact archive has 101 entries; at most 100 are allowed (--max-artifact-entries)"},
		{name: "zip64 entries over the default limit", data: many(DefaultMaxEntries + 1), kind: ci.KindTooLarge,
			message: "artifact archive has 200001 entries; at most 200000 are allowed (--max-artifact-entries)"},
		{name: "declared size at the limit",
			data:   writeZip(t, ziptest.File{Name: "a", Data: body, Size: 1 << 20}, ziptest.File{Name: "b", Data: body, Size: 1 << 20}),
			limits: Limits{MaxUncompressed: 2 << 20}},
		{name: "declared size over the limit",
			data:   writeZip(t, ziptest.File{Name: "a", Data: body, Size: 1 << 20}, ziptest.File{Name: "b", Data: body, Size: 1<<20 + 1}),
			limits: Limits{MaxUncompressed: 2 << 20}, kind: ci.KindTooLarge,
			message: "artifact archive declares at least 2097153 bytes of uncompressed data; at most 2 MiB is allowed (--max-artifact-uncompressed)"},
		{name: "declared size over the default limit", kind: ci.KindTooLarge,
			data:    writeZip(t, ziptest.File{Name: "a", Data: body, Size: 8 << 30}, ziptest.File{Name: "b", Data: body, Size: 8<<30 + 1}),
			message: "at most 16 GiB is allowed (--max-artifact-uncompressed)"},
		{name: "entries sharing a local header", kind: ci.KindInvalid,
			data:    writeZip(t, ziptest.File{Name: "a", Data: body}, ziptest.File{Name: "b", SharesWith: 1}),
			message: "artifact archive has overlapping entries: 'a' and 'b' share bytes at offset 0 (refused as a zip bomb)"},
		{name: "entries sharing a local header, not adjacent", kind: ci.KindInvalid,
			data: writeZip(t, ziptest.File{Name: "a", Data: body}, ziptest.File{Name: "b", Data: body},
				ziptest.File{Name: "c", Data: body}, ziptest.File{Name: "z", SharesWith: 2}),
			message: "artifact archive has overlapping entries: 'b' and 'z' share bytes at offset 41"},
		{name: "an entry whose data covers the next one", kind: ci.KindInvalid,
			data:    quotedOverlap(t),
			message: "artifact archive has overlapping entries: 'outer' and 'inner' share bytes at offset 35"},
		{name: "same names, own bytes", data: writeZip(t, ziptest.File{Name: "a", Data: body}, ziptest.File{Name: "a", Data: body})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, err := BuildLimited(bytes.NewReader(tt.data), int64(len(tt.data)), tt.limits)
			if tt.kind == "" {
				if err != nil {
					t.Fatalf("Build: %v", err)
				}
				x.Close()
				return
			}
			if ci.KindOf(err) != tt.kind || !strings.Contains(ci.MessageOf(err), tt.message) {
				t.Fatalf("Build = %v (kind %q); want kind %q with %q", err, ci.KindOf(err), tt.kind, tt.message)
			}
		})
	}
}

// quotedOverlap is the "better zip bomb" layout: the stored data of entry
// "outer" is the local header and data of entry "inner", so that the central
// directory's two entries share inner's bytes.
func quotedOverlap(t *testing.T) []byte {
	inner := writeZip(t, ziptest.File{Name: "inner", Data: []byte("payload")})
	innerLocal := inner[:30+len("inner")+len("payload")]
	z := writeZip(t, ziptest.File{Name: "outer", Data: innerLocal}, ziptest.File{Name: "inner", Data: []byte("payload")})
	// Point inner's central record at the copy inside outer's data.
	cd := bytes.LastIndex(z, []byte("PK\x01\x02"))
	le.PutUint32(z[cd+42:], 30+uint32(len("outer")))
	return z
}
