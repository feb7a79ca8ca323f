package archive

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/batonci/baton/internal/archive/ziptest"
)

// peakHeap runs fn and returns the highest HeapInuse above the level
// before it, sampled every millisecond.
func peakHeap(fn func()) uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapInuse, ms.HeapInuse
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapInuse)
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	fn()
	close(stop)
	wg.Wait()
	return peak - base
}

// manyEntryZip writes an archive of n one-byte files spread over
// directories to a temporary file.
func manyEntryZip(t *testing.T, n int) (*os.File, int64) {
	f, err := os.CreateTemp(t.TempDir(), "many-*.zip")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	size, err := ziptest.WriteMany(f, n, func(i int) string {
		return fmt.Sprintf("build/out%d/pkg%d/file-%07d.txt", i%10, i%97, i)
	}, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	return f, size
}

// TestBuildMemoryBounded indexes archives of many tiny entries and checks
// that the heap stays within a bound that does not depend on their number.
// The in-memory build this replaced took 83 MiB for 200,000 entries and
// 436 MiB for 1,000,000 (plus implied directories and the hash table), so
// both cases fail with it.
func TestBuildMemoryBounded(t *testing.T) {
	tests := []struct {
		entries int
		memory  int
		bound   uint64
	}{
		{entries: 200_000, memory: 1 << 20, bound: 24 << 20},
		{entries: 1_000_000, bound: 64 << 20},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("entries=%d/memory=%d", tt.entries, tt.memory), func(t *testing.T) {
			if tt.entries > 200_000 && testing.Short() {
				t.Skip("a million entries: not in -short")
			}
			f, size := manyEntryZip(t, tt.entries)
			var x *Index
			var n int64
			var err error
			peak := peakHeap(func() {
				x, err = BuildLimited(f, size, Limits{MaxEntries: -1, TempDir: t.TempDir(), memory: tt.memory})
				if err == nil {
					n, err = x.WriteTo(io.Discard)
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			defer x.Close()
			if want := tt.entries + 1 + 10 + 10*97; x.Len() != want {
				t.Fatalf("%d entries indexed; want %d", x.Len(), want)
			}
			t.Logf("%d entries (%d MiB zip, %d MiB index): peak heap %.1f MiB above baseline", tt.entries, size>>20, n>>20, float64(peak)/(1<<20))
			if peak > tt.bound {
				t.Fatalf("peak heap %d MiB above baseline; want at most %d MiB", peak>>20, tt.bound>>20)
			}
		})
	}
}
