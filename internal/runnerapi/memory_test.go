package runnerapi

import (
	"archive/zip"
	"io"
	"math/rand/v2"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/batonci/baton/internal/ci"
)

// TestUploadMemory streams a 256 MiB zip through a chunked multipart upload
// and checks that the heap does not grow with it.
func TestUploadMemory(t *testing.T) {
	const size = 256 << 20
	e := newEnv(t, func(s *Server) { s.MaxArtifactSize = -1 })
	e.pipeline([]string{"build"}, ci.JobSpec{Name: "big", Stage: "build", Script: []string{"true"}})
	j := e.takeJob(e.runner)

	block := make([]byte, 64<<10)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range block {
		block[i] = byte(rng.Uint32())
	}
	pr, pw := io.Pipe()
	go func() {
		zw := zip.NewWriter(pw)
		w, err := zw.CreateHeader(&zip.FileHeader{Name: "big.bin", Method: zip.Store})
		for written := 0; err == nil && written < size; written += len(block) {
			_, err = w.Write(block)
		}
		if err == nil {
			err = zw.Close()
		}
		pw.CloseWithError(err)
	}()

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				peak = max(peak, m.HeapInuse)
			}
		}
	}()
	resp := upload(e, j, "artifact_format=zip&artifact_type=archive", "artifacts.zip", pr)
	close(stop)
	wg.Wait()
	expectJSON(t, resp, http.StatusCreated, nil)

	if grown := int64(peak) - int64(base); grown > 64<<20 {
		t.Fatalf("heap grew by %d MiB while uploading %d MiB", grown>>20, size>>20)
	}
	arts, err := e.db.ArtifactsOfJobs(t.Context(), []int64{j.ID})
	if err != nil || len(arts) != 1 || arts[0].Size <= size || arts[0].IndexKey == "" {
		t.Fatalf("artifacts %+v, %v", arts, err)
	}
}
