package storetest

import (
	"bytes"
	"context"
	"math/rand"
	"strconv"
	"testing"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/store"
)

// TestTraceManyPatches appends a log the way a chatty runner does, in
// 10,000 tiny patches (bytes of every value, NUL and invalid UTF-8
// included) and a few big ones, and checks that the rows stay bounded by
// the log's size, not the number of patches, while every read returns the
// exact bytes.
func TestTraceManyPatches(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := MustUser(t, db)
		ns, _ := db.NamespaceOfUser(ctx, u.ID)
		proj := MustProject(t, db, ns.ID, ci.VisibilityPrivate)
		_, jobs := MustPipeline(t, db, proj.ID, "main", map[string][]string{"build": nil})
		id := jobs[0].ID
		rnd := rand.New(rand.NewSource(1))
		var want []byte
		for i := 0; i < 10000; i++ {
			n := 1 + rnd.Intn(30)
			if i == 3000 || i == 7000 {
				n = store.TraceChunkSize + 1000 // bigger than a chunk: a row of its own
			}
			p := make([]byte, n)
			rnd.Read(p)
			size, err := db.AppendTrace(ctx, id, int64(len(want)), p)
			if err != nil {
				t.Fatalf("patch %d: %v", i, err)
			}
			want = append(want, p...)
			if size != int64(len(want)) {
				t.Fatalf("patch %d: size %d, want %d", i, size, len(want))
			}
			if i%1000 == 0 { // a stale offset still conflicts with the size
				got, err := db.AppendTrace(ctx, id, int64(len(want)-1), []byte("x"))
				if !ci.IsConflict(err) || got != int64(len(want)) {
					t.Fatalf("stale offset: %d, %v", got, err)
				}
			}
		}
		var rows int
		if err := db.SQL().QueryRow(`SELECT COUNT(*) FROM trace_chunks WHERE job_id = ` + strconv.FormatInt(id, 10)).Scan(&rows); err != nil {
			t.Fatal(err)
		}
		// Two consecutive rows always hold more than a chunk's worth, so
		// rows <= 2*size/chunk + 1; with tiny patches it is about size/chunk.
		if max := 2*len(want)/store.TraceChunkSize + 1; rows > max {
			t.Errorf("%d bytes in 10,000 patches take %d rows, want at most %d", len(want), rows, max)
		}
		t.Logf("%d bytes, %d rows", len(want), rows)
		got, err := db.ReadTrace(ctx, id, 0, 0)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("whole log: %d bytes, %v; want %d identical bytes", len(got), err, len(want))
		}
		for i := 0; i < 200; i++ {
			off := rnd.Int63n(int64(len(want)) + 1)
			limit := rnd.Int63n(3 * store.TraceChunkSize)
			end := min(off+limit, int64(len(want)))
			if limit == 0 {
				end = int64(len(want))
			}
			got, err := db.ReadTrace(ctx, id, off, limit)
			if err != nil || !bytes.Equal(got, want[off:end]) {
				t.Fatalf("ReadTrace(%d, %d): %d bytes, %v; want %d", off, limit, len(got), err, end-off)
			}
		}
	})
}
