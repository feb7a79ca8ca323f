package blobtest

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/batonci/baton/internal/blob"
)

// boundedMemorySize is the object streamed by the bounded-memory check, and
// maxHeapGrowth how much the Go heap may grow meanwhile.
const (
	boundedMemorySize = 256 * mib
	maxHeapGrowth     = 100 * mib
)

func testBoundedMemory(t *testing.T, s blob.Store) {
	c := Content{Seed: 12, Size: boundedMemorySize}
	var (
		info blob.Info
		err  error
	)
	peak := HeapPeak(t, func() { info, err = s.Put(context.Background(), "memory", c.Reader()) })
	if err != nil || info.Size != c.Size {
		t.Fatalf("Put = %+v, %v; want size %d", info, err, c.Size)
	}
	t.Logf("heap grew by at most %d MiB while putting %d MiB", peak/mib, c.Size/mib)
	if peak > maxHeapGrowth {
		t.Errorf("heap grew by %d MiB while putting %d MiB, want at most %d MiB",
			peak/mib, c.Size/mib, maxHeapGrowth/mib)
	}
}

// HeapPeak runs f and returns the largest growth of the live Go heap over
// its size before f, sampled every few milliseconds.
func HeapPeak(tb testing.TB, f func()) uint64 {
	tb.Helper()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc

	var (
		mu   sync.Mutex
		peak uint64
		done = make(chan struct{})
		wg   sync.WaitGroup
	)
	sample := func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		mu.Lock()
		if ms.HeapAlloc > base && ms.HeapAlloc-base > peak {
			peak = ms.HeapAlloc - base
		}
		mu.Unlock()
	}
	wg.Go(func() {
		ticker := time.NewTicker(5 * time.Millisecond)
		defer ticker.Stop()
		for {
			select {
			case <-done:
				return
			case <-ticker.C:
				sample()
			}
		}
	})
	f()
	sample()
	close(done)
	wg.Wait()
	return peak
}
